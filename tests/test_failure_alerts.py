"""A failed run is emailed to the data team once, with the failed step, the error
and a link to the run, through the real SMTP path (aiosmtpd on loopback); the
deployed sensor watches every job of the code location."""

import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from dagster import (
    DagsterEventType,
    DagsterInstance,
    RunStatusSensorDefinition,
    build_run_status_sensor_context,
    build_sensor_context,
    instance_for_test,
    job,
    op,
)

from dagster_project.definitions import defs
from dagster_project.resources import WarehouseResource
from dagster_project.sensors.alerts import email_data_team_on_run_failure

WAREHOUSE = {"warehouse": WarehouseResource()}
"""The resources a sensor reads (the Definitions give them to the deployed sensors)."""


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=email.policy.default))
        )
        return "250 OK"


@op
def load_partner_feed():
    raise ConnectionError("connection to the partner feed was reset")


@job
def nightly_feed_job():
    load_partner_feed()


@pytest.fixture
def inbox(monkeypatch, warehouse):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("LAUNDRY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LAUNDRY_SMTP_PORT", str(port))
    monkeypatch.setenv("LAUNDRY_ALERT_RECIPIENTS", "data@example.com, oncall@example.com")
    monkeypatch.setenv("LAUNDRY_DAGSTER_URL", "http://dagster.internal:3000")
    yield handler
    controller.stop()


def test_a_failed_run_is_emailed_once_with_step_error_and_link(inbox):
    with DagsterInstance.ephemeral() as instance:
        result = nightly_feed_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
        for _ in range(2):  # the sensor sees the same failure twice (restart, cursor lost)
            context = build_run_status_sensor_context(
                resources=WAREHOUSE,
                sensor_name="email_data_team_on_run_failure",
                dagster_instance=instance,
                dagster_run=result.dagster_run,
                dagster_event=failure,
            ).for_run_failure()
            email_data_team_on_run_failure(context)
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert sorted(recipients) == ["data@example.com", "oncall@example.com"]
    assert message["Subject"] == "Pipeline run failed: nightly_feed_job"
    assert "Failed step(s): load_partner_feed" in message.get_content()
    body = message.get_content()
    assert "connection to the partner feed was reset" in body
    assert f"http://dagster.internal:3000/runs/{result.run_id}" in body


def test_the_deployed_sensor_alerts_on_a_failure_of_any_job_of_the_code_location(inbox):
    definitions = defs()
    sensor = definitions.get_sensor_def("email_data_team_on_run_failure")
    assert isinstance(sensor, RunStatusSensorDefinition)
    # Not the nightly job: a sensor restricted to some jobs would ignore this one. The
    # test's warehouse has no marts yet, so refreshing the dashboard cache fails.
    failing_job = definitions.resolve_job_def("cache_refresh_05min_job")
    with instance_for_test() as instance:  # persistent, as the daemon's: the sensor keeps a cursor
        first_tick = sensor.evaluate_tick(
            build_sensor_context(resources=WAREHOUSE, instance=instance)
        )  # starts its cursor
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        sensor.evaluate_tick(build_sensor_context(resources=WAREHOUSE, instance=instance, cursor=first_tick.cursor))
    assert [message["Subject"] for _, message in inbox.messages] == ["Pipeline run failed: cache_refresh_05min_job"]
    assert f"/runs/{result.run_id}" in inbox.messages[0][1].get_content()
