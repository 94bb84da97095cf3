"""Decision rules: sustained signals, vetoes, cooldowns and priority, on synthetic histories."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelwatch.decisions.engine import Signal, default_rules, evaluate

DAY = timedelta(days=1)
D0 = datetime(2026, 9, 20)


def drift(feature: str, status: str = "alert", version: str = "v1") -> Signal:
    return Signal("data", "psi", feature, "all", status, version)


def score(status: str = "alert", version: str = "v1") -> Signal:
    return Signal("model", "score_psi", "score", "all", status, version)


SHIFT = [drift("distance_from_home_km"), drift("device_risk"), score()]  # importance .8, .7


@pytest.fixture
def cfg(demo_cfg):
    return demo_cfg


def test_drift_must_be_sustained_for_two_windows(cfg) -> None:
    one_day = {D0: SHIFT}
    assert evaluate(cfg, one_day, [], D0, DAY).action == "alert_only"
    two_days = {D0 - DAY: SHIFT, D0: SHIFT}
    decision = evaluate(cfg, two_days, [], D0, DAY)
    assert decision.action == "retrain" and decision.rule == "retrain_on_sustained_drift"
    assert decision.signals["data.psi>=alert on 2+ features"] == ["device_risk",
                                                                  "distance_from_home_km"]


def test_one_important_feature_or_unimportant_ones_do_not_retrain(cfg) -> None:
    few = [drift("distance_from_home_km"), drift("session_seconds"), score()]  # .8 and .2
    assert evaluate(cfg, {D0 - DAY: few, D0: few}, [], D0, DAY).action == "alert_only"


def test_broken_pipeline_vetoes_retraining(cfg) -> None:
    broken = SHIFT + [Signal("data", "silent_default_share", "avg_amount_30d", "all", "alert", "v1")]
    decision = evaluate(cfg, {D0 - DAY: broken, D0: broken}, [], D0, DAY)
    assert decision.action == "alert_only"


def test_cooldown_prevents_a_retrain_storm(cfg) -> None:
    history = {D0 - DAY: SHIFT, D0: SHIFT}
    past = [(D0 - 5 * DAY, "retrain_on_sustained_drift")]
    decision = evaluate(cfg, history, past, D0, DAY)
    assert decision.action == "alert_only"
    assert decision.suppressed[0]["rule"] == "retrain_on_sustained_drift"
    assert "cooldown" in decision.suppressed[0]["reason"]
    assert evaluate(cfg, history, [(D0 - 31 * DAY, "retrain_on_sustained_drift")], D0,
                    DAY).action == "retrain"


def test_bad_deploy_rolls_back_before_anything_else(cfg) -> None:
    history = {D0 - DAY: SHIFT, D0: [*(drift(f, version="v1.1") for f in
                                       ("distance_from_home_km", "device_risk")),
                                     score(version="v1.1")]}
    decision = evaluate(cfg, history, [], D0, DAY)
    assert decision.action == "rollback"
    assert decision.signals["model.version_changed>=alert"] == ["v1 -> v1.1"]


def test_promotion_gate_passing_twice_promotes(cfg) -> None:
    gate = [Signal("shadow", "promotion_gate", None, "all", "ok", "v1")]
    assert evaluate(cfg, {D0: gate}, [], D0, DAY).action == "healthy"
    assert evaluate(cfg, {D0 - DAY: gate, D0: gate}, [], D0, DAY).action == "promote"
    failing = [Signal("shadow", "promotion_gate", None, "all", "alert", "v1")]
    assert evaluate(cfg, {D0 - DAY: failing, D0: failing}, [], D0, DAY).action == "alert_only"


def test_without_a_retraining_target_retrain_is_suppressed(cfg) -> None:
    no_target = cfg.model_copy(update={"retraining": None})
    decision = evaluate(no_target, {D0 - DAY: SHIFT, D0: SHIFT}, [], D0, DAY)
    assert decision.action == "alert_only"
    assert "no `retraining` target" in decision.suppressed[0]["reason"]


def test_quiet_window_is_healthy_and_warns_alone_are_healthy(cfg) -> None:
    assert evaluate(cfg, {D0: [drift("amount", "warn")]}, [], D0, DAY).action == "healthy"
    assert [r.action for r in default_rules(cfg)] == ["rollback", "retrain", "retrain", "promote"]


@pytest.mark.parametrize("task, metric", [("regression", "mae"), ("multiclass", "macro_f1"),
                                          ("ranking", "ndcg_at_k")])
def test_the_default_retrain_rule_reads_the_tasks_own_performance_metric(cfg, task, metric):
    """Drift with a worse headline metric (and no score drift) retrains a non-binary model too."""
    other = cfg.model_copy(update={"model": cfg.model.model_copy(update={"task": task})})
    worse = Signal("outcome", metric, None, "all", "warn", "v1")
    shifted = [drift("distance_from_home_km"), drift("device_risk"), worse]
    assert evaluate(other, {D0 - DAY: shifted, D0: shifted}, [], D0, DAY).action == "retrain"
    auc_only = [drift("distance_from_home_km"), drift("device_risk"),
                Signal("outcome", "roc_auc", None, "all", "warn", "v1")]
    assert evaluate(other, {D0 - DAY: auc_only, D0: auc_only}, [], D0, DAY).action != "retrain"
