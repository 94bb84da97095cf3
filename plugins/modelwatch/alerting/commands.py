"""What ``modelwatch alerts list|ack`` do, kept out of ``cli.py`` so the CLI only parses."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from modelwatch.alerting.lifecycle import StoredAlert
from modelwatch.alerting.message import ID_CHARS, format_window
from modelwatch.alerting.store import ack, list_alerts
from modelwatch.clock import utcnow


def _warehouse(config: str | None) -> tuple[Engine, str | None]:
    """The monitor's warehouse and model, or the default warehouse and every model."""
    if config:
        from modelwatch.config.loader import load_monitor
        from modelwatch.runner import open_warehouse

        cfg = load_monitor(config)
        return open_warehouse(cfg), cfg.model.name
    from modelwatch.config.schema import Warehouse
    from modelwatch.warehouse.engine import get_engine
    from modelwatch.warehouse.tables import create_output_tables

    engine = get_engine(Warehouse())
    create_output_tables(engine)
    return engine, None


def _delivery(row: StoredAlert) -> str:
    if row.delivered_at is not None:
        return f"sent {row.delivered_at:%m-%d %H:%M}"
    if row.severity == "log":
        return "log only"
    return f"pending ({row.delivery_attempts} tries)" if row.delivery_attempts else "pending"


def alerts_table(rows: Sequence[StoredAlert]) -> str:
    """One line per alert: id to ack, model, severity, status, window, delivery, ack, title."""
    if not rows:
        return "no alerts"
    header = ("id", "model", "severity", "status", "window", "delivery", "acked by", "title")
    lines = [header] + [
        (r.alert_id[:ID_CHARS], r.model_name, r.severity, r.status,
         format_window(r.window_start, r.window_end), _delivery(r), r.acked_by or "-", r.title)
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    return "\n".join("  ".join([*(c.ljust(w) for c, w in zip(line, widths, strict=False)), line[-1]])
                     for line in lines)


def list_command(config: str | None, *, status: str | None, every_window: bool) -> str:
    engine, model = _warehouse(config)
    with engine.connect() as conn:
        rows = list_alerts(conn, model=model, status=status, every_window=every_window)
    return alerts_table(rows)


def ack_command(config: str | None, alert_id: str, *, by: str, note: str) -> str:
    engine, model = _warehouse(config)
    with engine.begin() as conn:
        ids = ack(conn, alert_id, by=by, note=note, model=model)
    extra = f" and {len(ids) - 1} later window(s) of the same episode" if len(ids) > 1 else ""
    return f"acknowledged {ids[0][:ID_CHARS]}{extra} by {by}: {note}"


def review_command(config: str, *, week_ending: datetime | None, post: bool) -> str:
    """Review the week ending at ``week_ending`` (default: the last Monday 00:00 UTC)."""
    from modelwatch.alerting.review import review_table, run_review
    from modelwatch.config.loader import load_monitor
    from modelwatch.runner import open_warehouse

    cfg = load_monitor(config)
    if week_ending is None:
        today = datetime.combine(utcnow().date(), datetime.min.time())
        week_ending = today - timedelta(days=today.weekday())
    start = week_ending - timedelta(days=7)
    report = run_review(open_warehouse(cfg), cfg, start, week_ending, post=post)
    posted = f"; posted {report.posted} owner summary(ies) ({report.slack})" if post else ""
    return (f"alert review of {cfg.model.name}, {start:%Y-%m-%d} – {week_ending:%Y-%m-%d}"
            f"{posted}\n{review_table(report.rows)}")
