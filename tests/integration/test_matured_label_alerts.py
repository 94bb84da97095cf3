"""Matured-label findings are alerted and decided on (issue #18, item 0), on the embedded DuckDB.

Concept drift in one segment: from day 12 the scores of ``region=north`` (20 % of traffic) stop
ranking its labels (AUC ≈ 0.80 → 0.5) while no feature moves. Labels mature 3 days after a window
ends, so the realized drop exists only from the run of day 15 on, and only under day 12's keys.
Each day runs the DAG's outcome, alerts and decide steps (``run_outcome``, ``deliver_alerts``,
``decide``) against the fake Slack server.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.alerting import SlackHook, deliver_alerts
from modelwatch.decisions import decide
from modelwatch.outcome import run_outcome
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables, mw_alert
from tests.fake_slack import FakeSlack
from tests.unit.outcome.task_configs import task_config

TOKEN = "xoxb-matured-labels-77"
START = datetime(2026, 9, 1)
DAYS, PER_DAY, COLLAPSE_DAY, DELAY_DAYS = 17, 1500, 12, 3
MATURES_IN = COLLAPSE_DAY + DELAY_DAYS  # the run whose as-of date matures day 12's labels


def day_of(day: int) -> datetime:
    return START + timedelta(days=day - 1)


def window(day: int) -> Window:
    return Window(day_of(day), day_of(day + 1))


def monitor():
    cfg = task_config("binary", score="score", prediction="prediction")
    return cfg.model_copy(update={
        "labels": cfg.labels.model_copy(update={"delay": timedelta(days=DELAY_DAYS)}),
        "reference": cfg.reference.model_copy(update={"start": day_of(1), "end": day_of(8)}),
        "slices": cfg.slices.model_copy(update={"min_rows": 150}),
        "outcome": cfg.outcome.model_copy(update={"lookback_windows": 8, "kpis": {}})})


def frames(seed: int = 18) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores that rank labels well (AUC ≈ 0.8) everywhere, except north from COLLAPSE_DAY."""
    rng = np.random.default_rng(seed)
    n = DAYS * PER_DAY
    day = np.repeat(np.arange(1, DAYS + 1), PER_DAY)
    ts = (pd.Timestamp(START) + pd.to_timedelta(day - 1, unit="D")
          + pd.to_timedelta(rng.uniform(0, 86_399, n), unit="s")).to_numpy()
    region = rng.choice(["north", "south", "east"], size=n, p=[0.2, 0.5, 0.3])
    label = (rng.random(n) < 0.2).astype(int)
    logit = -1.5 + 1.7 * label + rng.normal(0, 1, n)
    collapsed = (region == "north") & (day >= COLLAPSE_DAY)
    # same score distribution, no relation to the label: nothing upstream moves
    logit[collapsed] = rng.permutation(logit[collapsed])
    score = 1 / (1 + np.exp(-logit))
    preds = pd.DataFrame({"request_id": [f"r{i}" for i in range(n)], "event_ts": ts,
                          "model_name": "binary_demo", "model_version": "v1", "region": region,
                          "amount": rng.gamma(2.0, 30.0, n), "score": score,
                          "prediction": (score >= 0.5).astype(int)})
    labels = pd.DataFrame({"request_id": preds["request_id"], "label": label,
                           "label_ts": ts + pd.to_timedelta(rng.uniform(0, 2 * 86_400, n),
                                                            unit="s")})
    return preds, labels


@pytest.fixture(scope="module")
def data():
    return frames()


@pytest.fixture
def warehouse(duck_url, data):
    engine = engine_for_url(duck_url)
    create_output_tables(engine)
    load_frame(engine, "predictions", data[0])
    load_frame(engine, "labels", data[1])
    yield engine
    engine.dispose()


def run(engine, cfg, day: int, hook: SlackHook, run_id: str | None = None):
    """The DAG's outcome → alerts → decide steps for one day."""
    rid = run_id or f"scheduled__{day_of(day).isoformat()}+00:00"
    run_outcome(engine, cfg, window(day), rid)
    report = deliver_alerts(engine, cfg, window(day), rid, slack=hook)
    return report, decide(engine, cfg, window(day), rid)


def alerts(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(mw_alert).order_by(mw_alert.c.window_start, mw_alert.c.title)).mappings()]


def notified(engine) -> set[str]:
    """Titles of the causes whose owner got a message."""
    return {a["title"] for a in alerts(engine) if a["delivered_at"] is not None
            and a["slack_ts"] is not None}


def test_a_segments_auc_collapse_is_one_episode_from_the_run_that_matured_it(warehouse):
    cfg = monitor()
    north = "realized performance: region=north"
    with FakeSlack(token=TOKEN) as slack:
        hook = SlackHook(token=TOKEN, base_url=slack.base_url, backoff_factor=0.01)
        for day in range(COLLAPSE_DAY, MATURES_IN):  # collapsed, labels not yet mature
            _, decision = run(warehouse, cfg, day, hook)
            assert decision.action == "healthy", (day, decision.summary())
        assert slack.posts() == []

        report, decision = run(warehouse, cfg, MATURES_IN, hook)
        (post,) = slack.posts()  # one message, one new cause, in the run that matured day 12
        assert report.delivered == 1 and report.lines[0][:2] == ("sent", "new"), report.table()
        assert f"NEW · NOTIFY · {north} (" in post["text"]
        auc = next(line for line in post["text"].splitlines() if "roc_auc = " in line)
        assert "[region=north] for window 2026-09-12 (labels matured)" in auc
        assert float(auc.split("roc_auc = ")[1].split()[0]) < 0.62  # ≈0.5; reference ≈0.8
        assert [t.split(" (")[0] for t in notified(warehouse)] == [north]
        # the drop sits in a fifth of the traffic: the owner is told which slice, no retrain
        assert decision.action == "alert_only", decision.summary()
        assert "roc_auc on region=north (window 2026-09-12)" in decision.signals["matured labels"]

        before = sorted((a["alert_id"], a["status"], a["delivered_at"]) for a in alerts(warehouse))
        again, redecided = run(warehouse, cfg, MATURES_IN, hook, run_id="manual__rerun")
        assert sorted((a["alert_id"], a["status"], a["delivered_at"])
                      for a in alerts(warehouse)) == before
        assert len(slack.posts()) == 1 and (again.due, again.delivered) == (0, 0)
        assert redecided.action == decision.action

        # the next matured window shows it too: the same episode goes on, not a new one
        later, _ = run(warehouse, cfg, MATURES_IN + 1, hook)
        assert len(slack.posts()) == 1 and later.opened == 0 and later.delivered == 0
        rows = [a for a in alerts(warehouse) if a["title"].startswith(north)]
        assert [(a["window_start"].day, a["status"]) for a in rows] == [(15, "open"), (16, "open")]
        assert len({a["fingerprint"] for a in rows}) == 1
        assert "for windows 2026-09-12..2026-09-13 (labels matured)" in rows[-1]["summary"]
        (edit,) = slack.calls("chat.update")  # the announcement says it is still open
        assert "still open in window 2026-09-16" in edit.body["text"]
