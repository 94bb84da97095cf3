"""Bad input: each case gives a named condition or check and a readable message, never a crash."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from modelwatch.data_layer import run_data_layer
from modelwatch.runner import Window
from modelwatch.warehouse.tables import mw_metric
from tests.unit.data_layer.tiny import AS_OF, START, WINDOW, metric, rows, seed, tiny_cfg


def run(engine, profile, window=WINDOW, as_of=AS_OF):
    return run_data_layer(engine, tiny_cfg(), profile, window, "bad", as_of=as_of)


def test_empty_window(duck) -> None:
    profile = seed(duck, rows(8, 0))
    result = run(duck, profile)
    for feature in ("amount", "visits", "channel"):
        row = metric(result, "silent_default_share", feature)
        assert (row.status, row.details["condition"]) == ("skipped", "empty_window")
    assert metric(result, "out_of_range_share", "amount").details["condition"] == "empty_window"
    volume = metric(result, "volume_vs_weekday")
    assert (volume.status, volume.value) == ("alert", 1.0)
    assert "the window is empty" in volume.details["message"]
    assert metric(result, "skew_mismatch_rate", "amount").details["condition"] == "empty_window"
    assert metric(result, "duplicate_request_id_share").details["condition"] == "empty_window"


def test_all_null_column(duck) -> None:
    window = rows(8, 60)
    window["amount"] = np.nan
    profile = seed(duck, window)
    result = run(duck, profile)
    for check in ("silent_default_share", "out_of_range_share", "non_finite_share"):
        row = metric(result, check, "amount")
        assert (row.status, row.details["condition"]) == ("skipped", "all_null"), check
        assert "every value is null" in row.details["message"]
    assert metric(result, "silent_default_share", "visits").status == "ok"  # the others go on


def test_nan_and_inf_values(duck) -> None:
    profile = seed(duck)
    with duck.begin() as conn:  # pandas NaN loads as NULL in DuckDB: write the specials in SQL
        conn.execute(sa.text("UPDATE predictions SET amount = CAST('NaN' AS DOUBLE) "
                             "WHERE request_id IN ('d8_0', 'd8_1')"))
        conn.execute(sa.text("UPDATE predictions SET amount = CAST('Infinity' AS DOUBLE) "
                             "WHERE request_id = 'd8_2'"))
        conn.execute(sa.text("UPDATE predictions SET amount = CAST('-Infinity' AS DOUBLE) "
                             "WHERE request_id = 'd8_3'"))
    result = run(duck, profile)
    row = metric(result, "non_finite_share", "amount")
    assert row.value == 4 / 60 and row.status == "alert"
    assert "4 NaN/inf values" in row.details["message"]
    # specials are left out of the shares instead of poisoning them
    assert metric(result, "out_of_range_share", "amount").details["values"] == 56
    assert metric(result, "out_of_range_share", "amount").value == 0.0
    assert metric(result, "silent_default_share", "amount").details["values"] == 56
    # the offline store has the true values: 4 mismatches out of 60 (sample rate 1 for the check)
    skew = run_data_layer(duck, tiny_cfg({"skew": {"sample_rate": 1}}), profile, WINDOW, "bad", as_of=AS_OF)
    assert metric(skew, "skew_mismatch_rate", "amount").details["mismatches"] == 4
    assert metric(skew, "skew_mean_abs_diff", "amount").details["pairs"] == 56


def test_duplicate_request_ids(duck) -> None:
    window = rows(8, 60)
    window.loc[50:59, "request_id"] = "d8_0"  # 10 rows repeat one id
    profile = seed(duck, window)
    result = run_data_layer(duck, tiny_cfg({"skew": {"sample_rate": 1}}), profile, WINDOW, "bad",
                            as_of=AS_OF)
    row = metric(result, "duplicate_request_id_share")
    assert row.value == 10 / 60 and row.status == "alert"
    assert row.details["distinct_request_ids"] == 50
    assert "10 rows repeat a request id" in row.details["message"]
    skew = metric(result, "skew_mismatch_rate", "amount")
    assert skew.details["ambiguous_requests"] == 1  # d8_0: 11 online × 11 offline rows
    assert skew.details["compared_requests"] == 49 and skew.value == 0.0


def test_timestamps_in_the_future(duck) -> None:
    window = rows(8, 60)
    later = rows(30, 5, prefix="future_")
    profile = seed(duck, __import__("pandas").concat([window, later], ignore_index=True))
    as_of = START + timedelta(days=20)  # day 30 is after the run's clock
    row = metric(run(duck, profile, as_of=as_of), "future_event_rows")
    assert (row.value, row.status) == (5.0, "alert")
    assert "5 rows stamped after the run's clock" in row.details["message"]


def test_a_window_that_has_not_ended_is_not_judged_on_volume(duck) -> None:
    profile = seed(duck)
    as_of = WINDOW.start + timedelta(hours=6)
    row = metric(run(duck, profile, as_of=as_of), "volume_vs_weekday")
    assert (row.status, row.details["condition"]) == ("skipped", "window_not_closed")


def test_high_cardinality_categorical(duck) -> None:
    window = rows(8, 60)
    window["channel"] = [f"c{k}" for k in range(60)]  # every value new
    profile = seed(duck, window)
    row = metric(run(duck, profile), "silent_default_share", "channel")
    assert row.status == "ok"


def test_reference_with_no_rows_of_the_window_weekday(duck) -> None:
    profile = seed(duck, rows(15, 60))  # a Monday one week later: still compared with Mondays
    row = metric(run_data_layer(duck, tiny_cfg(), profile, Window(START + timedelta(days=14),
                 START + timedelta(days=15)), "bad", as_of=AS_OF), "volume_vs_weekday")
    assert row.details["baseline"] == "weekday Monday" and row.value == 0.0


def test_a_crash_before_the_write_leaves_the_previous_rows(duck, monkeypatch) -> None:
    profile = seed(duck)
    before = run(duck, profile)
    import modelwatch.data_layer.integrity as integrity

    def broken(*args, **kwargs):
        raise RuntimeError("warehouse went away")

    monkeypatch.setattr(integrity, "future_rows", broken)
    with pytest.raises(RuntimeError, match="warehouse went away"):  # the crash really happens
        run(duck, profile)
    with duck.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(mw_metric)).scalar_one() == len(before)


def test_a_100k_cardinality_categorical_window(duck) -> None:
    """100,000 distinct values in one window: counted in the warehouse, bounded in memory and in
    what is stored (the profile keeps its top K; everything else folds into one bucket)."""
    window = rows(8, 100_000)
    window["channel"] = [f"c{k}" for k in range(100_000)]
    profile = seed(duck, window)
    result = run(duck, profile)
    assert metric(result, "silent_default_share", "channel").status == "ok"
    psi = metric(result, "skew_psi", "channel")  # online == offline: no skew, whatever the mix
    assert psi.value == 0.0 and psi.details["bins"] <= len(profile.data["categorical"]["channel"]
                                                           ["categories"]) + 1
    assert metric(result, "duplicate_request_id_share").value == 0.0


def test_a_reference_with_no_rows_is_a_named_terminal_error(duck) -> None:
    from modelwatch.errors import ReferenceError_
    from modelwatch.profile import ensure_profile
    from modelwatch.warehouse.load import load_frame
    from modelwatch.warehouse.tables import create_output_tables

    create_output_tables(duck)
    load_frame(duck, "predictions", rows(8, 60))  # traffic, but none in the reference window
    with pytest.raises(ReferenceError_) as err:
        ensure_profile(duck, tiny_cfg())
    assert err.value.terminal is True  # Airflow fails the task without retrying it
    assert "holds no rows of this model" in str(err.value) and "Fix:" in str(err.value)
