"""Page handlers: from a request's parameters to HTML, reading the warehouse read-only.

Airflow-free so they are tested on their own against a seeded warehouse; the plugin's FastAPI app
(``modelwatch.airflow.ui_plugin``) adds Airflow's authentication and routes requests here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from modelwatch.data_layer.artifacts import artifact_root, served_url
from modelwatch.errors import WarehouseUnavailable
from modelwatch.outcome.headline import headline_of
from modelwatch.paths import modelwatch_home
from modelwatch.profile import load_profile
from modelwatch.ui import pages, queries
from modelwatch.ui.histograms import window_histograms
from modelwatch.ui.report import local_report_path
from modelwatch.ui.sources import Monitor, connect, monitor_for, monitors, read_engine

Resolver = Callable[[str], str] | None
MAX_WINDOWS = 90


@dataclass(frozen=True)
class Response:
    status: int
    html: str | None = None
    file: Path | None = None
    redirect: str | None = None


def _not_found(what: str) -> Response:
    return Response(404, pages.message_page("Not found", what))


def _unavailable(exc: Exception) -> Response:
    return Response(503, pages.message_page("Warehouse unavailable", str(exc)))


def overview(root: str, resolver: Resolver = None, directory: Path | None = None) -> Response:
    rows = []
    for m in monitors(directory):
        if m.cfg is None:
            rows.append((m.dag_id, None, f"config error: {m.error}"))
            continue
        try:
            with connect(read_engine(m.cfg, resolver)) as conn:
                rows.append((m.dag_id, queries.overview(conn, m.cfg.model.name,
                                                           headline_of(m.cfg.model.task).realized), None))
        except WarehouseUnavailable as exc:
            rows.append((m.dag_id, None, str(exc)))
        except Exception as exc:  # an empty warehouse has no mw_* tables yet
            rows.append((m.dag_id, None, f"no monitoring data yet ({type(exc).__name__})"))
    return Response(200, pages.overview_page(root, rows))


def _monitor(dag_id: str, directory: Path | None) -> Monitor | None:
    m = monitor_for(dag_id, directory)
    return m if m is not None and m.cfg is not None else None


def model_tab(root: str, dag_id: str, check: str = "psi", resolver: Resolver = None,
              directory: Path | None = None, max_windows: int = MAX_WINDOWS) -> Response:
    m = _monitor(dag_id, directory)
    if m is None:
        return _not_found(f"{dag_id} is not a modelwatch monitor DAG")
    model = m.cfg.model.name
    try:
        with connect(read_engine(m.cfg, resolver)) as conn:
            windows = queries.recent_windows(conn, model, max_windows)
            checks = queries.available_drift_checks(conn, model) or ["psi"]
            check = check if check in checks else checks[0]
            cell_list = queries.drift_cells(conn, model, check, windows)
            cells = {(c.feature, c.window_start): c for c in cell_list}
            order = [f.name for f in m.cfg.features]
            present = {c.feature for c in cell_list}
            features = [f for f in order if f in present] + sorted(present - set(order))
            marks = {(c.feature, c.window_start): c.details["check"]
                     for c in queries.data_findings(conn, model, windows)}
            since = windows[0] if windows else None
            events = queries.timeline(conn, model, since)
            decisions = {e.at: e.label for e in events if e.kind == "decision"}
            runs = queries.runs_by_window(conn, model, since)
            headline = headline_of(m.cfg.model.task)
            realized = queries.series(conn, model, headline.realized, since)
            estimated = (queries.series(conn, model, headline.estimated, since)
                         if headline.estimated else [])
            coverage = queries.series(conn, model, "label_coverage", since)
            shadow = {c: queries.series(conn, model, c, since) for c in queries.SHADOW_CHECKS}
    except WarehouseUnavailable as exc:
        return _unavailable(exc)
    html = pages.model_page(root, dag_id, model, check=check, checks=checks, features=features,
                            windows=windows, cells=cells, marks=marks, decisions=decisions,
                            realized=realized, estimated=estimated, coverage=coverage,
                            metric_label=headline.label,
                            shadow=shadow, events=events, runs=runs)
    return Response(200, html)


def histogram(dag_id: str, feature: str, window: str, resolver: Resolver = None,
              directory: Path | None = None) -> Response:
    m = _monitor(dag_id, directory)
    if m is None:
        return _not_found(f"{dag_id} is not a modelwatch monitor DAG")
    try:
        start = datetime.fromisoformat(window)
    except ValueError:
        return Response(400, pages.message_page("Bad request", f"window {window!r} is not a date"))
    cfg = m.cfg
    try:
        with connect(read_engine(cfg, resolver)) as conn:
            profile = load_profile(conn, cfg)
            if profile is None:
                return _not_found("no reference profile stored yet")
            if feature not in set(profile.data["numeric"]) | set(profile.data["categorical"]):
                return _not_found(f"{feature!r} is not a monitored column of {cfg.model.name}")
            end = start + cfg.schedule.window
            hists = window_histograms(conn, cfg, profile, start, end, [feature])
    except WarehouseUnavailable as exc:
        return _unavailable(exc)
    return Response(200, pages.histogram_fragment(hists.get(feature), start, feature))


def _artifact_root(m: Monitor) -> Path:
    return artifact_root(m.cfg.data_layer.artifacts)


def _artifact_link(root: str, dag_id: str, m: Monitor, uri: str) -> str:
    """A ``file://`` URI under the artifact root becomes a plugin URL the browser can open."""
    return served_url(m.cfg.data_layer.artifacts, f"{root}/dags/{quote(dag_id)}/artifacts", uri)


