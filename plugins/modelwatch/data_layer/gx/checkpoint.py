"""Run the window's expectation suite as a GX 1.x Checkpoint, in the warehouse.

An ephemeral GX context (nothing written besides Data Docs) gets a SQL data source on the
warehouse URL (DuckDB through ``dialect.BufferedDuckDBDialect``), a table asset on a view of the
window's rows of this model (created for the run, dropped after it), a suite built from
``ExpectationSpec``s and a Checkpoint with an ``UpdateDataDocsAction`` writing to a local folder.
GX turns every expectation into aggregate SQL (counts, min/max, ``LIMIT``-ed samples of
unexpected values): the window's rows are never pulled into Python.

An expectation GX could not evaluate (a metric error, kwargs it rejects, an expression the
dialect lacks) is an error, not a failed check: it raises ``GreatExpectationsError`` naming every
such expectation, or ``GreatExpectationsUnavailable`` when the warehouse was unreachable.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.errors import GreatExpectationsError, GreatExpectationsUnavailable
from modelwatch.data_layer.gx.dialect import gx_url
from modelwatch.data_layer.gx.suite import ExpectationSpec
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.source import predictions_columns, window_filter

GX_SEVERITY = {"page": "critical", "notify": "warning", "log": "info"}
SITE = "modelwatch"
log = logging.getLogger(__name__)


@dataclass
class CheckpointOutcome:
    results: list[tuple[ExpectationSpec, bool, dict]] = field(default_factory=list)
    docs_index: Path | None = None
    seconds: float = 0.0


def window_select(cfg: MonitorConfig, start, end, live: list[str] | None = None) -> sa.Select:
    """This model's rows in ``[start, end)`` of the predictions table, every column.

    With ``live`` (the table's columns), categorical features are projected as text: GX
    compares them with the profile's categories, which are their text form in every layer (an
    ENUM, BOOLEAN or integer code would not compare with a text set on PostgreSQL).
    """
    if not live:
        tbl = predictions_columns(cfg)
        return sa.select(sa.literal_column("*")).select_from(tbl).where(
            window_filter(cfg, tbl, start, end))
    tbl = predictions_columns(cfg, *live)
    categorical = {f.name for f in cfg.features if f.kind == "categorical"}
    cols = [sa.cast(tbl.c[n], sa.String).label(n) if n in categorical else tbl.c[n] for n in live]
    return sa.select(*cols).where(window_filter(cfg, tbl, start, end))


def view_name(cfg: MonitorConfig, run_name: str, start, end) -> str:
    digest = hashlib.sha256(f"{cfg.model.name}|{run_name}|{start}|{end}".encode()).hexdigest()[:10]
    return f"mw_gx_{cfg.model.name[:40]}_{digest}"


@contextmanager
def window_view(engine: Engine, cfg: MonitorConfig, start, end, run_name: str):
    """A view of the window for GX's table asset, dropped afterwards.

    Why a view and not a GX query asset: for a query asset GX 1.24 reads the column names by
    executing the bare query (``column_reflection_fallback``), which on PostgreSQL (psycopg
    buffers client-side) and on DuckDB through the buffered dialect transfers the whole window.
    For a table asset it reflects the columns, or runs ``SELECT * … LIMIT 1``.
    """
    name = view_name(cfg, run_name, start, end)
    with engine.connect() as conn:
        live = list(live_columns(conn, cfg.tables.predictions) or [])
    view = sa.schema.CreateView(window_select(cfg, start, end, live), name)
    with engine.begin() as conn:
        conn.execute(sa.schema.DropView(view.table, if_exists=True))
        conn.execute(view)
    try:
        yield name
    finally:
        with engine.begin() as conn:
            conn.execute(sa.schema.DropView(view.table, if_exists=True))


def _expectation(gx, spec: ExpectationSpec, index: int):
    from great_expectations.expectations.registry import get_expectation_impl

    try:
        cls = get_expectation_impl(spec.type)
    except Exception as exc:
        raise GreatExpectationsError(
            f"unknown GX expectation {spec.type!r} ({spec.origin}). Fix: use a name from the GX "
            f"expectation gallery, e.g. expect_column_values_to_not_be_null ({exc})") from exc
    meta = {"modelwatch_index": index, "modelwatch_severity": spec.severity, "origin": spec.origin}
    try:
        return cls(**spec.kwargs, meta=meta, severity=GX_SEVERITY[spec.severity])
    except Exception as exc:
        raise GreatExpectationsError(
            f"{spec.type} ({spec.origin}) rejects kwargs {spec.kwargs}: {exc}. Fix the expectation's "
            "kwargs in data_layer.great_expectations.expectations") from exc


def run_checkpoint(engine: Engine, cfg: MonitorConfig, start, end, specs: list[ExpectationSpec],
                   *, docs_dir: Path | None, unexpected_sample: int, run_name: str) -> CheckpointOutcome:
    """Validate the window ``[start, end)`` against ``specs``; Data Docs to ``docs_dir``."""
    with window_view(engine, cfg, start, end, run_name) as view:
        return _run(engine, cfg, start, specs, view, docs_dir=docs_dir,
                    unexpected_sample=unexpected_sample, run_name=run_name)


def _run(engine: Engine, cfg: MonitorConfig, start, specs: list[ExpectationSpec], view: str, *,
         docs_dir: Path | None, unexpected_sample: int, run_name: str) -> CheckpointOutcome:
    import time

    try:
        import great_expectations as gx
        from great_expectations.checkpoint import UpdateDataDocsAction
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.base import ProgressBarsConfig
    except ModuleNotFoundError as exc:  # installed without the `airflow` extra
        from modelwatch.errors import MissingDependency

        raise MissingDependency("great-expectations", needed_for="the Great Expectations step of "
                                "the data layer", extra="airflow", missing=exc.name,
                                turn_off="data_layer.great_expectations.enabled: false") from exc

    began = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm in task logs
    actions = []
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(site_name=SITE, site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
        actions.append(UpdateDataDocsAction(name="data_docs", site_names=[SITE]))
    name = cfg.model.name
    url = gx_url(engine.url).render_as_string(hide_password=False)
    source = None
    try:
        source = context.data_sources.add_sql(name="warehouse", connection_string=url)
        asset = source.add_table_asset(name=f"{name}_window", table_name=view)
        batch = asset.add_batch_definition_whole_table("window")
        # built whole, then added once: add_expectation on a stored suite re-serialises it each time
        expectations = [_expectation(gx, spec, i) for i, spec in enumerate(specs)]
        suite = context.suites.add(gx.ExpectationSuite(name=f"{name}_data_layer", expectations=expectations))
        validation = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"{name}_window", data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{name}_data_layer", validation_definitions=[validation], actions=actions,
            result_format={"result_format": "SUMMARY",
                           "partial_unexpected_count": max(unexpected_sample, 1)}))
        run_time = start.replace(tzinfo=UTC)
        result = checkpoint.run(run_id=RunIdentifier(run_name=run_name, run_time=run_time))
    except (GreatExpectationsError, GreatExpectationsUnavailable):
        raise
    except Exception as exc:
        text = f"{exc!r} {exc}".lower()
        if isinstance(exc, sa.exc.OperationalError) or any(
                marker in text for marker in ("operationalerror", "could not connect", "could not set lock",
                                              "conflicting lock")):
            raise GreatExpectationsUnavailable(f"GX could not reach the warehouse: {exc}") from exc
        raise GreatExpectationsError(f"GX failed to run the {name} checkpoint: {exc}") from exc
    finally:
        if source is not None:
            try:
                source.get_engine().dispose()
            except Exception:  # never built: nothing to release
                pass
    outcome = CheckpointOutcome(seconds=time.perf_counter() - began)
    errors, transient = [], False
    for run_result in result.run_results.values():
        for r in run_result.results:
            config = r.expectation_config
            spec = specs[int(config.meta["modelwatch_index"])]
            info = r.exception_info or {}
            raised = _raised(info)
            if raised:
                errors.append(f"{spec.type} on {spec.target or 'the table'} ({spec.origin}): {raised}")
                transient = transient or "OperationalError" in raised
                continue
            outcome.results.append((spec, bool(r.success), dict(r.result or {})))
    if errors:
        kind = GreatExpectationsUnavailable if transient else GreatExpectationsError
        raise kind(f"{len(errors)} expectation(s) could not be evaluated on {engine.dialect.name}: "
                   + "; ".join(errors) + ". Fix: drop or change these expectations (a GX error, not a "
                   "data failure)")
    if docs_dir is not None and (docs_dir / "index.html").exists():
        outcome.docs_index = docs_dir / "index.html"
    return outcome


def _raised(info) -> str | None:
    """The first exception message in a GX ``exception_info`` (flat or keyed by metric)."""
    if not info:
        return None
    if isinstance(info, dict) and "raised_exception" in info:
        return info.get("exception_message") if info.get("raised_exception") else None
    if isinstance(info, dict):
        for value in info.values():
            found = _raised(value if isinstance(value, dict) else getattr(value, "to_json_dict",
                                                                           lambda: {})())
            if found:
                return found
    return None
