"""Render monitor configs into Airflow DAGs: one DAG per file in ``include/monitors/``.

Parsing must stay cheap and must never let one model's broken file hide the others, so:
- only the config schema is imported here; task bodies import the runner when they run;
- each DAG is built with ``auto_register=False`` and validated before it is registered;
- a file that fails (bad YAML, bad key, bad cron) becomes a placeholder DAG tagged
  ``config-error`` whose docs carry the error and whose one task fails with it, so the broken
  model is visible in the UI and alerts its owners when triggered, and every other model is fine.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG, CronDataIntervalTimetable, get_parsing_context, task

from modelwatch.config.loader import load_monitor, monitor_files
from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ConfigError
from modelwatch.paths import monitors_dir

CONFIG_ERROR_TAG = "config-error"


def _doc(cfg: MonitorConfig, source: Path) -> str:
    features = ", ".join(f.name for f in cfg.features)
    return (
        f"### Monitoring `{cfg.model.name}` ({cfg.model.task})\n\n{cfg.model.description}\n\n"
        f"- config: `{source}`\n- window: {cfg.schedule.window} on `{cfg.schedule.cron}` (UTC)\n"
        f"- owners: data {cfg.owners.data.team}, model {cfg.owners.model.team}, outcome "
        f"{cfg.owners.outcome.team}, infra {cfg.owners.infra.team}\n- features: {features}\n\n"
        "Results are in the warehouse tables `mw_metric` and `mw_alert`; each task log prints "
        "its table of checks."
    )


def build_monitor_dag(cfg: MonitorConfig, source: Path) -> DAG:
    """One monitoring DAG: reference profile → window checks → … → decide → action → report.

    The chain is linear on purpose: the embedded DuckDB warehouse accepts one writer at a time,
    and each step is one transaction over the window, so the order is also the commit order.
    """
    from modelwatch.airflow import tasks as impl  # light: the runner loads inside each task
    from modelwatch.airflow.callbacks import MonitorCallbacks, deadline_alert

    start = datetime.combine(cfg.schedule.start_date, datetime.min.time(), tzinfo=UTC)
    callbacks = MonitorCallbacks(cfg)
    default_args = {
        "owner": cfg.owners.model.team,
        "retries": cfg.schedule.retries,
        "retry_delay": cfg.schedule.retry_delay,
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=20),
        "on_failure_callback": callbacks.on_task_failure,
        "on_success_callback": callbacks.on_task_success,
    }
    dag = DAG(
        dag_id=cfg.dag_id,
        schedule=CronDataIntervalTimetable(cfg.schedule.cron, timezone="UTC"),
        start_date=start,
        catchup=cfg.schedule.catchup,
        max_active_runs=1,
        default_args=default_args,
        tags=["modelwatch", f"model:{cfg.model.name}", f"task:{cfg.model.task}"],
        doc_md=_doc(cfg, source),
        on_failure_callback=callbacks.on_dag_failure,
        on_success_callback=callbacks.on_dag_success,
        deadline=deadline_alert(cfg, str(source)),
        auto_register=False,
    )
    with dag:

        @task(task_id="reference_profile")
        def reference_profile(**context: Any) -> dict:
            """Load the stored reference profile; compute it once per reference definition."""
            return impl.reference_profile(cfg, context)

        @task(task_id="window_checks")
        def window_checks(**context: Any) -> dict:
            """One scan of the window: data quality and drift against the profile."""
            return impl.window_checks(cfg, context)

        # One failing layer never silences the others: each layer, the alerts and the decision run
        # once the step before them is done, whatever its state (``all_done``; the chain stays
        # linear for the embedded warehouse's single writer). Without a reference profile they
        # skip; ``window_complete`` fails the run when any layer failed.
        @task(task_id="data_validation", trigger_rule="all_done")
        def data_validation(**context: Any) -> dict:
            """Silent defaulting, skew vs offline features, schema, volume, Great Expectations."""
            impl.require_succeeded(context, "reference_profile")
            return impl.data_validation(cfg, context)

        @task(task_id="shadow", trigger_rule="all_done")
        def shadow(**context: Any) -> dict:
            """Challenger vs champion on the same requests; the promotion gate."""
            impl.require_succeeded(context, "reference_profile")
            return impl.shadow(cfg, context)

        @task(task_id="outcome", trigger_rule="all_done")
        def outcome(**context: Any) -> dict:
            """Join late labels: realized performance of matured windows, estimates before."""
            impl.require_succeeded(context, "reference_profile")
            return impl.outcome(cfg, context)

        @task(task_id="publish", trigger_rule="all_done")
        def publish(**context: Any) -> dict:
            """The layers' staged rows into mw_metric at once: a window is all new or all old."""
            return impl.publish(cfg, context)

        @task(task_id="alerts", trigger_rule="all_done")
        def record_alerts(**context: Any) -> dict:
            """Group crossings per owner and root cause; deliver what is due (dedup, outbox)."""
            impl.require_succeeded(context, "reference_profile")
            return impl.record_alerts(cfg, context)

        @task.branch(task_id="decide", trigger_rule="all_done")
        def decide(**context: Any) -> str:
            """Multi-signal rules over every layer's metrics -> exactly one action."""
            impl.require_succeeded(context, "reference_profile", "window_checks")
            return impl.decide(cfg, context)


        @task(task_id="rollback", retries=min(1, cfg.schedule.retries))
        def rollback(**context: Any) -> dict:
            """Move the champion alias back to the previous version (idempotent, audited)."""
            return impl.rollback(cfg, context)

        @task(task_id="promote", retries=min(1, cfg.schedule.retries))
        def promote(**context: Any) -> dict:
            """Make the challenger the champion (idempotent, audited)."""
            return impl.promote(cfg, context)

        actions = [rollback(), promote(), EmptyOperator(task_id="alert_only"),
                   EmptyOperator(task_id="healthy")]
        if cfg.retraining is not None:
            actions.append(TriggerDagRunOperator(
                task_id="retrain",
                trigger_dag_id=retrain_dag_id(cfg),
                trigger_run_id="retrain__{{ data_interval_start | ts_nodash }}",
                conf={"window_start": "{{ data_interval_start.replace(tzinfo=None).isoformat() }}",
                      "window_end": "{{ data_interval_end.replace(tzinfo=None).isoformat() }}",
                      "reason": "{{ ti.xcom_pull(task_ids='decide', key='decision')['reason'] }}"},
                skip_when_already_exists=True,
            ))
        else:
            actions.append(EmptyOperator(task_id="retrain"))  # never chosen without a target
        @task(task_id="report", trigger_rule="none_failed_min_one_success",
              retries=min(1, cfg.schedule.retries))
        def report(**context: Any) -> dict:
            """The window's self-contained HTML report, to the artifact store (local, S3)."""
            return impl.report(cfg, context)

        chain = [reference_profile(), window_checks()]
        if cfg.data_layer.enabled:
            chain.append(data_validation())
        if cfg.outcome.enabled:
            chain.append(outcome())
        if cfg.shadow.enabled:
            chain.append(shadow())
        layers = list(chain)
        chain += [publish(), record_alerts(), decide()]
        for upstream, downstream in zip(chain, chain[1:], strict=False):
            upstream >> downstream
        # reached when every layer succeeded; otherwise upstream_failed, and the run fails
        layers >> EmptyOperator(task_id="window_complete")
        chain[-1] >> actions
        actions >> report()
    return dag


