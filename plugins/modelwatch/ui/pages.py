"""The HTML of the overview, the model tab and the run tab (Airflow-free, tested on its own).

Each page is a function of what ``queries`` returned; links are built from ``root`` (where the
plugin's app is mounted, e.g. ``/modelwatch``) so they work behind a proxy's base path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote, urlencode

from modelwatch.ui import charts
from modelwatch.ui.histograms import Histogram
from modelwatch.ui.queries import CheckRow, Decision, Event, Overview, Point

STYLE = """
body{font:13px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:16px;color:#1d2329}
h1{font-size:19px;margin:0 0 8px}h2{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 8px;border-bottom:1px solid #e3e6e8;
text-align:left;vertical-align:top}th{background:#f4f6f7;cursor:pointer;user-select:none}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.status-alert{color:#c62828;font-weight:600}.status-warn{color:#b26a00;font-weight:600}
.status-ok{color:#2e7d32}.status-skipped{color:#757575}
.badge{display:inline-block;padding:0 6px;border-radius:8px;background:#eceff1;margin-right:4px}
.badge.page{background:#ffcdd2}.badge.notify{background:#ffe0b2}.badge.log{background:#e0e0e0}
.decision-retrain,.decision-rollback,.decision-promote,.decision-alert_only{font-weight:600}
.decision-rollback{color:#c62828}.decision-retrain{color:#1565c0}.decision-promote{color:#2e7d32}
svg text{font-size:10px;fill:#37474f}svg .title{font-size:12px;font-weight:600}
svg .grid{stroke:#e0e0e0}svg .decision{font-weight:700;fill:#1565c0;font-size:12px}
svg .decision.rollback{fill:#c62828}svg .decision.alert_only{fill:#b26a00}
.cell{cursor:pointer}.cell:hover{stroke:#000;stroke-width:1}
.empty{color:#757575;font-style:italic;margin:8px 0}.muted{color:#757575}
nav a{margin-right:10px}.panel{border:1px solid #e3e6e8;padding:8px;margin:8px 0;min-height:40px}
.legend-swatch{display:inline-block;width:40px;height:10px;margin:0 4px}
"""

SORT_SCRIPT = """
document.querySelectorAll('table.sortable th').forEach(function(th,i){th.addEventListener('click',
function(){var t=th.closest('table'),b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.asc!=='1';
rows.sort(function(x,y){var a=x.cells[i].dataset.v||x.cells[i].textContent,
c=y.cells[i].dataset.v||y.cells[i].textContent,na=parseFloat(a),nc=parseFloat(c);
var r=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?r:-r;});
rows.forEach(function(r){b.appendChild(r)});th.dataset.asc=asc?'1':'0';});});
"""


def page(title: str, body: str, *, script: str = "") -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}<script>{SORT_SCRIPT}{script}</script>"
            "</body></html>")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _status(status: str) -> str:
    return f'<span class="status-{escape(status)}">{escape(status)}</span>'


def _when(value: datetime | None) -> str:
    return "–" if value is None else f"{value:%Y-%m-%d %H:%M}"


def message_page(title: str, message: str) -> str:
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


# --- overview -----------------------------------------------------------------------------------

def overview_page(root: str, models: Sequence[tuple[str, Overview | None, str | None]]) -> str:
    """``models``: (dag_id, overview or None, error or None) per monitor config."""
    rows = []
    for dag_id, ov, error in models:
        link = f'<a href="{root}/dags/{quote(dag_id)}">{escape(dag_id)}</a>'
        airflow = (f'<a href="../dags/{quote(dag_id)}/plugin/monitoring" target="_top">Monitoring tab</a>'
                   f' · <a href="../dags/{quote(dag_id)}" target="_top">DAG</a>')
        if ov is None:
            rows.append(f'<tr data-dag="{escape(dag_id)}"><td>{link}</td><td colspan="6" '
                        f'class="muted">{escape(error or "no data")}</td><td>{airflow}</td></tr>')
            continue
        alerts = " ".join(f'<span class="badge {escape(sev)}">{escape(sev)} {n}</span>'
                          for sev, n in sorted(ov.open_alerts.items())) or "none"
        decision = ov.last_decision or "–"
        coverage = ("–" if ov.label_coverage is None else
                    f"{ov.label_coverage:.0%} <span class='muted'>({ov.coverage_window:%Y-%m-%d})"
                    "</span>")
        rows.append(
            f'<tr data-dag="{escape(dag_id)}"><td>{link}</td><td>{escape(ov.model_name)}</td>'
            f'<td>{_when(ov.last_window)}</td>'
            f'<td class="decision-{escape(decision)}">{escape(decision)}'
            f'{" <span class=muted>(" + escape(ov.last_rule) + ")</span>" if ov.last_rule else ""}'
            f'</td><td>{alerts}</td><td>{coverage}</td>'
            f'<td>{escape(ov.champion or "–")} / {escape(ov.challenger or "–")}</td>'
            f'<td>{airflow}</td></tr>')
    body = ("<h1>Model monitoring</h1><table class='sortable' id='models'><thead><tr>"
            "<th>monitor</th><th>model</th><th>last window</th><th>last decision</th>"
            "<th>open alerts</th><th>label coverage (last mature window)</th>"
            "<th>champion / challenger</th><th>Airflow</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
    if not models:
        body += "<p class='empty'>No monitor configs found in include/monitors/.</p>"
    return page("Model monitoring", body)


# --- model tab ----------------------------------------------------------------------------------

def model_page(root: str, dag_id: str, model_name: str, *, check: str, checks: Sequence[str],
               features: Sequence[str], windows: Sequence[datetime], cells: dict,
               marks: dict, decisions: dict[datetime, str], realized: Sequence[Point],
               estimated: Sequence[Point], coverage: Sequence[Point],
               shadow: dict[str, Sequence[Point]], events: Sequence[Event],
               runs: dict[datetime, str], metric_label: str = "ROC AUC") -> str:
    base = f"{root}/dags/{quote(dag_id)}"
    tabs = " ".join(
        f'<a href="{base}?{urlencode({"check": c})}"'
        f'{" style=font-weight:700" if c == check else ""}>{escape(c)}</a>' for c in checks)
    heat = (charts.heatmap(features, windows, cells, marks, decisions) if windows else
            "<p class='empty'>No drift rows stored yet: run the DAG once.</p>")
    x_range = (windows[0], windows[-1]) if windows else None
    perf = charts.line_chart(
        [charts.Series(f"realized {metric_label}", realized, "#1565c0"),
         charts.Series(f"estimated {metric_label}", estimated, "#8e24aa", dashed=True)],
        title="Performance: realized (with interval) and estimated before labels",
        x_range=x_range)
    cov = charts.line_chart([charts.Series("label coverage", coverage, "#00897b", band=False)],
                            title="Label coverage", height=150, y_range=(0.0, 1.0),
                            x_range=x_range)
    shadow_charts = "".join(
        charts.line_chart([charts.Series(name, pts, "#6d4c41")], title=f"Shadow: {name}",
                          height=150, x_range=x_range) for name, pts in shadow.items() if pts)
    if x_range:
        tl = charts.timeline(events, *x_range)
    else:
        tl = "<p class='empty'>No events.</p>"
    event_rows = "".join(
        f'<tr class="event-{e.kind}"><td data-v="{e.at.isoformat()}">{_when(e.at)}</td>'
        f'<td>{e.kind}</td><td>{escape(e.label)}</td><td>{escape(e.detail)}</td></tr>'
        for e in events if e.kind != "alert" or e.severity == "page")
    run_links = " ".join(
        f'<a href="{base}/runs/{quote(run_id, safe="")}">{w:%m-%d}</a>'
        for w, run_id in sorted(runs.items())[-14:])
    body = (
        f"<h1>{escape(model_name)} <span class='muted'>({escape(dag_id)})</span></h1>"
        f"<h2>Drift by feature and window</h2><nav>statistic: {tabs}</nav>"
        "<p class='muted'>Colour: value relative to its own alert threshold (white 0, amber ½, "
        "red ≥ 1). ● a data-layer finding (silent defaulting, skew) on that feature and day. "
        "Above a column: the window's decision (↻ retrain, ↩ rollback, ▲ promote, "
        "! alert only). Click a cell for the reference vs current histogram.</p>"
        f"{heat}<div class='panel' id='hist'><span class='muted'>Click a cell.</span></div>"
        f"<h2>Outcome</h2>{perf}{cov}<h2>Shadow vs champion</h2>"
        f"{shadow_charts or '<p class=empty>No shadow rows.</p>'}"
        f"<h2>Decisions, alerts and registry events</h2>{tl}"
        "<table class='sortable' id='events'><thead><tr><th>when</th><th>kind</th><th>what</th>"
        f"<th>detail</th></tr></thead><tbody>{event_rows}</tbody></table>"
        f"<h2>Runs</h2><p>{run_links or '<span class=muted>none</span>'}</p>")
    script = (
        "document.querySelectorAll('rect.cell').forEach(function(c){c.addEventListener('click',"
        "function(){var p=new URLSearchParams({feature:c.dataset.feature,window:c.dataset.window});"
        f"fetch('{base}/hist?'+p.toString(),{{credentials:'same-origin'}}).then(function(r){{"
        "return r.text()}).then(function(h){document.getElementById('hist').innerHTML=h;});});});")
    return page(f"{model_name} monitoring", body, script=script)


def histogram_fragment(hist: Histogram | None, window: datetime, feature: str,
                       max_bins: int = 30) -> str:
    if hist is None:
        return f"<p class='empty'>No histogram for {escape(feature)}.</p>"
    labels, ref, cur = hist.labels, hist.reference, hist.current
    if len(labels) > max_bins:  # many categories: keep the largest, fold the rest
        order = sorted(range(len(labels)), key=lambda i: -(ref[i] + cur[i]))[:max_bins - 1]
        keep = sorted(order)
        rest = [i for i in range(len(labels)) if i not in set(keep)]
        labels = [labels[i] for i in keep] + ["(rest)"]
        ref = [ref[i] for i in keep] + [sum(ref[i] for i in rest)]
        cur = [cur[i] for i in keep] + [sum(cur[i] for i in rest)]
    title = f"{feature}: reference vs window of {window:%Y-%m-%d} ({hist.current_rows:,} values)"
    return f'<div class="hist" data-feature="{escape(feature)}">' + charts.histogram_pair(
        labels, ref, cur, title=title) + "</div>"


# --- run tab ------------------------------------------------------------------------------------

def _decision_block(decision: Decision | None) -> str:
    if decision is None:
        return "<p class='empty'>No decision stored for this window.</p>"
    fired = decision.signals.get("fired") if isinstance(decision.signals, dict) else None
    signals = fired if fired is not None else decision.signals
    items = "".join(f"<li><code>{escape(str(k))}</code>: {escape(json.dumps(v, default=str))}</li>"
                    for k, v in (signals or {}).items()) if isinstance(signals, dict) else ""
    return (f"<p id='decision'>Decision: <b class='decision-{escape(decision.decision)}'>"
            f"{escape(decision.decision)}</b>"
            f"{' by rule <code>' + escape(decision.rule) + '</code>' if decision.rule else ''}</p>"
            + (f"<ul id='signals'>{items}</ul>" if items else ""))


def checks_table(rows: Sequence[CheckRow], window_start: datetime, limit: int = 5000) -> str:
    body = []
    for r in rows[:limit]:
        when = "" if r.window_start == window_start else f" <span class=muted>({r.window_start:%m-%d})</span>"
        reason = r.details.get("reason") or r.details.get("note") or ""
        body.append(
            f'<tr class="check status-row-{escape(r.status)}"><td>{escape(r.layer)}</td>'
            f'<td>{escape(r.check_name)}{when}</td><td>{escape(r.feature or "")}</td>'
            f'<td>{escape(r.slice)}</td><td class="num" data-v="{r.value if r.value is not None else ""}">'
            f'{_fmt(r.value)}</td><td class="num">{_fmt(r.threshold)}</td>'
            f'<td data-v="{ {"alert": 0, "warn": 1, "ok": 2}.get(r.status, 3)}">{_status(r.status)}</td>'
            f'<td class="muted">{escape(str(reason))[:160]}</td></tr>')
    more = (f"<p class='muted'>{len(rows) - limit} more rows not shown.</p>"
            if len(rows) > limit else "")
    return ("<table class='sortable' id='checks'><thead><tr><th>layer</th><th>check</th>"
            "<th>feature</th><th>slice</th><th>value</th><th>threshold</th><th>status</th>"
            f"<th>why</th></tr></thead><tbody>{''.join(body)}</tbody></table>{more}")


def run_page(root: str, dag_id: str, model_name: str, run_id: str, window: tuple[datetime, datetime],
             rows: Sequence[CheckRow], decision: Decision | None, alerts: Sequence[dict],
             links: dict[str, str]) -> str:
    counts = {s: sum(r.status == s for r in rows) for s in ("alert", "warn", "ok", "skipped")}
    link_html = " · ".join(f'<a href="{escape(url)}" target="_blank" id="link-{escape(name)}">'
                           f'{escape(name)}</a>' for name, url in links.items()) or "none"
    alert_rows = "".join(
        f"<tr><td><span class='badge {escape(a['severity'])}'>{escape(a['severity'])}</span></td>"
        f"<td>{escape(a['layer'])}</td><td>{escape(a['title'])}</td><td>{escape(a['status'])}</td>"
        f"<td>{escape(a.get('owner') or '')}</td></tr>" for a in alerts)
    body = (
        f"<h1>{escape(model_name)}: window {_when(window[0])} – {_when(window[1])}</h1>"
        f"<p class='muted'>run {escape(run_id)} · <a href='{root}/dags/{quote(dag_id)}'>model tab"
        f"</a></p>{_decision_block(decision)}<p>Links: {link_html}</p>"
        f"<p>{counts['alert']} alert · {counts['warn']} warn · {counts['ok']} ok · "
        f"{counts['skipped']} skipped</p>"
        + (f"<h2>Alerts</h2><table id='alerts'><tbody>{alert_rows}</tbody></table>"
           if alert_rows else "")
        + f"<h2>Checks</h2>{checks_table(rows, window[0])}")
    return page(f"{model_name} run {run_id}", body)
