"""run_data_layer end to end on tiny DuckDB tables: exact values, one transaction, reruns."""

from __future__ import annotations

import numpy as np
import sqlalchemy as sa

from modelwatch.data_layer import CHECK_NAMES, run_data_layer
from modelwatch.warehouse.tables import mw_metric
from tests.unit.data_layer.tiny import AS_OF, WINDOW, metric, rows, seed, tiny_cfg


def run(engine, profile, cfg=None, **kw):
    return run_data_layer(engine, cfg or tiny_cfg(), profile, WINDOW, "run1", as_of=AS_OF, **kw)


def test_a_window_like_the_reference_flags_nothing(duck) -> None:
    profile = seed(duck)
    result = run(duck, profile)
    flagged = [(r.check_name, r.feature, r.details.get("message"))
               for r in result if r.status in ("warn", "alert")]
    assert flagged == []
    assert {r.check_name for r in result} == set(CHECK_NAMES)
    assert metric(result, "silent_default_share", "visits").value == 0.0
    assert metric(result, "volume_vs_weekday").value == 0.0
    assert all(r.layer == "data" and "message" in r.details for r in result)


def test_silent_default_is_named_with_its_value_and_share(duck) -> None:
    window = rows(8, 60)
    window.loc[:23, "amount"] = 0.0  # 24 of 60 rows = 40 %
    profile = seed(duck, window)
    row = metric(run(duck, profile), "silent_default_share", "amount")
    assert row.status == "alert"
    assert row.value == 0.4
    assert row.details["value"] == 0.0 and row.details["reference_share"] == 0.0
    assert "amount silently defaulted to 0 in 40.0% of rows" in row.details["message"]


def test_default_to_the_reference_mean_and_a_categorical_constant(duck) -> None:
    cfg = tiny_cfg({"defaulting": {"categorical_constants": ["", "unknown"]}})
    window = rows(8, 60)
    window.loc[:29, "amount"] = 20.0 + 1e-9  # reference mean of 10.5 .. 29.5 is 20.0
    window.loc[:14, "channel"] = "unknown"
    profile = seed(duck, window, cfg=cfg)
    result = run(duck, profile, cfg)
    amount, channel = metric(result, "silent_default_share", "amount"), metric(result, "silent_default_share",
                                                                                "channel")
    assert amount.details["constant"] == "mean" and amount.value == 0.5 and amount.status == "alert"
    assert "the reference mean 20" in amount.details["message"]
    assert channel.details["value"] == "unknown" and channel.value == 0.25 and channel.status == "alert"


def test_a_constant_common_in_the_reference_is_judged_by_its_increase(duck) -> None:
    window = rows(8, 60)
    window.loc[:8, "visits"] = 0.0  # 0 was 20 % (12 of 60); now 12 + 7 of 60 (rows 1..4, 6..8 were not 0)
    profile = seed(duck, window)
    row = metric(run(duck, profile), "silent_default_share", "visits")
    assert row.details["window_share"] == 19 / 60
    assert row.details["reference_share"] == 0.2
    assert row.value == 19 / 60 - 0.2
    # +7 of 60 rows is 2 standard errors: within chance at this size, whatever the 0.1 level says
    assert row.status == "ok" and row.details["level_basis"] == "sampling_error"
    assert row.details["rows"] == 60 and 0.04 < row.details["sampling_error"] < 0.07

    window.loc[:40, "visits"] = 0.0  # now 41 of 60: far beyond chance, but no sign of a fill
    profile = seed(duck, window)
    shifted = metric(run(duck, profile), "silent_default_share", "visits")
    assert shifted.status == "ok" and shifted.details["diagnosis"] == "population_shift"
    assert shifted.details["judged_status"] == "alert"  # what the level alone said
    assert "a population change, reported by the drift checks" in shifted.details["message"]

    window.loc[:, "visits"] = 0.0  # every row: a fill
    profile = seed(duck, window)
    filled = metric(run(duck, profile), "silent_default_share", "visits")
    assert filled.status == "alert" and filled.details["diagnosis"] == "fill"
    assert set(filled.details["evidence"]) == {"near_total"}


