"""Every dbt model is a Dagster asset; every dbt test is an asset check. The daily
marts are partitioned by business day (dagster_project.partitions); each of their
partitions' materializations carries that day's figures (partition_figures)."""

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Output,
    RetryRequested,
)
from dagster_dbt import DbtCliResource, dbt_assets
from pydantic import Field

from dagster_project.assets.partition_figures import record_daily_figures
from dagster_project.metadata import readable_durations
from dagster_project.partitions import DAILY_MARTS_OP, daily_partitions
from dagster_project.project import load_manifest
from dagster_project.resources import WarehouseResource, without_adapter
from dagster_project.translator import LaundryDbtTranslator
from laundry_analytics import refresh_lock
from laundry_analytics import settings as settings_module
from laundry_analytics.dbt_runner import with_project_vars

#: Run tag of a job whose dbt steps build models only, without tests or row counts
#: (the intraday refresh: its cost must follow the change, not the history).
LEAN_RUN_TAG = "laundry/lean"

#: dbt selector of the daily-partitioned marts (config tag in their model YAML).
DAILY_MARTS = "tag:daily_partitioned"


class DailyMartsConfig(Config):
    only_changed_dates: bool = Field(
        default=False,
        description="False (a partition or backfill from the UI): rebuild exactly the dates of the "
        "partitions. True (the catch-up run, on the latest partition): rebuild the dates "
        "whose inputs changed since the last run, whichever partitions they belong to; "
        "each rebuilt date is recorded as a materialization of its partition.",
    )


def build_dbt_assets() -> list[AssetsDefinition]:
    """The dbt models as assets, from a manifest prepared for the current
    environment: the daily marts partitioned by business day, the rest not."""

    # The parsed dict, not the path: dagster-dbt caches manifests read by path, and
    # a manifest re-parsed for another warehouse must not be served from that cache.
    manifest = load_manifest()
    # No `project=`: dagster-dbt would put the DbtProject on every asset, which the UI
    # shows as "[DbtProject] (unserializable)"; the translator links the SQL files.
    common = {"manifest": manifest, "dagster_dbt_translator": LaundryDbtTranslator()}

    @dbt_assets(exclude=DAILY_MARTS, name="laundry_dbt_models", **common)
    def laundry_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource):
        """Build (run + test) the selected dbt models, streaming materializations and
        check results, with row counts, column schemas and run times as metadata.
        In an intraday run, the same dbt invocation builds the daily marts too
        (daily_marts_built_with_models)."""
        also = DAILY_MARTS if daily_marts_built_with_models(context) else None
        yield from build(context, dbt, indirect_selection="buildable", also_select=also)

    @dbt_assets(
        select=DAILY_MARTS,
        name=DAILY_MARTS_OP,
        partitions_def=daily_partitions(),
        backfill_policy=BackfillPolicy.single_run(),
        **common,
    )
    def laundry_daily_marts(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource, config: DailyMartsConfig
    ):
        """Build the daily marts for the run's partitions (one run per backfill: the
        window is passed to dbt as vars partition_start / partition_end), or, in the
        catch-up run, the dates whose inputs changed. A run of
        their checks only (the UI's "Execute" on a check) has no partition: it tests
        the marts as they are and builds nothing."""
        if not (context.has_partition_key or context.has_partition_key_range):
            yield from build(context, dbt, indirect_selection="eager")
            return
        window = context.partition_time_window
        start, end = window.start.date().isoformat(), window.end.date().isoformat()
        if daily_marts_built_with_models(context):
            yield from record_marts_built_with_models(context, warehouse, (start, end))
            return
        dbt_vars = {} if config.only_changed_dates else {"partition_start": start, "partition_end": end}
        # dbt stamps every row it rebuilds with its run_started_at, which comes after this.
        rebuilt_since = dt.datetime.now(dt.timezone.utc) if config.only_changed_dates else None
        for event in build(context, dbt, indirect_selection="eager", dbt_vars=dbt_vars):
            if isinstance(event, Output):
                yield from record_daily_figures(context, warehouse, event, (start, end), rebuilt_since)
            yield event

    return [laundry_dbt_models, laundry_daily_marts]


#: The step (op) of the unpartitioned dbt assets.
MODELS_OP = "laundry_dbt_models"


def daily_marts_built_with_models(context: AssetExecutionContext) -> bool:
    """True in a lean catch-up run (the intraday refresh) that has both dbt steps:
    there the models' step invokes dbt once for its models and the daily marts
    (dbt orders them), and the daily marts' step only records the dates that
    invocation rebuilt, instead of starting dbt a second time (about 2 s of every
    intraday run). A re-execution of the daily marts' step alone builds them itself."""
    if context.run.tags.get(LEAN_RUN_TAG) != "true" or context.selected_asset_check_keys:
        return False
    marts_config = context.run.run_config.get("ops", {}).get(DAILY_MARTS_OP, {}).get("config", {})
    steps = context.run.step_keys_to_execute
    steps = set(steps) if steps is not None else {node.name for node in context.job_def.nodes}
    return bool(marts_config.get("only_changed_dates")) and {MODELS_OP, DAILY_MARTS_OP} <= steps


