"""Label classes (``labels.positive``/``negative``) and names with spaces, at config load; the
one label expression (``warehouse/source.label_value``) per label kind, on DuckDB."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from modelwatch.config.identifiers import check_identifier
from modelwatch.config.schema import LabelSpec
from modelwatch.warehouse.source import label_value, labels_ref


def test_positive_needs_negative_and_the_other_way_round() -> None:
    assert LabelSpec(positive="yes", negative=["no"]).positive == "yes"
    with pytest.raises(ValidationError, match="needs labels.negative"):
        LabelSpec(positive="yes")
    with pytest.raises(ValidationError, match="without labels.positive"):
        LabelSpec(negative=["no"])
    with pytest.raises(ValidationError, match="also in labels.negative"):
        LabelSpec(positive="yes", negative=["yes", "no"])


def test_positive_is_for_binary_models(demo_cfg) -> None:
    from modelwatch.config.schema import MonitorConfig

    data = demo_cfg.model_dump(mode="python")
    data["labels"] = {"delay": demo_cfg.labels.delay, "positive": "yes", "negative": ["no"]}
    assert MonitorConfig.model_validate(data).labels.positive == "yes"
    data["model"] = {**data["model"], "task": "regression"}
    with pytest.raises(ValidationError, match="labels.positive is for binary models"):
        MonitorConfig.model_validate(data)


@pytest.mark.parametrize("name", ["Request ID", "label ts", "Amount USD", "a$b", "x-y", "_z"])
def test_inner_spaces_and_dollar_signs_are_names(name: str) -> None:
    assert check_identifier(name) == name


@pytest.mark.parametrize("name", ["a;b", 'a"b', " a", "a ", "1a", "a.b", "", "a" * 64])
def test_what_could_end_the_quoting_is_not_a_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a valid SQL name"):
        check_identifier(name)


@pytest.mark.parametrize("column_type, values, labels, expected", [
    ("INTEGER", [1, 0, None], {}, [1.0, 0.0, None]),
    ("DECIMAL(3, 1)", [1, 0, None], {}, [1.0, 0.0, None]),
    ("BOOLEAN", [True, False, None], {}, [1.0, 0.0, None]),
    ("VARCHAR", ["yes", "no", None, "maybe"], {"positive": "yes", "negative": ["no"]},
     [1.0, 0.0, None, None]),
])
def test_label_value_per_kind(demo_cfg, tmp_path, column_type, values, labels, expected) -> None:
    from modelwatch.warehouse.contract import type_family

    cfg = demo_cfg.model_copy(update={"labels": LabelSpec(**labels)})
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'labels.duckdb'}")
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE labels (request_id VARCHAR, label {column_type}, "
                             "label_ts TIMESTAMP)"))
        conn.execute(sa.text("INSERT INTO labels VALUES (:rid, :label, NULL)"),
                     [{"rid": str(i), "label": v} for i, v in enumerate(values)])
    tbl = labels_ref(cfg)
    query = sa.select(label_value(cfg, tbl, type_family(column_type))).order_by(
        tbl.c.request_id)
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(query)] == expected