def test_out_of_range_share_counts_values_beyond_p1_p99_with_margin(duck) -> None:
    window = rows(8, 60)
    window.loc[:5, "amount"] = 1000.0  # 6 of 60
    profile = seed(duck, window)
    row = metric(run(duck, profile), "out_of_range_share", "amount")
    assert row.value == 0.1
    assert row.status == "warn"
    assert row.details["low"] < 10.5 and row.details["high"] > 29.5


def test_volume_is_compared_with_the_same_weekday(duck) -> None:
    profile = seed(duck, rows(8, 15))  # Monday: 15 rows vs 60 on the reference Monday
    row = metric(run(duck, profile), "volume_vs_weekday")
    assert row.value == 0.75 and row.status == "alert"
    assert row.details["baseline"] == "weekday Monday" and row.details["expected_rows"] == 60


def test_rows_are_written_once_and_a_rerun_replaces_them(duck) -> None:
    profile = seed(duck)
    first = run(duck, profile)
    second = run(duck, profile)
    with duck.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(mw_metric)).scalar_one()
        runs = conn.execute(sa.select(mw_metric.c.run_id).distinct()).scalars().all()
    assert stored == len(first) == len(second)
    assert runs == ["run1"]


def test_stale_expectation_rows_of_the_window_are_removed(duck) -> None:
    from datetime import datetime

    profile = seed(duck)
    with duck.begin() as conn:
        conn.execute(sa.insert(mw_metric).values(
            run_id="old", model_name="tiny", model_version="v1", window_start=WINDOW.start,
            window_end=WINDOW.end, layer="data", check_name="expect_gone", feature="amount", slice="all",
            value=1.0, threshold=1.0, status="alert", details={}, computed_at=datetime(2026, 1, 1)))
    run(duck, profile)
    with duck.connect() as conn:
        left = conn.execute(sa.select(mw_metric.c.check_name).where(
            mw_metric.c.check_name == "expect_gone")).all()
    assert left == []


def test_disabled_layer_writes_nothing(duck) -> None:
    profile = seed(duck)
    assert run(duck, profile, tiny_cfg({"enabled": False})) == []


def test_reference_baseline_is_cached_once(duck) -> None:
    from modelwatch.warehouse.tables import mw_reference_profile

    profile = seed(duck)
    run(duck, profile)
    run(duck, profile)
    with duck.connect() as conn:
        keys = conn.execute(sa.select(mw_reference_profile.c.profile_key)).scalars().all()
    assert len(keys) == 2 and sum(k.startswith("data_layer:") for k in keys) == 1
    assert np.isclose(profile.data["numeric"]["amount"]["mean"], 20.0)


def test_flagged_rows_become_readable_alerts(duck) -> None:
    """Every warn/alert row carries a number and a threshold, and the alerting module reads them."""
    from modelwatch.alerts import alerts_from_metrics

    window = rows(8, 15)
    window.loc[:, "amount"] = 0.0
    profile = seed(duck, window)
    few = run(duck, profile)  # 15 values: too few to judge defaulting by default
    assert metric(few, "silent_default_share", "amount").details["condition"] == "too_few_rows"
    result = run(duck, profile, tiny_cfg({"defaulting": {"min_rows": 10}}))
    flagged = [r for r in result if r.status in ("warn", "alert")]
    assert {r.check_name for r in flagged} >= {"silent_default_share", "volume_vs_weekday"}
    assert all(isinstance(r.value, float) and isinstance(r.threshold, float) for r in flagged)
    alerts = alerts_from_metrics(tiny_cfg(), flagged, WINDOW.start, WINDOW.end)
    text = " ".join(f"{a.title} {a.summary}" for a in alerts)
    assert alerts and "amount" in text and "silent_default_share" in text