def retrain_dag_id(cfg: MonitorConfig) -> str:
    return f"retrain_{cfg.model.name}"


def build_retrain_dag(cfg: MonitorConfig, source: Path) -> DAG:
    """Triggered by the monitor DAG's ``retrain`` branch; one run at a time per model."""
    from modelwatch.airflow import tasks as impl
    from modelwatch.airflow.callbacks import MonitorCallbacks

    callbacks = MonitorCallbacks(cfg)
    dag = DAG(
        dag_id=retrain_dag_id(cfg),
        schedule=None,
        start_date=datetime.combine(cfg.schedule.start_date, datetime.min.time(), tzinfo=UTC),
        max_active_runs=1,
        default_args={"owner": cfg.owners.model.team, "retries": min(1, cfg.schedule.retries),
                      "on_failure_callback": callbacks.on_task_failure,
                      "on_success_callback": callbacks.on_task_success},
        tags=["modelwatch", "retraining", f"model:{cfg.model.name}"],
        doc_md=f"Retrains `{cfg.model.name}` with `{cfg.retraining}` and registers the result "
        f"as challenger. Triggered by `{cfg.dag_id}`; config `{source}`.",
        auto_register=False,
    )
    with dag:

        @task(task_id="train_and_register")
        def train_and_register(**context: Any) -> dict:
            """Run the configured retraining target; register the model as challenger."""
            return impl.retrain(cfg, context)

        train_and_register()
    return dag


REVIEW_DAG_ID = "modelwatch_alert_review"


