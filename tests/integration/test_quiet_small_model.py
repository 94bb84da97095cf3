"""A quiet model with small windows stays quiet: at most one notification per model-month.

A few hundred predictions a day (300) with a weekly pattern in volume and channel mix, delayed
labels, and nothing wrong, run window by window through ``run_window`` (every layer, alerts and
decisions, as ``modelwatch run`` does) for four weeks after a four-week reference. Counted: the
alert episodes an owner is told of (severity ``notify`` or ``page``) and the decisions. Small
windows are where constant levels page on noise (evidently#50, alibi-detect#646, whylogs#684).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import mw_alert, mw_decision
from modelwatch.window import Window
from tests.monitors import small_monitor

START = datetime(2026, 2, 2)  # a Monday
REFERENCE_DAYS, MONITORED_DAYS = 28, 28
ROWS = 300


def _cfg() -> MonitorConfig:
    return small_monitor(
        [("amount", "numeric"), ("age", "numeric"), ("visits", "numeric"),
         ("channel", "categorical")], START, START + timedelta(days=REFERENCE_DAYS),
        name="small", labels={"delay": "3d"}, shadow={"enabled": False},
        data_layer={"great_expectations": {"enabled": False}})


def _tables(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames, labels = [], []
    for day in range(REFERENCE_DAYS + MONITORED_DAYS):
        weekend = (START + timedelta(days=day)).weekday() >= 5
        n = int(ROWS * (0.6 if weekend else 1.0))
        ts = pd.Timestamp(START + timedelta(days=day)) + pd.to_timedelta(
            rng.uniform(0, 86400, n), unit="s")
        amount = rng.lognormal(3.0, 0.8, n)
        age = rng.normal(40, 12, n)
        visits = rng.poisson(3.0, n).astype(float)
        channel = rng.choice(["app", "web", "pos"], n, p=[0.6, 0.3, 0.1] if weekend
                             else [0.45, 0.4, 0.15])
        logit = -1.0 + 0.6 * (np.log(amount) - 3.0) + 0.03 * (age - 40)
        truth = rng.random(n) < 1 / (1 + np.exp(-logit))
        score = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.8, n))))
        ids = [f"d{day}-{i}" for i in range(n)]
        frames.append(pd.DataFrame({"request_id": ids, "event_ts": ts, "model_name": "small",
                                    "model_version": "v1", "score": score, "amount": amount,
                                    "age": age, "visits": visits, "channel": channel}))
        labels.append(pd.DataFrame({"request_id": ids, "label": truth.astype(int),
                                    "label_ts": ts + pd.Timedelta(days=2)}))
    return pd.concat(frames), pd.concat(labels)


def test_a_quiet_small_model_notifies_at_most_once_a_month(tmp_path, monkeypatch):
    from modelwatch.runner import run_window

    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    monkeypatch.setenv("MODELWATCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MODELWATCH_SLACK_TOKEN", raising=False)
    engine = engine_for_url(url)
    predictions, labels = _tables(np.random.default_rng(5))
    load_frame(engine, "predictions", predictions)
    load_frame(engine, "labels", labels)
    cfg = _cfg()
    for day in range(REFERENCE_DAYS, REFERENCE_DAYS + MONITORED_DAYS):
        window = Window(START + timedelta(days=day), START + timedelta(days=day + 1))
        run_window(cfg, window, f"quiet-{day}")
    with engine.connect() as conn:
        told = conn.execute(sa.select(mw_alert.c.fingerprint, mw_alert.c.title).where(
            mw_alert.c.severity.in_(("notify", "page")), mw_alert.c.status != "resolved")).all()
        decisions = dict(conn.execute(sa.select(mw_decision.c.decision, sa.func.count())
                                      .group_by(mw_decision.c.decision)).all())
    episodes = {fp: title for fp, title in told}
    assert len(episodes) <= 1, sorted(episodes.values())
    assert set(decisions) <= {"healthy", "alert_only"} and decisions.get("healthy", 0) >= 27
