"""The Slack message an owner reads: rendered text, Block Kit limits, links."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelwatch.alerting.lifecycle import DueItem, StoredAlert
from modelwatch.alerting.message import MAX_ITEMS, Links, build_message, build_messages, format_window
from modelwatch.paths import runbooks_dir

D = timedelta(days=1)
W = datetime(2026, 9, 22)
NOW = datetime(2026, 9, 23, 6)
RUN = "scheduled__2026-09-22T00:00:00+00:00"


def alert(alert_id, title, summary="", severity="page", day=W, status="open", channel="#fraud-data",
          owner="data-eng", **kw) -> StoredAlert:
    return StoredAlert(alert_id, "fp" + alert_id, "fraud_demo", severity, "data", title, summary,
                       owner, channel, day, day + D, status, NOW, NOW, **kw)


@pytest.fixture
def links() -> Links:
    return Links("http://localhost:8080/", "monitor_fraud_demo", runbooks_dir())


def example_items() -> list[DueItem]:
    drift = alert("3f2a9c1d0b7e11", "feature drift: device_risk (4 methods, 8 slices)",
                  "psi = 0.61 (alert at 0.25)\nks = 0.19 (alert at 0.12)\n"
                  "psi = 0.74 (alert at 0.25) [region=EU]\n… and 29 more")
    quality = alert("77aa00bb11cc22", "data quality: avg_amount_30d (silent_default_share)",
                    "silent_default_share = 0.97 (alert at 0.2)", severity="notify", day=W - D)
    gone = alert("9b1e2f3a4c5d66", "feature drift: amount (1 method, 1 slice)",
                 "psi = 0.3 (alert at 0.25)", status="resolved")
    return [DueItem(gone, "resolved", W - 3 * D, 3), DueItem(quality, "new", W - D, 1),
            DueItem(drift, "new", W, 1)]


def test_rendered_text(links) -> None:
    message = build_message(
        model="fraud_demo", owner="data-eng", channel="#fraud-data", window_start=W,
        window_end=W + D, run_id=RUN, items=example_items(), links=links,
        still_open=[alert("5", "feature drift: velocity_1h (4 methods, 2 slices)", acked_by="ana")],
        run_ids={(W - D, W): "scheduled__2026-09-21T00:00:00+00:00"})
    assert message.text == """\
