"""Threshold crossings become ``mw_alert`` rows, routed to the owner of their layer.

Each crossing has a fingerprint (model, layer, check, feature, slice) that stays the same from
window to window, and an alert id (fingerprint + window) that stays the same across reruns of a
window; a rerun therefore updates its alerts instead of adding copies, and an alert whose crossing
went away on rerun is marked resolved. Delivery (Slack, dedup across windows) builds on these rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig, Owner
from modelwatch.warehouse.tables import mw_alert, mw_metric

LAYER_OWNER = {"data": "data", "model": "model", "shadow": "model", "outcome": "outcome",
               "system": "infra"}


@dataclass(frozen=True)
class AlertRow:
    alert_id: str
    fingerprint: str
    severity: str
    layer: str
    title: str
    summary: str
    owner: str
    channel: str


def fingerprint(model: str, layer: str, check: str, feature: str | None, slice_: str) -> str:
    raw = "|".join([model, layer, check, feature or "", slice_])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def owner_for(cfg: MonitorConfig, layer: str) -> Owner:
    return getattr(cfg.owners, LAYER_OWNER.get(layer, "infra"))


def alerts_from_metrics(cfg: MonitorConfig, metrics: list[dict], window_start: datetime,
                        window_end: datetime) -> list[AlertRow]:
    """One alert per metric row in ``warn`` or ``alert`` (pure: rows in, alerts out)."""
    alerts = []
    for m in metrics:
        if m["status"] not in ("warn", "alert"):
            continue
        owner = owner_for(cfg, m["layer"])
        severity = getattr(owner.severity, m["status"])
        fp = fingerprint(cfg.model.name, m["layer"], m["check_name"], m["feature"], m["slice"])
        window_key = f"{fp}|{window_start.isoformat()}|{window_end.isoformat()}"
        subject = f" on {m['feature']}" if m["feature"] else ""
        where = "" if m["slice"] == "all" else f" [{m['slice']}]"
        title = f"{cfg.model.name}: {m['check_name']}{subject}{where} is {m['status']}"
        summary = (f"{m['check_name']} = {m['value']:.4g} (alert at {m['threshold']:.4g}) "
                   f"for window {window_start:%Y-%m-%d %H:%M} – {window_end:%Y-%m-%d %H:%M} UTC")
        alerts.append(AlertRow(
            alert_id=hashlib.sha256(window_key.encode()).hexdigest()[:32], fingerprint=fp,
            severity=severity, layer=m["layer"], title=title, summary=summary,
            owner=owner.team, channel=owner.slack_channel,
        ))
    return alerts


def record_alerts(conn: Connection, cfg: MonitorConfig, window_start: datetime,
                  window_end: datetime) -> list[AlertRow]:
    """Upsert this window's alerts from its stored metrics; resolve those no longer crossing."""
    metrics = [dict(r) for r in conn.execute(
        sa.select(mw_metric).where(
            mw_metric.c.model_name == cfg.model.name,
            mw_metric.c.window_start == window_start,
            mw_metric.c.window_end == window_end,
        )
    ).mappings()]
    alerts = alerts_from_metrics(cfg, metrics, window_start, window_end)
    existing = {r.alert_id: r for r in conn.execute(
        sa.select(mw_alert.c.alert_id, mw_alert.c.status).where(
            mw_alert.c.model_name == cfg.model.name,
            mw_alert.c.window_start == window_start,
            mw_alert.c.window_end == window_end,
        )
    )}
    now = utcnow()
    for alert in alerts:
        fields = {"severity": alert.severity, "title": alert.title, "summary": alert.summary,
                  "owner": alert.owner, "channel": alert.channel, "last_seen": now}
        if alert.alert_id in existing:
            status = existing[alert.alert_id].status
            fields["status"] = "open" if status == "resolved" else status
            conn.execute(sa.update(mw_alert).where(mw_alert.c.alert_id == alert.alert_id)
                         .values(**fields))
        else:
            conn.execute(sa.insert(mw_alert).values(
                alert_id=alert.alert_id, fingerprint=alert.fingerprint,
                model_name=cfg.model.name, layer=alert.layer, window_start=window_start,
                window_end=window_end, status="open", first_seen=now, delivery_attempts=0,
                **fields))
    gone = set(existing) - {a.alert_id for a in alerts}
    if gone:
        conn.execute(sa.update(mw_alert).where(mw_alert.c.alert_id.in_(gone))
                     .values(status="resolved", last_seen=now))
    return alerts
