"""The two promotion stories the gate exists for, on small synthetic shadow deployments (DuckDB).

1. Better overall, worse on one segment: blocked, and the segment is named.
2. Simply better: blocked while too few labels have matured, passes from the first run whose
   evidence period holds enough labels — computed independently here with pandas.
"""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.runner import Window
from modelwatch.shadow import run_shadow, shadow_table
from modelwatch.warehouse.tables import mw_metric
from tests.unit.shadow.helpers import by_key, day, make_cfg, seed, synth


def window(d: int) -> Window:
    return Window(day(d), day(d + 1))


def test_better_overall_but_worse_on_one_segment_is_blocked_naming_it(duck_url) -> None:
    cfg = make_cfg(min_rows=200, delay="2d", shadow={"gate": {"lookback": "3d", "min_labelled": 1000}})
    frames = synth(days=6, rows_per_day=1500, quality={"A": (1.0, 1.8), "B": (1.0, 1.8), "C": (1.0, 0.1)},
                   shares={"A": 0.4, "B": 0.4, "C": 0.2}, label_delay_days=(0.2, 1.5), seed=11)
    engine = seed(duck_url, frames)
    rows = by_key(run_shadow(engine, cfg, window(6), "seg"))
    engine.dispose()

    assert rows[("gate_min_labelled", "all")].status == "ok"
    auc = rows[("gate_auc_noninferiority", "all")]
    assert auc.status == "ok" and auc.details["auc_diff"] > 0.02  # better overall
    slices = rows[("gate_no_slice_worse", "all")]
    assert slices.status == "warn" and slices.value == 1
    assert [w["slice"] for w in slices.details["worse"]] == ["region=C"]
    assert "region=C" in slices.details["reason"]
    gate = rows[("promotion_gate", "all")]
    assert gate.value == 0 and gate.status == "warn"
    assert gate.details["failing"] == ["no_slice_worse"]
    assert gate.details["failing_slices"] == ["region=C"]
    assert "region=C" in gate.details["reason"]
    assert "promotion gate: FAIL" in shadow_table(list(rows.values()))


def _expected_labelled(frames, cfg, w: Window) -> int:
    """Labelled paired requests in the gate's evidence period, by pandas."""
    end = w.end - cfg.labels.delay
    start = end - cfg.shadow.gate.lookback
    p = frames.predictions[(frames.predictions.event_ts >= start) & (frames.predictions.event_ts < end)]
    paired = p[p.request_id.isin(frames.shadow_predictions.request_id)]
    arrived = frames.labels[frames.labels.label_ts <= pd.Timestamp(w.end)]
    return int(paired.request_id.isin(arrived.request_id).sum())


def test_simply_better_passes_once_enough_labels_matured_and_not_before(duck_url) -> None:
    cfg = make_cfg(min_rows=100, delay="3d",
                   shadow={"gate": {"lookback": "2d", "min_labelled": 1500}, "bootstrap_resamples": 300})
    frames = synth(days=9, rows_per_day=1000, quality={"A": (0.8, 1.6), "B": (0.8, 1.6)},
                   label_delay_days=(0.5, 4.5), seed=5)
    engine = seed(duck_url, frames)
    verdicts, expected = [], []
    for d in range(1, 10):
        rows = by_key(run_shadow(engine, cfg, window(d), f"run{d}"))
        gate = rows[("promotion_gate", "all")]
        verdicts.append(gate.value == 1)
        labelled = _expected_labelled(frames, cfg, window(d))
        assert rows[("gate_min_labelled", "all")].value == labelled
        expected.append(labelled >= 1500)
        if gate.value == 0:
            assert "min_labelled" in gate.details["failing"], gate.details
    assert verdicts == expected, (verdicts, expected)
    assert verdicts[:4] == [False] * 4 and verdicts[-1] is True  # blocked first, then passes

    # window 2 was re-evaluated by the run whose window end is its maturity (day 2 end + 3 days)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(mw_metric.c.value, mw_metric.c.details).where(
            mw_metric.c.layer == "shadow", mw_metric.c.check_name == "labelled_pairs",
            mw_metric.c.window_start == day(2))).one()
    engine.dispose()
    details = stored.details if isinstance(stored.details, dict) else __import__("json").loads(stored.details)
    matured = day(3) + cfg.labels.delay
    assert details["mature"] is True and details["as_of"] == matured.isoformat()
    p = frames.predictions[(frames.predictions.event_ts >= day(2)) & (frames.predictions.event_ts < day(3))]
    arrived = frames.labels[frames.labels.label_ts <= pd.Timestamp(matured)]
    assert stored.value == pytest.approx(p.request_id.isin(arrived.request_id).sum())
