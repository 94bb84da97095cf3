"""The monitoring steps. The Airflow tasks and the ``modelwatch`` CLI both call these, and only these.

A step is a transaction keyed by its window: it reads one window of the warehouse, writes its
results with replace-semantics and returns a small summary (safe for XCom).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from modelwatch.alerts import AlertRow, record_alerts
from modelwatch.checks.change_points import change_point_checks
from modelwatch.checks.data_quality import data_quality_checks
from modelwatch.checks.drift import drift_checks
from modelwatch.checks.model import confidence_checks
from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.profile import Profile, ensure_profile
from modelwatch.warehouse.engine import ConnectionResolver, get_engine
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.warehouse.window_stats import compute_window_stats
from modelwatch.warehouse.writer import replace_metrics


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


@dataclass(frozen=True)
class Window:
    """A half-open data interval ``[start, end)`` in naive UTC (how the warehouse stores time)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _naive_utc(self.start))
        object.__setattr__(self, "end", _naive_utc(self.end))
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} must be before its end {self.end}")

    def __str__(self) -> str:
        return f"[{self.start:%Y-%m-%d %H:%M}, {self.end:%Y-%m-%d %H:%M}) UTC"


@dataclass
class RunResult:
    model_name: str
    window: Window
    metrics: list[MetricRow] = field(default_factory=list)
    alerts: list[AlertRow] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "model_name": self.model_name,
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "metrics": [m.__dict__ for m in self.metrics],
            "alerts": [a.__dict__ for a in self.alerts],
        }


def open_warehouse(cfg: MonitorConfig, resolver: ConnectionResolver | None = None) -> Engine:
    engine = get_engine(cfg.warehouse, resolver)
    create_output_tables(engine)
    return engine


def step_profile(cfg: MonitorConfig, resolver: ConnectionResolver | None = None,
                 *, rebuild: bool = False) -> Profile:
    """Load the reference profile, computing it once per reference definition."""
    return ensure_profile(open_warehouse(cfg, resolver), cfg, rebuild=rebuild)


def step_window_checks(cfg: MonitorConfig, window: Window, run_id: str,
                       resolver: ConnectionResolver | None = None) -> list[MetricRow]:
    """One aggregation pass over the window, then data-quality and drift checks, one write."""
    engine = open_warehouse(cfg, resolver)
    profile = ensure_profile(engine, cfg)
    with engine.begin() as conn:
        stats = compute_window_stats(conn, cfg, window.start, window.end, profile.plan())
        rows = [*data_quality_checks(cfg, stats, profile, window.end),
                *drift_checks(cfg, stats, profile), *confidence_checks(cfg, stats, profile)]
        rows += change_point_checks(conn, cfg, profile, window.start, rows)
        replace_metrics(conn, run_id=run_id, model_name=cfg.model.name,
                        model_version=stats.dominant_version, window_start=window.start,
                        window_end=window.end, rows=rows)
    return rows


def step_record_alerts(cfg: MonitorConfig, window: Window,
                       resolver: ConnectionResolver | None = None) -> list[AlertRow]:
    engine = open_warehouse(cfg, resolver)
    with engine.begin() as conn:
        return record_alerts(conn, cfg, window.start, window.end)


def run_window(cfg: MonitorConfig, window: Window, run_id: str,
               resolver: ConnectionResolver | None = None) -> RunResult:
    """Every step for one window, in the DAG's order (what ``modelwatch run`` does)."""
    step_profile(cfg, resolver)
    metrics = step_window_checks(cfg, window, run_id, resolver)
    alerts = step_record_alerts(cfg, window, resolver)
    return RunResult(cfg.model.name, window, metrics, alerts)
