"""Shared fixtures: a real PostgreSQL (DSN from env, else the embedded server).

Every test that writes gets a database of its own, created on the server and
dropped afterwards, so tests never see each other's rows and a developer's demo
database is never touched. The database is exported as PG* variables, which dbt
and Dagster (run in-process or as subprocesses) inherit.
"""

from __future__ import annotations

import os

# The suite runs in two worker processes (pytest-xdist, `-n 2` in pyproject.toml).
# Each worker keeps its own data folder (its embedded PostgreSQL, Dagster storage
# and outbox) and its own dbt target folder (manifest and invocation artifacts), so
# one worker never reads a manifest the other is rewriting for its own database.
# Set before the project's modules are imported: they read both when imported.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    from pathlib import Path

    _root = Path(__file__).resolve().parents[1]
    os.environ.setdefault("LAUNDRY_HOME", str(_root / ".laundry" / f"tests-{worker}"))
    os.environ["DBT_TARGET_PATH"] = f"target/tests-{worker}"

import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from laundry_analytics import database, ops_schema, settings


@pytest.fixture(scope="session")
def server() -> database.ConnectionInfo:
    """The PostgreSQL server the tests run against."""
    return database.ensure_database()


def _admin(server: database.ConnectionInfo) -> psycopg.Connection:
    return psycopg.connect(server.with_database("postgres").conninfo, autocommit=True)


def _database_factory(server, monkeypatch):
    created: list[str] = []

    def make() -> database.ConnectionInfo:
        name = f"laundry_test_{uuid.uuid4().hex[:10]}"
        with _admin(server) as admin:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        created.append(name)
        info = server.with_database(name)
        for key, value in database.environment_for(info).items():
            monkeypatch.setenv(key, value)
        return info

    def drop_all() -> None:
        with _admin(server) as admin:
            for name in created:
                admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))

    return make, drop_all


@pytest.fixture
def make_database(server, monkeypatch) -> Iterator[Callable[[], database.ConnectionInfo]]:
    """Factory: a new empty database, exported to this process's environment."""
    make, drop_all = _database_factory(server, monkeypatch)
    yield make
    drop_all()


@pytest.fixture(scope="module")
def module_warehouse(server) -> Iterator[database.ConnectionInfo]:
    """Like `warehouse`, shared by the tests of one module (one dataset, one dbt build)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        make, drop_all = _database_factory(server, monkeypatch)
        info = make()
        with psycopg.connect(info.conninfo) as conn:
            ops_schema.create_ops_schema(conn, settings.load().ops_schema)
        yield info
        drop_all()


@pytest.fixture
def warehouse(make_database) -> database.ConnectionInfo:
    """A fresh database with the (empty) ops schema created."""
    info = make_database()
    with psycopg.connect(info.conninfo) as conn:
        ops_schema.create_ops_schema(conn, settings.load().ops_schema)
    return info


@pytest.fixture
def conn(warehouse) -> Iterator[psycopg.Connection]:
    """An autocommit connection to the test's warehouse."""
    with psycopg.connect(warehouse.conninfo, autocommit=True) as connection:
        yield connection
