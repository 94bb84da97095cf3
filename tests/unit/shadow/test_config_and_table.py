"""The shadow config section, the log table, and the no-Airflow rule for the package."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from pydantic import ValidationError

from modelwatch.config.shadow import PromotionGate, ShadowSettings
from modelwatch.metrics import MetricRow
from modelwatch.shadow import shadow_table
from tests.unit.shadow.helpers import make_cfg


def test_defaults_keep_existing_monitor_files_valid(demo_cfg) -> None:
    assert demo_cfg.shadow == ShadowSettings()
    assert demo_cfg.shadow.gate.lookback == timedelta(days=7)
    assert demo_cfg.shadow.enabled and demo_cfg.shadow.canary_version is None


def test_durations_unknown_keys_and_order_are_checked() -> None:
    cfg = make_cfg(shadow={"max_log_skew": "30m", "gate": {"lookback": "2w", "auc_margin": 0.02}})
    assert cfg.shadow.max_log_skew == timedelta(minutes=30)
    assert cfg.shadow.gate.lookback == timedelta(weeks=2)
    with pytest.raises(ValidationError, match="auc_margn"):
        make_cfg(shadow={"gate": {"auc_margn": 0.02}})
    with pytest.raises(ValidationError, match="coverage_alert"):
        make_cfg(shadow={"coverage_warn": 0.9, "coverage_alert": 0.95})
    with pytest.raises(ValidationError, match="bootstrap_resamples"):
        make_cfg(shadow={"bootstrap_resamples": 10})


def test_every_field_is_described() -> None:
    for model in (ShadowSettings, PromotionGate):
        assert [n for n, f in model.model_fields.items() if not f.description] == []


def _row(check, value, status="ok", slice_="all", threshold=None, **details):
    return MetricRow("shadow", check, None, value, threshold, status, details, slice_)


def test_table_shows_sides_flags_gate_reasons_and_re_evaluations() -> None:
    cur = {"window_start": "2026-03-09T00:00:00", "window_end": "2026-03-10T00:00:00"}
    rows = [
        _row("shadow_coverage", 0.8, "alert", threshold=0.95),
        _row("latency_p99", 51.6, champion=38.7, challenger=51.6, measure="ms"),
        _row("shadow_coverage", 0.99, slice_="region=A", threshold=0.95),
        _row("auc_diff", -0.08, "warn", slice_="region=C", threshold=-0.02, ci_low=-0.12, ci_high=-0.05,
             **cur),
        _row("gate_coverage", 0.8, "alert", threshold=0.95, reason="challenger scored 80.00%",
             blocks_promotion=True),
        _row("promotion_gate", 0.0, "alert", threshold=1.0, champion_version="v1", challenger_version="v2",
             evidence_start="2026-03-02T00:00:00", evidence_end="2026-03-04T00:00:00",
             as_of="2026-03-10T00:00:00", **cur),
        _row("labelled_pairs", 750.0, paired=1000, window_start="2026-03-06T00:00:00",
             window_end="2026-03-07T00:00:00"),
        _row("auc_diff", 0.11, window_start="2026-03-06T00:00:00", ci_low=0.08, ci_high=0.14),
    ]
    text = shadow_table(rows)
    lines = text.splitlines()
    assert lines[0].startswith("shadow comparison, window 2026-03-09 00:00")
    assert "v1 vs challenger v2" in lines[0]
    assert any(line.startswith("latency_p99") and "38.7" in line and "51.6" in line for line in lines)
    assert any(line.startswith("auc_diff") and "region=C" in line and "[-0.1200, -0.0500]" in line
               for line in lines)
    assert not any("region=A" in line for line in lines)  # ok slice rows are counted, not listed
    assert "(1 more slice rows, none flagged" in text
    assert "promotion gate: FAIL" in text and "[x] coverage: challenger scored 80.00%" in text
    assert "2026-03-06 00:00 → 2026-03-07 00:00; 750 labelled / 1000 paired; AUC diff +0.1100" in text
    assert shadow_table([]).startswith("shadow: no rows")


def test_shadow_package_imports_no_airflow() -> None:
    code = ("import sys\nimport modelwatch.shadow\nimport modelwatch.config.shadow\n"
            "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
