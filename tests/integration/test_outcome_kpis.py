"""Business KPIs through ``run_outcome`` on DuckDB and PostgreSQL: proxy alerts and correlations.

Six synthetic weeks (a regression model, 200 predictions a day, labels within two days,
``labels.delay`` 2 days) and a KPI table of two KPIs:

- ``ctr`` (higher is better), whole population and ``segment=EU``: 5.0 % on weekdays, 4.4 % on
  weekends (a weekly pattern), ±0.05 points of noise; from day 36 it drops to 3.5 %. Judged with
  ``seasonal: weekday`` (three to four earlier same weekdays: the spread is floored at the known
  noise, ``min_spread`` 0.1 points). On the same days the model's target shifts up, so ``ctr`` and the label
  mean move together.
- ``refund_rate`` (lower is better): 2 % ± 0.1 points of noise with one spike (3 %) on day 30.
  Judged on the previous 14 days.

The outcome step runs every seventh day (lookback 10 windows), so each run judges windows whose
history earlier runs stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml
from scipy import stats

from modelwatch.config.schema import MonitorConfig
from modelwatch.outcome import run_outcome
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables, mw_metric
from tests.conftest import DEMO_YAML

START = datetime(2026, 9, 1)  # a Tuesday
DAYS, PER_DAY, DROP_DAY, SPIKE_DAY = 42, 200, 36, 30
RUN_DAYS = (7, 14, 21, 28, 35, 42)


def day_of(day: int) -> datetime:
    return START + timedelta(days=day - 1)


def kpi_cfg() -> MonitorConfig:
    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["model"] = {"name": "kpi_demo", "task": "regression"}
    raw["features"] = [{"name": "amount", "kind": "numeric"}]
    raw["segments"] = ["region"]
    raw["columns"] = {**raw["columns"], "score": "predicted", "prediction": None}
    raw["thresholds"] = {}
    raw["labels"] = {"delay": "2d"}
    raw.pop("retraining", None)
    raw["outcome"] = {
        "lookback_windows": 10,
        "kpis": {"ctr": {"direction": "higher_is_better", "seasonal": "weekday",
                         "history_windows": 4, "min_history": 3, "min_spread": 0.001},
                 "refund_rate": {"direction": "lower_is_better", "history_windows": 14}},
        "kpi_correlation": {"windows": 14, "min_windows": 5,
                            "metrics": ["outcome.label_mean", "outcome.mae"]},
    }
    return MonitorConfig.model_validate(raw)


def frames(seed: int = 11) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = DAYS * PER_DAY
    day = np.repeat(np.arange(1, DAYS + 1), PER_DAY)
    ts = (pd.Timestamp(START) + pd.to_timedelta(day - 1, unit="D")
          + pd.to_timedelta(rng.uniform(0, 86_399, n), unit="s")).to_numpy()
    amount = rng.gamma(2.0, 30.0, n)
    y = 10 + 0.1 * amount + rng.normal(0, 2, n) + np.where(day >= DROP_DAY, 3.0, 0.0)
    preds = pd.DataFrame({"request_id": [f"k{i}" for i in range(n)], "event_ts": ts,
                          "model_name": "kpi_demo", "model_version": "v1",
                          "region": rng.choice(["EU", "NA"], size=n), "amount": amount,
                          "predicted": 10 + 0.1 * amount + rng.normal(0, 1, n)})
    labels = pd.DataFrame({"request_id": preds["request_id"], "label": y,
                           "label_ts": ts + pd.to_timedelta(rng.uniform(0, 2 * 86_400, n),
                                                            unit="s")})
    kpis = []
    for d in range(1, DAYS + 1):
        weekend = day_of(d).weekday() >= 5
        ctr = (0.035 if d >= DROP_DAY else 0.044 if weekend else 0.050)
        for segment, offset in (("all", 0.0), ("EU", 0.002)):
            kpis.append((day_of(d) + timedelta(hours=12), "ctr",
                         ctr + offset + rng.normal(0, 0.0005), segment))
        refund = 0.03 if d == SPIKE_DAY else 0.02 + rng.normal(0, 0.001)
        kpis.append((day_of(d) + timedelta(hours=12), "refund_rate", refund, "all"))
    return {"predictions": preds, "labels": labels,
            "kpis": pd.DataFrame(kpis, columns=["ts", "kpi", "value", "segment"])}


def seed(url: str, data: dict[str, pd.DataFrame]) -> sa.Engine:
    engine = engine_for_url(url)
    create_output_tables(engine)
    for table, frame in data.items():
        load_frame(engine, table, frame)
    return engine


def run(engine: sa.Engine, cfg: MonitorConfig, day: int) -> None:
    run_outcome(engine, cfg, Window(day_of(day), day_of(day + 1)), f"kpi_{day}")


def kpi_table(engine: sa.Engine) -> list[tuple]:
    """Every stored KPI and KPI-correlation row (what a rerun must leave identical)."""
    query = (sa.select(mw_metric.c.window_start, mw_metric.c.check_name, mw_metric.c.feature,
                       mw_metric.c.slice, mw_metric.c.value, mw_metric.c.threshold,
                       mw_metric.c.status, mw_metric.c.details)
             .where(mw_metric.c.model_name == "kpi_demo",
                    mw_metric.c.check_name.in_(["kpi", "kpi_correlation"]))
             .order_by(mw_metric.c.window_start, mw_metric.c.check_name, mw_metric.c.feature,
                       mw_metric.c.slice))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def by_day(rows: list[tuple], check: str, feature: str, slice_key: str = "all") -> dict[int, tuple]:
    return {(r[0] - START).days + 1: r for r in rows
            if r[1] == check and r[2] == feature and r[3] == slice_key}


@pytest.fixture(scope="module")
def data():
    return frames()


def run_all(url: str, data) -> tuple[sa.Engine, list[tuple]]:
    engine = seed(url, data)
    cfg = kpi_cfg()
    for day in RUN_DAYS:
        run(engine, cfg, day)
    return engine, kpi_table(engine)


@pytest.fixture(scope="module")
def duck(data, tmp_path_factory):
    engine, rows = run_all(f"duckdb:///{tmp_path_factory.mktemp('kpi') / 'w.duckdb'}", data)
    yield engine, rows
    engine.dispose()


def _details(raw) -> dict:
    import json

    return raw if isinstance(raw, dict) else json.loads(raw)


def test_a_real_drop_alerts_and_the_weekly_pattern_does_not(duck) -> None:
    _, rows = duck
    for slice_key in ("all", "segment=EU"):
        ctr = by_day(rows, "kpi", "ctr", slice_key)
        assert sorted(ctr) == list(range(1, DAYS + 1))
        flagged = {d for d, r in ctr.items() if r[6] in ("warn", "alert")}
        assert flagged == set(range(DROP_DAY, DAYS + 1)), (slice_key, sorted(flagged))
        assert all(ctr[d][6] == "alert" for d in flagged)
        # judged from the fourth week on (three earlier same weekdays), never before
        for d, r in ctr.items():
            details = _details(r[7])
            assert details["judged"] is (d >= 22), (d, details)
            if not details["judged"]:
                assert "min_history=3" in details["reason"]
        drop = _details(ctr[DROP_DAY][7])
        assert drop["history_windows"] == 4 and drop["seasonal"] == "weekday"
        assert [h[0][:10] for h in drop["history"]] == [
            f"{day_of(d):%Y-%m-%d}" for d in (DROP_DAY - 28, DROP_DAY - 21, DROP_DAY - 14,
                                               DROP_DAY - 7)]
        assert ctr[DROP_DAY][5] == pytest.approx(drop["alert_threshold"])
        assert ctr[DROP_DAY][4] < ctr[DROP_DAY][5] < drop["history_center"]


def test_a_spike_alerts_once_and_noise_stays_ok(duck) -> None:
    _, rows = duck
    refund = by_day(rows, "kpi", "refund_rate")
    flagged = {d: r[6] for d, r in refund.items() if r[6] != "ok"}
    assert flagged == {SPIKE_DAY: "alert"}
    judged = [d for d, r in refund.items() if _details(r[7])["judged"]]
    assert judged == list(range(8, DAYS + 1))  # min_history 7 of the previous 14 days
    spike = _details(refund[SPIKE_DAY][7])
    assert spike["history_windows"] == 14 and spike["adverse_move"] > 0
    assert spike["move_in_spreads"] > spike["k_alert"]
    # the spike is in the history of the next days, and the robust band ignores it
    assert _details(refund[SPIKE_DAY + 1][7])["history_spread"] < 0.002


def test_correlations_match_scipy_on_the_stored_series(duck) -> None:
    _, rows = duck
    ctr = {d: r[4] for d, r in by_day(rows, "kpi", "ctr").items()}
    corr = by_day(rows, "kpi_correlation", "ctr~label_mean")
    stored_mean = {(r[0] - START).days + 1: r[1] for r in
                   _metric_rows(duck[0], "label_mean")}
    last = corr[DAYS]
    details = _details(last[7])
    days = [d for d in range(DAYS - 13, DAYS + 1) if stored_mean.get(d) is not None]
    assert details["n"] == len(days) >= 5
    x, y = [ctr[d] for d in days], [stored_mean[d] for d in days]
    assert last[4] == pytest.approx(stats.pearsonr(x, y).statistic, abs=1e-12)
    assert details["spearman"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
    assert details["pearson_p"] == pytest.approx(stats.pearsonr(x, y).pvalue, rel=1e-6)
    assert last[4] < -0.8  # the KPI drops as the target rises
    assert corr[3][6] == "skipped" and "min_windows=5" in _details(corr[3][7])["reason"]
    assert "ctr~mae" in {r[2] for r in rows if r[1] == "kpi_correlation"}


def _metric_rows(engine: sa.Engine, check: str) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(mw_metric.c.window_start, mw_metric.c.value).where(
            mw_metric.c.model_name == "kpi_demo", mw_metric.c.check_name == check,
            mw_metric.c.slice == "all")))


# details every outcome row carries about the run that wrote it (as of when, label maturity)
RUN_KEYS = {"as_of", "label_maturity", "mature", "matures_at", "rows", "labelled_rows",
            "label_coverage"}


def judgement(rows: list[tuple]) -> list[tuple]:
    """The KPI rows' judgement: value, threshold, status and every detail but the run's."""
    return [(*r[:7], sorted((k, str(v)) for k, v in _details(r[7]).items() if k not in RUN_KEYS))
            for r in rows if r[1] == "kpi"]


def test_rerun_of_a_window_gives_identical_rows(duck) -> None:
    engine, before = duck
    cfg = kpi_cfg()
    run(engine, cfg, DAYS)  # the same run again
    assert kpi_table(engine) == before
    for day in (DROP_DAY, 28, DAYS):  # reruns and backfills, in an order no scheduler would use
        run(engine, cfg, day)
    after = kpi_table(engine)
    assert len(after) == len(before)
    assert len({r[:4] for r in after}) == len(after)  # no duplicate keys
    # a KPI's judgement reads only earlier windows' stored KPI values: whatever the order of the
    # runs, every window is judged the same (the metrics a correlation reads do depend on the as-of
    # of the run that last wrote them: labels mature)
    assert judgement(after) == judgement(before)


@pytest.mark.postgres
def test_postgres_matches_duckdb(pg_url, data, duck) -> None:
    engine, rows = run_all(pg_url, data)
    try:
        def comparable(rs):
            return [(r[0], r[1], r[2], r[3], r[6],
                     None if r[4] is None else round(r[4], 9),
                     None if r[5] is None else round(r[5], 9)) for r in rs]
        assert comparable(rows) == comparable(duck[1])
    finally:
        engine.dispose()
