"""Monitor config validation: every shipped file is valid; every error is actionable."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from modelwatch.config import load_monitor
from modelwatch.config.loader import monitor_files
from modelwatch.errors import ConfigError
from tests.conftest import DEMO_YAML, PROJECT


@pytest.mark.parametrize("path", monitor_files(PROJECT / "include" / "monitors"), ids=str)
def test_every_shipped_monitor_is_valid(path: Path) -> None:
    cfg = load_monitor(path)
    assert cfg.dag_id == f"monitor_{cfg.model.name}"


def _write(tmp_path: Path, mutate) -> Path:
    raw = yaml.safe_load(DEMO_YAML.read_text())
    mutate(raw)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as info:
        load_monitor(path)
    return str(info.value)


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["schedule"].update(windw="1d"))
    message = _error(path)
    assert str(path) in message
    assert "schedule.windw" in message
    assert "'1d'" in message
    assert "Fix: remove it or fix its spelling" in message
    assert "window" in message.split("keys allowed here:")[1]


def test_bad_feature_kind_lists_choices(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["features"][2].update(kind="numerical"))
    message = _error(path)
    assert "features[2].kind" in message and "'numerical'" in message
    assert "'numeric'" in message and "'categorical'" in message


def test_url_in_url_env_is_refused_without_echoing_it_as_a_setting(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["warehouse"].update(
        url_env="postgresql://u:secret@db/x"))
    message = _error(path)
    assert "warehouse.url_env" in message
    assert "env var" in message


def test_sql_injection_in_a_column_name_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["features"].append(
        {"name": "amount; drop table predictions", "kind": "numeric"}))
    message = _error(path)
    assert "features[21].name" in message


def test_bad_cron_and_duration(tmp_path: Path) -> None:
    def mutate(raw):
        raw["schedule"]["cron"] = "every day"
        raw["schedule"]["window"] = "1 fortnight"

    message = _error(_write(tmp_path, mutate))
    assert "schedule.cron" in message and "schedule.window" in message
    assert "2 problem(s)" in message


def test_threshold_order_and_override_lookup(tmp_path: Path, demo_cfg) -> None:
    assert demo_cfg.thresholds.for_check("null_rate_increase", "session_seconds").alert == 0.08
    assert demo_cfg.thresholds.for_check("null_rate_increase", "amount").alert == 0.05
    assert demo_cfg.thresholds.for_check("psi", "amount").type == "calibrated"
    assert demo_cfg.thresholds.for_check("row_count_change").warn == 0.3
    path = _write(tmp_path, lambda raw: raw["thresholds"]["defaults"].update(
        psi={"type": "constant", "warn": 0.5, "alert": 0.2}))
    assert "must not exceed alert" in _error(path)
    path = _write(tmp_path, lambda raw: raw["thresholds"]["defaults"].update(
        psi={"type": "weekly"}))
    message = _error(path)
    assert "thresholds.defaults.psi" in message
    assert "'constant', 'calibrated', 'seasonal'" in message


def test_unknown_drift_method_lists_registered_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw["drift"].update(numeric_methods=["psi", "kss"]))
    message = _error(path)
    assert "['kss']" in message and "'ks'" in message and "'wasserstein'" in message


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  name: x\n   task: binary\n")
    message = _error(path)
    assert "line 3" in message and "Fix:" in message


def test_missing_required_section(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda raw: raw.pop("owners"))
    message = _error(path)
    assert "key `owners`" in message and "(missing)" in message


def _ranking(raw: dict, **columns) -> None:
    raw["model"]["task"] = "ranking"
    raw["columns"].update(columns)


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda raw: _ranking(raw), ["columns.item", "item: item_id"]),
    (lambda raw: _ranking(raw, item="request_id"),
     ["columns.item='request_id' is also columns.request_id"]),
    (lambda raw: _ranking(raw, item="item_id", rank="item_id"),
     ["columns.rank='item_id' is also columns.item", "remove columns.rank"]),
    (lambda raw: raw["columns"].update(item="item_id"),
     ["columns.item='item_id' is for ranking models (model.task: binary)", "remove it"]),
    (lambda raw: raw["columns"].update(rank="pos"), ["columns.rank='pos' is for ranking"]),
    (lambda raw: (_ranking(raw, item="item_id"), raw.setdefault("outcome", {}).update(
        ranking={"k": 0})), ["outcome.ranking.k", "0"]),
])
def test_ranking_columns_are_checked(tmp_path: Path, mutate, expected) -> None:
    message = _error(_write(tmp_path, mutate))
    for part in expected:
        assert part in message, message


def test_a_ranking_monitor_is_valid(tmp_path: Path) -> None:
    cfg = load_monitor(_write(tmp_path, lambda raw: _ranking(raw, item="item_id", rank="pos")))
    assert (cfg.columns.item, cfg.columns.rank, cfg.outcome.ranking.k) == ("item_id", "pos", 10)


def test_alert_reminder_cooldown_is_read_and_checked(tmp_path: Path) -> None:
    def set_reminder(value):
        return lambda raw: raw.setdefault("alerting", {}).update(reminder_after=value)

    cfg = load_monitor(_write(tmp_path, set_reminder("2d")))
    assert cfg.alerting.reminder_after.days == 2
    message = _error(_write(tmp_path, set_reminder("0m")))
    assert "alerting.reminder_after" in message and "must be positive" in message


def test_ks_exact_max_rows_defaults_and_is_bounded(tmp_path: Path, demo_cfg) -> None:
    assert demo_cfg.drift.ks_exact_max_rows == 5000
    off = load_monitor(_write(tmp_path, lambda raw: raw["drift"].update(ks_exact_max_rows=0)))
    assert off.drift.ks_exact_max_rows == 0
    for bad in (-1, 1_000_000, "many"):
        path = _write(tmp_path, lambda raw, bad=bad: raw["drift"].update(ks_exact_max_rows=bad))
        message = _error(path)
        assert str(path) in message and "drift.ks_exact_max_rows" in message
        assert repr(bad) in message and "Fix:" in message


def _s3_reference(raw: dict, **reference) -> None:
    raw["reference"] = {"model_version": "v1", **reference}


def test_an_s3_reference_is_valid(tmp_path: Path) -> None:
    cfg = load_monitor(_write(tmp_path, lambda raw: _s3_reference(
        raw, s3_uri="s3://ml-refs/fraud/v1/reference.parquet",
        s3_endpoint_url="http://127.0.0.1:9000", s3_region="eu-west-1")))
    assert cfg.reference.s3_uri == "s3://ml-refs/fraud/v1/reference.parquet"
    assert cfg.reference.staged and cfg.reference.table is None


@pytest.mark.parametrize(("reference", "key", "expected"), [
    ({"s3_uri": "https://ml-refs/ref.parquet"}, "reference.s3_uri", "is not an s3:// URI"),
    ({"s3_uri": "s3://ML_Refs/ref.parquet"}, "reference.s3_uri", "is not an S3 bucket name"),
    ({"s3_uri": "s3://ml-refs/"}, "reference.s3_uri", "names no object"),
    ({"s3_uri": "s3://ml-refs/ref.csv"}, "reference.s3_uri", "is not a .parquet file"),
    ({"s3_uri": "s3://ml-refs/ref.parquet", "table": "reference_rows"}, "reference",
     "keep exactly one"),
    ({"table": "reference_rows", "s3_region": "eu-west-1"}, "reference", "without `s3_uri`"),
    ({"s3_uri": "s3://ml-refs/ref.parquet", "s3_endpoint_url": "minio:9000"},
     "reference.s3_endpoint_url", "is not an endpoint URL"),
    ({}, "reference", "give one reference source"),
])
def test_bad_s3_reference_names_key_value_and_fix(tmp_path: Path, reference, key, expected) -> None:
    path = _write(tmp_path, lambda raw: _s3_reference(raw, **reference))
    message = _error(path)
    assert str(path) in message and f"key `{key}`" in message
    assert expected in message and "Fix:" in message
    if key != "reference":  # a field's own value is echoed
        assert repr(reference[key.removeprefix("reference.")]) in message
