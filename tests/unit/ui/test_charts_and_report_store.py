"""Inline SVG charts on exact inputs; the report's store (local folder and an S3 server)."""

from __future__ import annotations

import re
import urllib.request
from datetime import datetime, timedelta

import boto3
import pytest

from modelwatch.alerting.message import Links
from modelwatch.config.data_layer import ArtifactSettings
from modelwatch.paths import runbooks_dir
from modelwatch.ui import charts
from modelwatch.ui.queries import Cell, Event, Point
from modelwatch.ui.report import store_report

D0 = datetime(2026, 9, 1)
DAYS = [D0 + timedelta(days=i) for i in range(3)]


def test_ratio_colour_goes_white_to_amber_to_red() -> None:
    assert charts.ratio_colour(0.0) == "#ffffff"
    assert charts.ratio_colour(None) == "#eeeeee"
    reds = [int(charts.ratio_colour(r)[3:5], 16) for r in (0.0, 0.5, 1.0, 1.5, 2.0)]
    assert reds == sorted(reds, reverse=True)  # green channel falls as the ratio rises
    assert charts.ratio_colour(5.0) == charts.ratio_colour(2.0)  # capped


def test_heatmap_draws_one_cell_per_feature_and_window_with_marks() -> None:
    cells = {("a", DAYS[0]): Cell("a", DAYS[0], 0.05, 0.25, "ok"),
             ("a", DAYS[1]): Cell("a", DAYS[1], 0.5, 0.25, "alert"),
             ("b", DAYS[2]): Cell("b", DAYS[2], 0.12, 0.25, "warn")}
    svg = charts.heatmap(["a", "b"], DAYS, cells, {("b", DAYS[2]): "silent_default_share"},
                         {DAYS[1]: "retrain"})
    statuses = re.findall(r'data-feature="(\w)" data-window="([^"]+)" data-status="(\w+)"', svg)
    assert len(statuses) == 6
    assert ("a", DAYS[1].isoformat(), "alert") in statuses
    assert ("b", DAYS[0].isoformat(), "missing") in statuses
    assert svg.count('class="mark"') == 1 and "0.5 vs threshold 0.25 (alert)" in svg
    assert 'data-decision="retrain"' in svg and "↻" in svg


def test_line_chart_bands_and_empty_series() -> None:
    pts = [Point(d, 0.8 + i / 100, 0.75, 0.85 + i / 100, "ok") for i, d in enumerate(DAYS)]
    svg = charts.line_chart([charts.Series("auc", pts, "#000")], title="AUC")
    assert svg.count('class="point"') == 3 and svg.count('class="band"') == 1
    assert "[0.75, 0.87]" in svg
    assert "no rows stored yet" in charts.line_chart([charts.Series("x", [], "#000")], title="X")


def test_timeline_puts_each_event_in_its_lane() -> None:
    events = [Event(DAYS[0], "decision", "retrain", "drift"), Event(DAYS[1], "registry", "rollback v1.1", ""),
              Event(DAYS[2], "alert", "feature drift", "data", "page")]
    svg = charts.timeline(events, DAYS[0], DAYS[2])
    assert re.findall(r'data-kind="(\w+)"', svg) == ["decision", "registry", "alert"]


def test_report_link_defaults_to_the_plugin_route(demo_cfg) -> None:
    links = Links.from_config(demo_cfg, runbooks_dir=runbooks_dir(), env={})
    assert links.report("fraud_demo", D0, DAYS[1], "manual__2026-09-02T00:00:00+00:00") == (
        "http://localhost:8080/modelwatch/dags/monitor_fraud_demo/runs/"
        "manual__2026-09-02T00%3A00%3A00%2B00%3A00/report")
    custom = Links.from_config(demo_cfg, runbooks_dir=runbooks_dir(),
                               env={"MODELWATCH_REPORT_URL": "https://dash/{model}"})
    assert custom.report("fraud_demo", D0, DAYS[1], "r") == "https://dash/fraud_demo"


@pytest.fixture
def s3(moto_s3):
    boto3.client("s3", endpoint_url=moto_s3).create_bucket(Bucket="mw-reports")
    return moto_s3


def test_report_is_stored_locally_and_opens_from_s3(tmp_path, s3) -> None:
    settings = ArtifactSettings(local_dir=str(tmp_path / "store"), s3_bucket="mw-reports",
                                s3_endpoint_url=s3, s3_report_prefix="r/")
    html = "<!doctype html><html><body><svg class='heatmap'></svg>é</body></html>"
    stored = store_report(settings, None, "fraud_demo", D0, DAYS[1], html)
    window = "20260901T000000_20260902T000000"
    assert stored.local_path == tmp_path / f"store/reports/fraud_demo/{window}/report.html"
    assert stored.local_path.read_text(encoding="utf-8") == html
    assert stored.s3_uri == "s3://mw-reports/r/fraud_demo/20260901T000000_20260902T000000/report.html"
    client = boto3.client("s3", endpoint_url=s3)
    key = stored.s3_uri.removeprefix("s3://mw-reports/")
    url = client.generate_presigned_url("get_object", Params={"Bucket": "mw-reports", "Key": key})
    with urllib.request.urlopen(url, timeout=10) as response:  # opened from the S3 server
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.read().decode("utf-8") == html
    again = store_report(settings, None, "fraud_demo", D0, DAYS[1], html.replace("é", "e"))
    assert again.local_path.read_text().endswith("e</body></html>")  # a rerun replaces


def test_an_unreachable_s3_fails_the_report_as_transient(tmp_path, monkeypatch) -> None:
    from modelwatch.data_layer.artifacts import ArtifactStoreUnavailable

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    settings = ArtifactSettings(local_dir=str(tmp_path), s3_bucket="mw-reports",
                                s3_endpoint_url="http://127.0.0.1:9", s3_region="us-east-1")
    with pytest.raises(ArtifactStoreUnavailable) as err:
        store_report(settings, None, "m", D0, DAYS[1], "<html></html>")
    assert err.value.terminal is False
