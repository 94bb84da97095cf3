"""The two promotion stories the gate exists for, on small synthetic shadow deployments (DuckDB).

1. Better overall, worse on one segment: blocked, and the segment is named.
2. Simply better: blocked while too few labels have matured, passes from the first run whose
   evidence period holds enough labels — computed independently here with pandas.
3. Identical to the champion: never promoted by default (``gate.mode: superior``), promoted in
   ``non_inferior`` mode (the old gate); ``min_gain`` and ``min_windows`` block as configured.
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
    auc = rows[("gate_auc_gain", "all")]
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


def _identical(frames):
    """The challenger logs exactly the champion's scores."""
    served = frames.predictions.set_index("request_id")["score"]
    frames.shadow_predictions["score"] = frames.shadow_predictions["request_id"].map(served).to_numpy()
    return frames


GATE = {"lookback": "2d", "min_labelled": 1000}


def test_identical_challenger_is_never_promoted_by_default(duck_url) -> None:
    cfg = make_cfg(min_rows=100, delay="3d", shadow={"gate": GATE})
    frames = _identical(synth(days=8, rows_per_day=1000, quality={"A": (1.0, 1.0), "B": (1.0, 1.0)},
                              label_delay_days=(0.5, 2.5), seed=3))
    engine = seed(duck_url, frames)
    for d in (7, 8):
        rows = by_key(run_shadow(engine, cfg, window(d), f"same{d}"))
        gain = rows[("gate_auc_gain", "all")]
        assert (gain.details["ci_low"], gain.details["ci_high"]) == (0.0, 0.0)
        assert gain.status == "warn" and gain.details["blocks_promotion"]
        assert "not significantly better" in gain.details["reason"]
        gate = rows[("promotion_gate", "all")]
        assert gate.value == 0 and gate.details["failing"] == ["auc_gain"], gate.details
        assert gate.details["mode"] == "superior"
        assert gate.details["interval"]["low"] == 0.0
    engine.dispose()


def test_non_inferior_mode_keeps_the_old_gate(duck_url) -> None:
    """The same identical challenger passes when non-inferiority is asked for explicitly."""
    cfg = make_cfg(min_rows=100, delay="3d", shadow={"gate": {**GATE, "mode": "non_inferior"}})
    frames = _identical(synth(days=8, rows_per_day=1000, quality={"A": (1.0, 1.0), "B": (1.0, 1.0)},
                              label_delay_days=(0.5, 2.5), seed=3))
    engine = seed(duck_url, frames)
    rows = by_key(run_shadow(engine, cfg, window(8), "noninf"))
    engine.dispose()
    assert ("gate_auc_gain", "all") not in rows
    noninf = rows[("gate_auc_noninferiority", "all")]
    assert noninf.status == "ok" and noninf.threshold == -0.01 and noninf.value == 0.0
    gate = rows[("promotion_gate", "all")]
    assert gate.value == 1 and gate.details["mode"] == "non_inferior", gate.details
    assert "[ok] auc_noninferiority: AUC diff +0.0000" in shadow_table(list(rows.values()))


def test_clearly_better_challenger_is_promoted_with_interval_and_windows_shown(duck_url) -> None:
    cfg = make_cfg(min_rows=100, delay="3d", shadow={"gate": GATE})
    frames = synth(days=8, rows_per_day=1000, quality={"A": (0.8, 1.6), "B": (0.8, 1.6)},
                   label_delay_days=(0.5, 2.5), seed=5)
    engine = seed(duck_url, frames)
    rows = by_key(run_shadow(engine, cfg, window(8), "better"))
    engine.dispose()
    gain = rows[("gate_auc_gain", "all")]
    assert gain.status == "ok" and gain.value > 0.05 and gain.threshold == 0.0
    assert gain.details["p_not_better"] < 1e-6
    gate = rows[("promotion_gate", "all")]
    assert gate.value == 1 and gate.status == "ok", gate.details
    assert gate.details["interval"]["method"] == "DeLong"
    assert gate.details["interval"]["low"] == gain.value
    # evidence [day 4, day 6): both windows labelled
    assert [w["window_start"] for w in gate.details["windows_used"]] == [
        day(4).isoformat(), day(5).isoformat()]
    assert rows[("gate_min_windows", "all")].value == 2


def test_a_gain_below_min_gain_or_too_few_windows_blocks(duck_url) -> None:
    frames = synth(days=8, rows_per_day=1000, quality={"A": (0.8, 1.6), "B": (0.8, 1.6)},
                   label_delay_days=(0.5, 2.5), seed=5)
    engine = seed(duck_url, frames)
    greedy = make_cfg(min_rows=100, delay="3d", shadow={"gate": {**GATE, "min_gain": 0.5}})
    rows = by_key(run_shadow(engine, greedy, window(8), "greedy"))
    assert rows[("promotion_gate", "all")].details["failing"] == ["auc_gain"]
    patient = make_cfg(min_rows=100, delay="3d", shadow={"gate": {**GATE, "min_windows": 3}})
    rows = by_key(run_shadow(engine, patient, window(8), "patient"))
    engine.dispose()
    windows = rows[("gate_min_windows", "all")]
    assert windows.status == "warn" and "lengthen gate.lookback" in windows.details["reason"]
    assert rows[("promotion_gate", "all")].details["failing"] == ["min_windows"]
