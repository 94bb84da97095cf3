"""Threshold crossings become grouped ``mw_alert`` rows, routed to the owner of their layer.

The grouping, dedup and delivery live in ``modelwatch.alerting``; this module keeps the runner's
step (``record_alerts``: store this window's alerts without sending anything) and the row type it
returns. ``modelwatch.alerting.deliver_alerts`` records the same rows and sends what is due, so
calling both for a window is safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from modelwatch.alerting.grouping import LAYER_OWNER, AlertGroup, alert_id, build_groups, owner_for
from modelwatch.alerting.store import record_window
from modelwatch.config.schema import MonitorConfig

__all__ = ["LAYER_OWNER", "AlertRow", "alerts_from_metrics", "owner_for", "record_alerts"]


@dataclass(frozen=True)
class AlertRow:
    """One cause open in a window, as stored in ``mw_alert``."""

    alert_id: str
    fingerprint: str
    severity: str
    layer: str
    title: str
    summary: str
    owner: str
    channel: str

    @classmethod
    def of(cls, group: AlertGroup, window_start: datetime, window_end: datetime) -> AlertRow:
        return cls(alert_id(group.fingerprint, window_start, window_end), group.fingerprint,
                   group.severity, group.layer, group.title, group.summary, group.owner,
                   group.channel)


def alerts_from_metrics(cfg: MonitorConfig, metrics: Iterable[object], window_start: datetime,
                        window_end: datetime) -> list[AlertRow]:
    """The window's alerts, one per owner and root cause (pure: rows in, alerts out)."""
    return [AlertRow.of(g, window_start, window_end) for g in build_groups(cfg, metrics)]


def record_alerts(conn: Connection, cfg: MonitorConfig, window_start: datetime,
                  window_end: datetime) -> list[AlertRow]:
    """Upsert this window's alerts from its stored metrics; resolve causes that went away."""
    recorded = record_window(conn, cfg, window_start, window_end)
    return [AlertRow.of(g, window_start, window_end) for g in recorded.groups]