def build_review_dag(directory: Path, start_date: datetime) -> DAG:
    """Weekly, for every monitor of the folder: alert volume, ack and action rate per rule and
    owner, with a recalibration suggestion where pages go unanswered (``alerting.review``)."""
    from modelwatch.airflow import tasks as impl

    dag = DAG(
        dag_id=REVIEW_DAG_ID,
        schedule=CronDataIntervalTimetable("0 6 * * 1", timezone="UTC"),  # Mondays, 06:00 UTC
        start_date=start_date,
        catchup=False,
        max_active_runs=1,
        default_args={"owner": "modelwatch", "retries": 1, "retry_delay": timedelta(minutes=5)},
        tags=["modelwatch", "alert-review"],
        doc_md=f"Weekly alert review of every monitor in `{directory}`: per model, rule and owner "
        "the alert volume, ack rate and action rate; owners whose action rate is under 30 % get "
        "a recalibration suggestion in Slack. Results in `mw_alert_review`.",
        auto_register=False,
    )
    with dag:

        @task(task_id="review")
        def review(**context: Any) -> dict:
            """Review the week that ended at the data interval's end, per monitor."""
            return impl.alert_review(str(directory), context)

        review()
    return dag


def _placeholder_id(source: Path) -> str:
    return "monitor_" + re.sub(r"[^A-Za-z0-9_]", "_", source.stem)


def build_error_dag(source: Path, error: Exception) -> DAG:
    """A visible stand-in for a monitor whose file is broken; its task fails with the error."""
    message = str(error)
    dag = DAG(
        dag_id=_placeholder_id(source),
        schedule=None,
        start_date=datetime(2024, 1, 1, tzinfo=UTC),
        tags=["modelwatch", CONFIG_ERROR_TAG],
        doc_md=f"### Broken monitor config\n\n```\n{message}\n```\n\nFix the file and the DAG "
        "comes back on the next parse.",
        auto_register=False,
    )
    with dag:

        @task(task_id="config_error", retries=0)
        def config_error() -> None:
            from airflow.exceptions import AirflowFailException

            raise AirflowFailException(message)

        config_error()
    return dag


def build_dags(directory: Path | None = None) -> dict[str, DAG]:
    """Every monitor DAG of a folder, broken files as placeholders; never raises for one file."""
    directory = directory or monitors_dir()
    wanted = get_parsing_context().dag_id  # set when a worker re-parses to run one task
    dags: dict[str, DAG] = {}
    starts: list[datetime] = []
    for source in monitor_files(directory):
        if wanted and wanted != REVIEW_DAG_ID and _placeholder_id(source) != wanted and not _may_define(
                source, wanted.removeprefix("retrain_").removeprefix("monitor_")):
            continue
        extra: list[DAG] = []
        try:
            cfg = load_monitor(source)
            starts.append(datetime.combine(cfg.schedule.start_date, datetime.min.time(), tzinfo=UTC))
            dag = build_monitor_dag(cfg, source)
            dag.validate()
            if cfg.retraining is not None:
                extra.append(build_retrain_dag(cfg, source))
                extra[-1].validate()
        except Exception as exc:  # any failure must stay this model's problem only
            error = exc if isinstance(exc, ConfigError) else ConfigError(f"{source}: {exc}")
            dag, extra = build_error_dag(source, error), []
        if dag.dag_id in dags:
            dag = build_error_dag(source, ConfigError(
                f"{source}: model name gives dag_id {dag.dag_id!r}, already used by another "
                "monitor file. Fix: give each model a unique `model.name`"))
        dags[dag.dag_id] = dag
        for other in extra:
            dags[other.dag_id] = other
    if starts and (not wanted or wanted == REVIEW_DAG_ID):
        review = build_review_dag(directory, min(starts))
        review.validate()
        dags[review.dag_id] = review
    return dags


def _may_define(source: Path, model_name: str) -> bool:
    """Cheap check whether a file could define a model's DAGs (its name is in the text)."""
    return model_name in source.read_text(errors="replace")


def register_monitor_dags(namespace: MutableMapping[str, Any],
                          directory: Path | None = None) -> list[str]:
    """Put the DAGs into a DAG file's ``globals()`` (how the DagBag finds them)."""
    dags = build_dags(directory)
    dag_file = namespace.get("__file__")
    for dag in dags.values():
        if dag_file:  # built in this module, but the DAG file is what Airflow must re-parse
            dag.fileloc = str(Path(dag_file).resolve())
    namespace.update(dags)
    return sorted(dags)
