"""``modelwatch alerts list`` and ``modelwatch alerts ack`` on an embedded warehouse."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from modelwatch.alerting import deliver_alerts
from modelwatch.cli import EXIT_CONFIG, EXIT_OK, main
from modelwatch.config.schema import ConstantThreshold
from modelwatch.metrics import judge
from modelwatch.runner import Window
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.tables import create_output_tables
from modelwatch.warehouse.writer import replace_metrics
from tests.conftest import DEMO_YAML

T = ConstantThreshold(warn=0.1, alert=0.25)
DAY = datetime(2026, 9, 20)


@pytest.fixture
def warehouse(duck_url, demo_cfg, monkeypatch):
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", duck_url)
    monkeypatch.delenv("MODELWATCH_SLACK_TOKEN", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_API_DEFAULT", raising=False)
    engine = engine_for_url(duck_url)
    create_output_tables(engine)
    for day, psi in enumerate((0.4, 0.5)):
        window = Window(DAY + timedelta(days=day), DAY + timedelta(days=day + 1))
        with engine.begin() as conn:
            replace_metrics(conn, run_id=f"r{day}", model_name="fraud_demo", model_version="v1",
                            window_start=window.start, window_end=window.end,
                            rows=[judge("data", "psi", "device_risk", psi, T),
                                  judge("model", "score_psi", "score", 0.15, T)])
        deliver_alerts(engine, demo_cfg, window, f"r{day}")
    yield engine
    engine.dispose()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["alerts", *argv, "--config", str(DEMO_YAML)])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_each_cause_once_with_its_latest_window(warehouse, capsys) -> None:
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == EXIT_OK
    assert lines[0].split() == ["id", "model", "severity", "status", "window", "delivery", "acked",
                                "by", "title"]
    assert len(lines) == 3
    assert "page      open    2026-09-21  pending   -         feature drift: device_risk (1 method, " \
           "1 slice)" in out
    assert "notify    open    2026-09-21  pending   -         score drift: score" in out
    code, out, _ = run(capsys, "list", "--every-window")
    assert len(out.splitlines()) == 5
    assert run(capsys, "list", "--status", "resolved")[1].strip() == "no alerts"


def test_ack_by_id_prefix_acks_the_cause(warehouse, capsys) -> None:
    _, out, _ = run(capsys, "list")
    alert_id = next(line.split()[0] for line in out.splitlines() if "device_risk" in line)
    code, out, _ = run(capsys, "ack", alert_id, "--by", "ana", "--note", "campaign until 10-01")
    assert code == EXIT_OK
    assert out.strip() == f"acknowledged {alert_id} by ana: campaign until 10-01"
    _, out, _ = run(capsys, "list", "--status", "acked")
    assert "acked   2026-09-21  pending   ana" in out and "device_risk" in out
    assert "score drift" in run(capsys, "list", "--status", "open")[1]


def test_ack_of_an_earlier_window_carries_to_the_rest_of_the_episode(warehouse, capsys) -> None:
    _, out, _ = run(capsys, "list", "--every-window")
    first = [line.split()[0] for line in out.splitlines() if "device_risk" in line][-1]
    _, out, _ = run(capsys, "ack", first, "--by", "ana", "--note", "seen")
    assert "and 1 later window(s) of the same episode" in out
    assert "device_risk" in run(capsys, "list", "--status", "acked")[1]


def test_unknown_id_fails_with_a_fix(warehouse, capsys) -> None:
    code, _, err = run(capsys, "ack", "ffffffffffff", "--by", "ana", "--note", "x")
    assert code == EXIT_CONFIG  # a wrong id is the user's to fix: no traceback hint
    assert "no alert with id 'ffffffffffff'" in err and "modelwatch alerts list" in err
    assert "--debug" not in err