def record_marts_built_with_models(
    context: AssetExecutionContext, warehouse: WarehouseResource, window: tuple[str, str]
) -> Iterator[Output | AssetMaterialization]:
    """The daily marts' outputs of a run whose models' step built them: each mart
    with the figures of the dates rebuilt since the run started."""
    started = context.instance.get_run_stats(context.run.run_id).start_time
    rebuilt_since = dt.datetime.fromtimestamp(started, dt.timezone.utc)
    context.log.info(f"Built by the {MODELS_OP} step's dbt invocation of this run; recording the dates it rebuilt.")
    for key in sorted(context.selected_asset_keys):
        output = Output(
            None,
            output_name=context.assets_def.get_output_name_for_asset_key(key),
            metadata={"built_by_step": MODELS_OP},
        )
        yield from record_daily_figures(context, warehouse, output, window, rebuilt_since)
        yield output


def build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    indirect_selection: str,
    dbt_vars: dict | None = None,
    also_select: str | None = None,
):
    """`dbt build` of the context's selection (plus the dbt selector `also_select`,
    whose models' results are left to their own step to record). A failure caused by the database going
    away (restart, reset connection, serialization failure) is retried with backoff;
    the incremental models pick up where the last committed run left them.

    `indirect_selection` decides which tests run beside the models: the daily marts'
    step runs the reconciliation tests (attached to daily_revenue_summaries, they
    read marts of the other step, built before it) with "eager"; the other step
    uses "buildable", so it never runs those tests itself. dagster-dbt reads the
    variable from this process's environment when it starts dbt (and overrides it
    for a run of selected checks only); it is set for that call only.

    dbt runs holding the warehouse's refresh lock: when another refresh holds it,
    the step waits up to LAUNDRY_REFRESH_WAIT_MINUTES, then fails naming it."""
    # A lean run (the intraday job: no dbt check selected) runs the models only: `dbt build`
    # would still run their unit tests, and row counts scan whole tables (history).
    lean = not context.selected_asset_check_keys and context.run.tags.get(LEAN_RUN_TAG) == "true"
    args = with_project_vars(
        [
            "run" if lean else "build",
            *(["--vars", json.dumps(dbt_vars)] if dbt_vars else []),
            *(["--select", also_select] if also_select else []),
        ]
    )
    wait_seconds = 60 * settings_module.load().refresh_wait_minutes
    with refresh_lock.hold(f"run id {context.run_id}", wait_seconds=wait_seconds, on_wait=context.log.warning):
        with (
            environment_variable("DBT_INDIRECT_SELECTION", indirect_selection),
            without_adapter() if lean else nullcontext(),
        ):
            invocation = dbt.cli(args, context=context, raise_on_error=False)
        context.log.info(f"dbt invocation: `{invocation.dbt_command}`")
        events = invocation.stream()
        if context.assets_def.partitions_def is None and not lean:
            # A partition's materialization gets its day's figures instead: a table
            # row count would be mislabelled there, and the column schema (on the asset
            # definition already) would be written again for every partition.
            events = events.fetch_row_counts().fetch_column_metadata()
        if also_select:
            own = context.op_execution_context.selected_output_names
            events = (e for e in events if not isinstance(e, Output) or e.output_name in own)
        yield from map(readable_durations, events)
    if invocation.is_successful():
        return
    try:
        messages = failure_messages(invocation.get_artifact("run_results.json"))
    except FileNotFoundError:  # dbt stopped before running anything (e.g. it could not compile or connect)
        messages = [str(invocation.get_error())]
    if is_transient(messages):
        raise RetryRequested(max_retries=3, seconds_to_wait=5 * 2**context.retry_number) from invocation.get_error()
    raise invocation.get_error()


@contextmanager
def environment_variable(name: str, value: str) -> Iterator[None]:
    """Set an environment variable of this process for the block, then restore its
    previous value (or its absence). DbtCliResource.cli takes no environment of its
    own: it copies os.environ into the dbt subprocess it starts before returning, so
    setting the variable around that call scopes it to that one invocation and it
    never leaks into later dbt runs of the same process (in-process runs, tests)."""
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


#: Database errors worth retrying: the server restarted or dropped the connection,
#: or a concurrent transaction won (PostgreSQL SQLSTATE classes 08, 40001, 57P01-03).
TRANSIENT = re.compile(
    r"server closed the connection unexpectedly|connection (reset|refused|timed out)|could not connect to server"
    r"|terminating connection due to administrator command|the database system is (starting up|shutting down)"
    r"|could not serialize access|deadlock detected|SSL SYSCALL error|connection already closed",
    re.IGNORECASE,
)


def failure_messages(run_results: dict) -> list[str]:
    return [r.get("message") or "" for r in run_results.get("results", []) if r.get("status") in ("error", "fail")]


def is_transient(messages: list[str]) -> bool:
    """True when every failure is a transient database error (a failing data test
    or a SQL bug is not retried: it would fail the same way again)."""
    return bool(messages) and all(TRANSIENT.search(message) for message in messages)
