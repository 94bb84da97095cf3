"""The self-contained HTML report of one monitored window, and where it is stored.

One file: inline CSS and SVG, no script from the network, no per-row data — the numbers are the
window's ``mw_*`` rows and the histograms are bin shares — so it opens offline from a laptop, an
S3 console or a Slack link, and stays small (the demo's: ~335 kB at 20k rows/day). It is written to
the artifact store next to the Data Docs: ``<root>/reports/<model>/<window>/report.html`` locally,
and ``s3://<bucket>/<s3_report_prefix>/<model>/<window>/report.html`` when a bucket is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape
from pathlib import Path

from sqlalchemy.engine import Connection

from modelwatch.config.data_layer import ArtifactSettings
from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.artifacts import ArtifactStoreUnavailable, window_key
from modelwatch.outcome.headline import headline_of
from modelwatch.paths import modelwatch_home
from modelwatch.profile import Profile
from modelwatch.ui import charts, pages, queries
from modelwatch.ui.histograms import window_histograms

HISTORY_WINDOWS = 30
MAX_HISTOGRAMS = 8
REPORT_NAME = "report.html"


@dataclass(frozen=True)
class StoredReport:
    local_path: Path
    s3_uri: str | None
    size_bytes: int

    def links(self) -> dict[str, str]:
        out = {"local": self.local_path.resolve().as_uri()}
        if self.s3_uri:
            out["s3"] = self.s3_uri
        return out


def local_report_path(settings: ArtifactSettings, artifacts_dir: Path | None, model: str,
                      start: datetime, end: datetime) -> Path:
    root = Path(settings.local_dir) if settings.local_dir else (
        artifacts_dir if artifacts_dir is not None else modelwatch_home() / "artifacts")
    return root / "reports" / model / window_key(start, end) / REPORT_NAME


def build_report(conn: Connection, cfg: MonitorConfig, profile: Profile | None, start: datetime,
                 end: datetime, run_id: str, links: dict[str, str] | None = None) -> str:
    """The report's HTML from what the run stored (and one aggregation for the histograms)."""
    model = cfg.model.name
    rows = queries.window_checks(conn, model, start, end, run_id)
    decision = queries.decision_of(conn, model, start)
    alerts = queries.window_alerts(conn, model, start, end)
    windows = [w for w in queries.recent_windows(conn, model, 10_000) if w <= start][-HISTORY_WINDOWS:]
    cells = {(c.feature, c.window_start): c
             for c in queries.drift_cells(conn, model, "psi", windows)}
    features = sorted({f for f, _ in cells})
    marks = {(c.feature, c.window_start): c.details["check"]
             for c in queries.data_findings(conn, model, windows)}
    since = start - timedelta(days=60)
    headline = headline_of(cfg.model.task)
    realized = [p for p in queries.series(conn, model, headline.realized, since)
                if p.window_start <= start]
    estimated = [p for p in queries.series(conn, model, headline.estimated, since)
                 if p.window_start <= start] if headline.estimated else []
    flagged = sorted({r.feature for r in rows if r.window_start == start and r.feature
                      and r.layer in ("data", "model") and r.status in ("alert", "warn")
                      and r.slice == "all"})[:MAX_HISTOGRAMS]
    hist_html = ""
    if profile is not None and flagged:
        known = set(profile.data["numeric"]) | set(profile.data["categorical"])
        wanted = [f for f in flagged if f in known]
        if wanted:
            hists = window_histograms(conn, cfg, profile, start, end, wanted)
            hist_html = "".join(pages.histogram_fragment(hists.get(f), start, f) for f in wanted)
    counts = {s: sum(r.status == s for r in rows) for s in ("alert", "warn", "ok", "skipped")}
    flagged_rows = [r for r in rows if r.status in ("alert", "warn")]
    link_html = " · ".join(f'<a href="{escape(u)}">{escape(n)}</a>'
                           for n, u in (links or {}).items()) or "none"
    alert_items = "".join(f"<li><span class='badge {escape(a['severity'])}'>{escape(a['severity'])}"
                          f"</span>{escape(a['title'])} <span class='muted'>({escape(a['layer'])}, "
                          f"{escape(a['status'])})</span></li>" for a in alerts)
    x_range = (min(windows[0], realized[0].window_start if realized else windows[0]), start) \
        if windows else None
    perf = charts.line_chart(
        [charts.Series(f"realized {headline.label}", realized, "#1565c0"),
         charts.Series(f"estimated {headline.label}", estimated, "#8e24aa", dashed=True)],
        title="Performance up to this window", x_range=x_range)
    decisions = {}
    for w in windows:
        d = queries.decision_of(conn, model, w)
        if d is not None and d.decision != "healthy":
            decisions[w] = d.decision
    body = (
        f"<h1>{escape(model)} — window {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC</h1>"
        f"<p class='muted'>run {escape(run_id)} · generated by modelwatch from mw_metric, "
        f"mw_alert and mw_decision</p>{pages._decision_block(decision)}"
        f"<p>{counts['alert']} alert · {counts['warn']} warn · {counts['ok']} ok · "
        f"{counts['skipped']} skipped · links: {link_html}</p>"
        + (f"<h2>Alerts</h2><ul>{alert_items}</ul>" if alert_items else "")
        + f"<h2>Drift (PSI) over the last {len(windows)} windows</h2>"
        + (charts.heatmap(features, windows, cells, marks, decisions) if windows
           else "<p class='empty'>no drift rows</p>")
        + (f"<h2>Flagged features: reference vs this window</h2>{hist_html}" if hist_html else "")
        + f"<h2>Outcome</h2>{perf}"
        + f"<h2>Flagged checks ({len(flagged_rows)})</h2>{pages.checks_table(flagged_rows, start, 500)}")
    return pages.page(f"modelwatch report {model} {start:%Y-%m-%d}", body)


def store_report(settings: ArtifactSettings, artifacts_dir: Path | None, model: str,
                 start: datetime, end: datetime, html: str) -> StoredReport:
    """Write the report locally (replacing a rerun's), then upload it when a bucket is set."""
    path = local_report_path(settings, artifacts_dir, model, start, end)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(path)
    s3_uri = None
    if settings.s3_bucket:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        key = "/".join(p for p in (settings.s3_report_prefix, model, window_key(start, end),
                                   REPORT_NAME) if p)
        client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url,
                              region_name=settings.s3_region)
        try:
            client.upload_file(str(path), settings.s3_bucket, key,
                               ExtraArgs={"ContentType": "text/html; charset=utf-8"})
        except (BotoCoreError, ClientError) as exc:
            raise ArtifactStoreUnavailable(
                f"could not upload the report to s3://{settings.s3_bucket}/{key}: {exc}") from exc
        s3_uri = f"s3://{settings.s3_bucket}/{key}"
    return StoredReport(path, s3_uri, path.stat().st_size)