:rotating_light: fraud_demo · data-eng: 2 new, 1 resolved · window 2026-09-22 UTC (#fraud-data)

:rotating_light: NEW · PAGE · feature drift: device_risk (4 methods, 8 slices)
    • psi = 0.61 (alert at 0.25)
    • ks = 0.19 (alert at 0.12)
    • psi = 0.74 (alert at 0.25) [region=EU]
    • … and 29 more
    Window 2026-09-22 · runbook: include/runbooks/feature_drift.md · id 3f2a9c1d0b7e

:warning: NEW · NOTIFY · data quality: avg_amount_30d (silent_default_share)
    • silent_default_share = 0.97 (alert at 0.2)
    Window 2026-09-21 · runbook: include/runbooks/data_quality.md · run of that window: \
http://localhost:8080/dags/monitor_fraud_demo/runs/scheduled__2026-09-21T00%3A00%3A00%2B00%3A00 \
· id 77aa00bb11cc

:white_check_mark: RESOLVED · feature drift: amount (1 method, 1 slice)
    • last seen: psi = 0.3 (alert at 0.25)
    Back within thresholds in window 2026-09-22 (was open since 2026-09-19, 3 windows) · id 9b1e2f3a4c5d

Still open, not repeated: feature drift: velocity_1h (4 methods, 2 slices) (acked by ana)
Airflow run: http://localhost:8080/dags/monitor_fraud_demo/runs/scheduled__2026-09-22T00%3A00%3A00%2B00%3A00
Report: not configured (set MODELWATCH_REPORT_URL)
Acknowledge: modelwatch alerts ack 3f2a9c1d0b7e --by NAME --note TEXT"""
    assert [b["type"] for b in message.blocks] == ["header", "context", "section", "section",
                                                   "section", "divider", "context"]
    assert message.blocks[0]["text"]["text"] == ":rotating_light: fraud_demo · data-eng: 2 new, 1 resolved"
    assert message.blocks[2]["text"]["text"].startswith(
        "*:rotating_light: NEW · PAGE · feature drift: device_risk (4 methods, 8 slices)*\n"
        "• psi = 0.61 (alert at 0.25)\n")
    assert set(message.alert_ids) == {"3f2a9c1d0b7e11", "77aa00bb11cc22", "9b1e2f3a4c5d66"}


def test_escalation_reminder_and_unannounced_resolution_say_so(links) -> None:
    acked = alert("e1", "score drift: score (1 method, 1 slice)", "score_psi = 0.5 (alert at 0.25)",
                  acked_by="ana", ack_note="new campaign")
    late = alert("r1", "feature drift: x (1 method, 1 slice)", "psi = 1 (alert at 0.25)",
                 status="resolved")
    items = [DueItem(acked, "escalated", W - 2 * D, 3),
             DueItem(alert("m1", "feature drift: y (1 method, 1 slice)", severity="notify"),
                     "reminder", W - 8 * D, 9),
             DueItem(late, "resolved", W - D, 1, announced=False)]
    text = build_message(model="fraud_demo", owner="data-eng", channel="#fraud-data", window_start=W,
                         window_end=W + D, run_id=RUN, items=items, links=links).text
    assert "ESCALATED · PAGE · score drift: score" in text
    assert "Open since 2026-09-20 (3 windows), now PAGE; acked by ana: new campaign" in text
    assert "STILL OPEN · NOTIFY · feature drift: y" in text
    assert "Open since 2026-09-14 (9 windows), not acknowledged" in text
    assert "not announced before: delivery was unavailable" in text


def test_one_message_per_owner_and_size_limits(links) -> None:
    items = [DueItem(alert(f"d{i:02d}", f"feature drift: f{i:02d} (1 method, 1 slice)",
                           "x <b> & y\n" * 40), "new", W, 1) for i in range(MAX_ITEMS + 5)]
    items.append(DueItem(alert("m", "score drift: score (1 method, 1 slice)", channel="#fraud-ml",
                               owner="ml-eng"), "new", W, 1))
    messages = build_messages(model="fraud_demo", window_start=W, window_end=W + D, run_id=RUN,
                              due=items, links=links)
    assert [(m.channel, len(m.items)) for m in messages] == [("#fraud-data", MAX_ITEMS),
                                                             ("#fraud-ml", 1)]
    data = messages[0]
    assert len(data.blocks) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in data.blocks if b["type"] == "section")
    assert "x &lt;b&gt; &amp; y" in data.blocks[2]["text"]["text"]  # mrkdwn escaped
    assert "+5 more: modelwatch alerts list" in data.text


def test_links(links) -> None:
    configured = Links("https://airflow.example.com", "monitor_fraud_demo", runbooks_dir(),
                       runbook_base_url="https://code.example.com/runbooks/",
                       report_url="https://reports.example.com/{model}?from={window_start}")
    assert links.run("manual__2026-09-22T00:00:00+00:00") == (
        "http://localhost:8080/dags/monitor_fraud_demo/runs/manual__2026-09-22T00%3A00%3A00%2B00%3A00")
    assert configured.runbook("feature drift: x (1 method, 1 slice)") == (
        "include/runbooks/feature_drift.md", "https://code.example.com/runbooks/feature_drift.md")
    assert links.runbook("challenger in shadow: agreement") is None  # no runbook for this family
    assert configured.report("fraud_demo", W, W + D, RUN) == (
        "https://reports.example.com/fraud_demo?from=2026-09-22T00%3A00%3A00")


@pytest.mark.parametrize(("start", "end", "text"), [
    (W, W + D, "2026-09-22"),
    (W + timedelta(hours=6), W + timedelta(hours=7), "2026-09-22 06:00–07:00"),
    (W, W + 7 * D, "2026-09-22 00:00 – 2026-09-29 00:00"),
])
def test_format_window(start, end, text) -> None:
    assert format_window(start, end) == text


def test_a_data_layer_alert_links_the_windows_data_docs(links) -> None:
    import dataclasses

    docs = "http://localhost:8080/modelwatch/dags/monitor_fraud_demo/artifacts/data_docs/x/index.html"
    with_docs = dataclasses.replace(links, data_docs_url=docs)
    message = build_message(model="fraud_demo", owner="data-eng", channel="#fraud-data",
                            window_start=W, window_end=W + D, run_id=RUN, items=example_items(),
                            links=with_docs)
    assert f"GX Data Docs: {docs}" in message.text
    assert f"<{docs}|GX Data Docs>" in message.blocks[-1]["elements"][-1]["text"]
    model_only = [DueItem(dataclasses.replace(alert("m1", "score drift: score"), layer="model"), "new", W, 1)]
    quiet = build_message(model="fraud_demo", owner="ml-eng", channel="#fraud-ml", window_start=W,
                          window_end=W + D, run_id=RUN, items=model_only, links=with_docs)
    assert "Data Docs" not in quiet.text  # only where a data-layer check fired


def test_local_data_docs_become_a_plugin_url(tmp_path) -> None:
    from modelwatch.config.data_layer import ArtifactSettings
    from modelwatch.data_layer.artifacts import served_url

    settings = ArtifactSettings(local_dir=str(tmp_path))
    index = tmp_path / "data_docs" / "fraud_demo" / "w 1" / "index.html"
    assert served_url(settings, "http://af/modelwatch/dags/d/artifacts/", index.as_uri()) == (
        "http://af/modelwatch/dags/d/artifacts/data_docs/fraud_demo/w%201/index.html")
    assert served_url(settings, "http://af/x", "s3://b/k/index.html") == "s3://b/k/index.html"
    assert served_url(settings, "http://af/x", "file:///etc/passwd") == "file:///etc/passwd"