def run_tab(root: str, dag_id: str, run_id: str, resolver: Resolver = None,
            directory: Path | None = None) -> Response:
    m = _monitor(dag_id, directory)
    if m is None:
        return _not_found(f"{dag_id} is not a modelwatch monitor DAG")
    model = m.cfg.model.name
    try:
        with connect(read_engine(m.cfg, resolver)) as conn:
            window = queries.window_of_run(conn, model, run_id)
            if window is None:
                return _not_found(f"no modelwatch results stored for run {run_id} of {dag_id} "
                                  "(it may not have reached its checks yet)")
            rows = queries.window_checks(conn, model, *window, run_id)
            decision = queries.decision_of(conn, model, window[0])
            alerts = queries.window_alerts(conn, model, *window)
    except WarehouseUnavailable as exc:
        return _unavailable(exc)
    links = {"report": f"{root}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}/report"}
    docs = next((r.details["data_docs"] for r in rows if isinstance(r.details.get("data_docs"), dict)
                 and r.window_start == window[0]), None)
    if docs:
        if docs.get("local"):
            links["GX Data Docs"] = _artifact_link(root, dag_id, m, docs["local"])
        if docs.get("s3"):
            links["GX Data Docs (S3)"] = docs["s3"]
    return Response(200, pages.run_page(root, dag_id, model, run_id, window, rows, decision, alerts,
                                        links))


def report(dag_id: str, run_id: str, resolver: Resolver = None,
           directory: Path | None = None) -> Response:
    """The stored report of a run's window: the local file, else a presigned S3 link."""
    m = _monitor(dag_id, directory)
    if m is None:
        return _not_found(f"{dag_id} is not a modelwatch monitor DAG")
    try:
        with connect(read_engine(m.cfg, resolver)) as conn:
            window = queries.window_of_run(conn, m.cfg.model.name, run_id)
    except WarehouseUnavailable as exc:
        return _unavailable(exc)
    if window is None:
        return _not_found(f"no window stored for run {run_id}")
    settings = m.cfg.data_layer.artifacts
    path = local_report_path(settings, modelwatch_home() / "artifacts", m.cfg.model.name, *window)
    if path.exists():
        return Response(200, file=path)
    if settings.s3_bucket:
        import boto3

        from modelwatch.data_layer.artifacts import window_key
        from modelwatch.ui.report import REPORT_NAME

        key = "/".join(p for p in (settings.s3_report_prefix, m.cfg.model.name,
                                   window_key(*window), REPORT_NAME) if p)
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url,
                              region_name=settings.s3_region)
        url = client.generate_presigned_url("get_object", Params={"Bucket": settings.s3_bucket,
                                                                  "Key": key}, ExpiresIn=3600)
        return Response(307, redirect=url)
    return _not_found(f"the report of window {window[0]:%Y-%m-%d %H:%M} has not been written yet "
                      "(the run's `report` task writes it)")


def artifact(dag_id: str, relative: str, directory: Path | None = None) -> Response:
    """A file of the artifact store (Data Docs pages and assets), never outside its root."""
    m = _monitor(dag_id, directory)
    if m is None:
        return _not_found(f"{dag_id} is not a modelwatch monitor DAG")
    base = _artifact_root(m)
    path = (base / relative).resolve()
    if base not in path.parents or not path.is_file():
        return _not_found(f"no artifact {relative!r}")
    return Response(200, file=path)

