"""A member's state is its own, and a lone crossing waits for corroboration.

A feature's own alert is never told "resolved" while it still alerts inside a larger group.

Window 0: drift on one feature, its own ``feature drift`` alert. Window 1: nulls on three
features, that one among them: a ``data pipeline degraded`` incident holds its rows. The feature's
own episode closes without a RESOLVED message, and its announcement is edited to say where it
went; once the pipeline recovers and the feature is quiet, nothing is left open. A single
method crossing in a single slice is logged, and told when it persists into the next window.
"""

from __future__ import annotations

from modelwatch.config.schema import ConstantThreshold
from modelwatch.metrics import judge
from tests.integration import test_slack_delivery as delivery
from tests.integration.test_slack_delivery import Stack, metrics, texts

engine, slack = delivery.engine, delivery.slack  # the same fixtures as the delivery tests
NULLS = ConstantThreshold(warn=0.02, alert=0.05)


def _nulls(*features: str) -> list:
    return [judge("data", "null_rate_increase", f, 0.3, NULLS) for f in features]


def test_a_feature_folded_into_a_pipeline_incident_is_not_reported_resolved(engine, demo_cfg,
                                                                             slack):
    stack = Stack(engine, demo_cfg, slack)
    stack.day(0, metrics({"device_risk": 0.4}))
    day0 = texts(slack)
    assert any("feature drift: device_risk" in t for t in day0)
    stack.day(1, metrics({"device_risk": 0.4}) + _nulls("device_risk", "amount", "velocity_1h"))
    day1 = texts(slack)[len(day0):]
    assert any("data pipeline degraded" in t for t in day1), day1
    assert not any("RESOLVED · feature drift: device_risk" in t for t in day1), day1
    own = [a for a in stack.alerts() if a["title"].startswith("feature drift: device_risk")]
    assert own[-1]["status"] == "resolved" and own[-1]["summary"].startswith("folded into ")
    assert own[-1]["summary"] == "folded into " + next(
        a["title"] for a in stack.alerts() if a["title"].startswith("data pipeline degraded"))
    edits = [c.body["text"] for c in slack.calls("chat.update")]
    assert any("device_risk" in e and "still alerting, now part of" in e for e in edits), edits

    stack.day(2, metrics({}))  # everything back to normal
    latest: dict[str, str] = {}
    for a in stack.alerts():  # oldest window first: the last status per cause wins
        if a["layer"] == "data":
            latest[a["fingerprint"]] = a["status"]
    assert latest and set(latest.values()) == {"resolved"}  # no data alert left open


def test_a_lone_crossing_is_told_once_it_persists(engine, demo_cfg, slack):
    stack = Stack(engine, demo_cfg, slack)
    lone = [judge("data", "ks", "amount", 0.3, ConstantThreshold(warn=0.1, alert=0.25))]
    stack.day(0, lone)
    assert texts(slack) == []  # one method, one slice, one window: logged
    assert [a["severity"] for a in stack.alerts()] == ["log"]
    stack.day(1, lone)
    told = texts(slack)
    assert len(told) == 1 and "feature drift: amount" in told[0]
    assert "persists: also in the previous window" in told[0]
