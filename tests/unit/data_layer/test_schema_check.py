"""Schema changes are named per column, and the other checks go on for the columns that are fine."""

from __future__ import annotations

import sqlalchemy as sa

from modelwatch.data_layer import run_data_layer
from modelwatch.data_layer.schema_check import diff
from tests.unit.data_layer.tiny import AS_OF, WINDOW, metric, seed, tiny_cfg


def test_diff_names_missing_added_and_retyped_columns() -> None:
    d = diff({"a": "DOUBLE", "b": "VARCHAR", "c": "BIGINT"}, {"a": "DOUBLE", "c": "VARCHAR", "d": "DATE"})
    assert (d.missing, d.added, d.retyped) == (["b"], ["d"], {"c": ("BIGINT", "VARCHAR")})
    assert d.broken == {"b", "c"}


def test_schema_changes_after_the_reference(duck) -> None:
    profile = seed(duck)
    run_data_layer(duck, tiny_cfg(), profile, WINDOW, "before", as_of=AS_OF)  # stores the column types
    with duck.begin() as conn:
        conn.execute(sa.text("ALTER TABLE predictions DROP COLUMN visits"))
        conn.execute(sa.text("ALTER TABLE predictions ALTER COLUMN amount TYPE VARCHAR"))
        conn.execute(sa.text("ALTER TABLE predictions ADD COLUMN debug_flag INTEGER"))
    result = run_data_layer(duck, tiny_cfg(), profile, WINDOW, "after", as_of=AS_OF)
    missing, retyped, added = (metric(result, "schema", c) for c in ("visits", "amount", "debug_flag"))
    assert (missing.status, missing.details["change"]) == ("alert", "missing")
    assert "column visits is missing from predictions" in missing.details["message"]
    assert (retyped.status, retyped.details["change"]) == ("alert", "type_changed")
    assert retyped.details["reference_type"] == "DOUBLE" and retyped.details["live_type"] == "VARCHAR"
    assert "changed type from DOUBLE to VARCHAR" in retyped.details["message"]
    assert (added.status, added.details["change"]) == ("warn", "added")
    for feature in ("visits", "amount"):
        row = metric(result, "silent_default_share", feature)
        assert (row.status, row.details["condition"]) == ("skipped", "schema_changed")
        assert metric(result, "skew_mismatch_rate", feature).details["condition"] == "schema_changed"
    assert metric(result, "silent_default_share", "channel").status == "ok"  # the rest goes on
    assert metric(result, "skew_mismatch_rate", "channel").status == "ok"
    assert metric(result, "volume_vs_weekday").status == "ok"


def test_a_missing_key_column_skips_everything_but_schema(duck) -> None:
    profile = seed(duck)
    run_data_layer(duck, tiny_cfg(), profile, WINDOW, "before", as_of=AS_OF)
    with duck.begin() as conn:
        conn.execute(sa.text("ALTER TABLE predictions RENAME COLUMN request_id TO req_id"))
    result = run_data_layer(duck, tiny_cfg(), profile, WINDOW, "after", as_of=AS_OF)
    assert metric(result, "schema", "request_id").status == "alert"
    assert metric(result, "volume_vs_weekday").details["condition"] == "schema_changed"
    assert {r.status for r in result if r.check_name != "schema"} == {"skipped"}
