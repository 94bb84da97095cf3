"""A warehouse seeded for the UI tests: the demo scenario's traffic, real drift checks, decisions,
alerts and reports for days 15–24 (shift on day 20), plus hand-written outcome, data-layer and
shadow rows with known values (those layers are slow and tested elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from modelwatch.demo import scenario
from modelwatch.metrics import MetricRow

FIRST_DAY, LAST_DAY = 15, 24
DEFAULTED_FEATURE = "avg_amount_30d"
DEFAULTED_DAY = 22
ROLLBACK_DAY = 23
LABELLED_UNTIL = 19  # realized AUC for days <= this, estimates after


@dataclass(frozen=True)
class Seeded:
    url: str
    monitors_dir: Path
    run_ids: dict[int, str]
    windows: dict[int, datetime]


def run_id(day: int) -> str:
    return f"manual__{scenario.day_of(day):%Y-%m-%dT%H:%M:%S}+00:00"


def _extra_rows(day: int) -> list[MetricRow]:
    rows = []
    if day <= LABELLED_UNTIL:
        auc = 0.90 - 0.002 * day
        rows.append(MetricRow("outcome", "roc_auc", None, auc, 0.8, "ok",
                              {"ci_low": auc - 0.03, "ci_high": auc + 0.03}))
        rows.append(MetricRow("outcome", "label_coverage", None, 0.97, None, "ok", {}))
    else:
        est = 0.86 - 0.01 * (day - LABELLED_UNTIL)
        rows.append(MetricRow("outcome", "estimated_roc_auc", None, est, 0.8, "ok",
                              {"ci_low": est - 0.04, "ci_high": est + 0.04}))
        rows.append(MetricRow("outcome", "label_coverage", None, 0.1, None, "ok", {}))
    defaulted = day == DEFAULTED_DAY
    rows.append(MetricRow("data", "silent_default_share", DEFAULTED_FEATURE,
                          0.97 if defaulted else 0.01, 0.2, "alert" if defaulted else "ok",
                          {"constant": 0.0}))
    rows.append(MetricRow("shadow", "decision_agreement", None, 0.95 - 0.01 * (day > 20), 0.9, "ok",
                          {}))
    return rows


def seed_ui_warehouse(url: str, tmp: Path, monkeypatch, rows_per_day: int = 300) -> Seeded:
    """Seed ``url``; point the config (through MODELWATCH_WAREHOUSE_URL) and a monitors folder at it."""
    from modelwatch.config import load_monitor
    from modelwatch.paths import PROJECT_DIR
    from modelwatch.registry import register, rollback
    from modelwatch.runner import (
        Window,
        open_warehouse,
        step_alerts,
        step_decide,
        step_profile,
        step_publish,
        step_report,
        step_window_checks,
    )
    from modelwatch.warehouse.writer import replace_metrics

    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    monitors = tmp / "monitors"
    monitors.mkdir(exist_ok=True)
    source = PROJECT_DIR / "include" / "monitors" / "fraud_demo.yaml"
    (monitors / "fraud_demo.yaml").write_text(source.read_text())
    (monitors / "broken.yaml").write_text("model: {name: broken\n")
    cfg = load_monitor(monitors / "fraud_demo.yaml")
    engine = open_warehouse(cfg)
    scenario.seed_warehouse(engine, scenario.generate(rows_per_day=rows_per_day, days=LAST_DAY))
    register(engine, cfg.model.name, "v1", alias="champion", reason="initial deploy")
    register(engine, cfg.model.name, "v2-challenger", alias="challenger", reason="in shadow")
    step_profile(cfg)
    run_ids, windows = {}, {}
    for day in range(FIRST_DAY, LAST_DAY + 1):
        start = scenario.day_of(day)
        window = Window(start, start + timedelta(days=1))
        rid = run_id(day)
        run_ids[day], windows[day] = rid, window.start
        if day == ROLLBACK_DAY - 1:
            register(engine, cfg.model.name, "v1.1", alias="champion", reason="release v1.1",
                     window_start=window.start)
        step_window_checks(cfg, window, rid)
        step_publish(cfg, window)
        with engine.begin() as conn:
            extra = _extra_rows(day)
            replace_metrics(conn, run_id=rid, model_name=cfg.model.name, model_version="v1",
                            window_start=window.start, window_end=window.end, rows=extra)
        step_alerts(cfg, window, rid)
        step_decide(cfg, window, rid)
        if day == ROLLBACK_DAY:
            rollback(engine, cfg.model.name, window.start, "scores regressed after v1.1")
        step_report(cfg, window, rid)
    engine.dispose()
    return Seeded(url, monitors, run_ids, windows)
