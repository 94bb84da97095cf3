"""DAG integrity: the real dags/ folder parses, and one broken monitor never hides the others."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO_YAML, PROJECT

pytestmark = pytest.mark.airflow


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT / "dags"))


@pytest.fixture(scope="module")
def real_bag():
    return dagbag()


def test_dags_folder_has_no_import_errors(real_bag) -> None:
    assert real_bag.import_errors == {}
    assert "monitor_fraud_demo" in real_bag.dag_ids


def test_monitor_dag_shape(real_bag) -> None:
    dag = real_bag.dags["monitor_fraud_demo"]
    order = [t.task_id for t in dag.topological_sort()]
    assert order[:8] == ["reference_profile", "window_checks", "data_validation", "outcome",
                         "shadow", "publish", "alerts", "decide"]
    assert set(dag.get_task("decide").downstream_task_ids) == {
        "retrain", "rollback", "promote", "alert_only", "healthy"}
    assert type(dag.get_task("retrain")).__name__ == "TriggerDagRunOperator"
    retrain = real_bag.dags["retrain_fraud_demo"]
    assert retrain.max_active_runs == 1 and retrain.schedule is None
    assert set(dag.tags) >= {"modelwatch", "model:fraud_demo"}
    assert dag.max_active_runs == 1
    for t in dag.tasks:
        assert t.owner == "ml-eng"
        assert t.retries == (1 if t.task_id in ("rollback", "promote", "report") else 2), t
    report = dag.get_task("report")
    assert report.upstream_task_ids == {"retrain", "rollback", "promote", "alert_only", "healthy"}
    assert report.trigger_rule == "none_failed_min_one_success"  # runs after whichever branch ran
    for task_id in ("data_validation", "outcome", "shadow", "publish", "alerts", "decide"):
        assert dag.get_task(task_id).trigger_rule == "all_done", task_id  # one failure never silences
    complete = dag.get_task("window_complete")
    assert complete.upstream_task_ids == {"reference_profile", "window_checks", "data_validation",
                                          "outcome", "shadow"}
    assert complete.trigger_rule == "all_success"  # a failed layer fails the run
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.fileloc.endswith("dags/monitors.py")


def _monitors(tmp_path: Path, monkeypatch, files: dict[str, dict | str]) -> Path:
    folder = tmp_path / "monitors"
    folder.mkdir()
    for name, content in files.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content)
        (folder / name).write_text(text)
    monkeypatch.setenv("MODELWATCH_MONITORS_DIR", str(folder))
    return folder


def _renamed(name: str, **schedule) -> dict:
    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["model"]["name"] = name
    raw["schedule"].update(schedule)
    return raw


def test_broken_monitor_becomes_a_visible_placeholder_only_for_itself(tmp_path, monkeypatch):
    bad_key = _renamed("bad_key")
    bad_key["features"][0]["knd"] = "numeric"
    _monitors(tmp_path, monkeypatch, {
        "good.yaml": _renamed("good"),
        "bad_key.yaml": bad_key,
        "bad_yaml.yaml": "model: [unclosed\n",
        "bad_cron.yaml": _renamed("bad_cron", cron="61 * * * *"),  # caught at DAG build
    })
    bag = dagbag()
    assert bag.import_errors == {}
    good = bag.dags["monitor_good"]
    assert "config-error" not in good.tags and "decide" in good.task_ids
    for dag_id, words in (("monitor_bad_key", ["features[0].knd", "Fix:"]),
                          ("monitor_bad_yaml", ["not valid YAML", "line"]),
                          ("monitor_bad_cron", ["61 * * * *"])):
        dag = bag.dags[dag_id]
        assert "config-error" in dag.tags, dag_id
        assert [t.task_id for t in dag.tasks] == ["config_error"]
        for word in words:
            assert word in dag.doc_md, (dag_id, word, dag.doc_md)


def test_duplicate_model_names_do_not_shadow_each_other(tmp_path, monkeypatch) -> None:
    _monitors(tmp_path, monkeypatch, {"a.yaml": _renamed("same"), "b.yaml": _renamed("same")})
    bag = dagbag()
    assert "monitor_same" in bag.dag_ids
    assert "config-error" in bag.dags["monitor_b"].tags


def test_fifty_monitors_parse_quickly_without_touching_a_database(tmp_path, monkeypatch):
    files = {f"m{i:02d}.yaml": _renamed(f"model_{i:02d}") for i in range(50)}
    _monitors(tmp_path, monkeypatch, files)
    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", "postgresql+psycopg://nobody@192.0.2.1/x")
    started = time.perf_counter()
    bag = dagbag()
    elapsed = time.perf_counter() - started
    assert bag.import_errors == {}
    assert len([d for d in bag.dag_ids if d.startswith("monitor_model_")]) == 50
    assert len([d for d in bag.dag_ids if d.startswith("retrain_model_")]) == 50
    # Not a benchmark (benchmarks/dag_parse_time.py is): a guard against DB calls at parse
    # time, which would hang on the unroutable address above far longer than this.
    assert elapsed < 30, elapsed
    print(f"50 monitors parsed in {elapsed:.2f}s")


def test_demo_config_copy_is_not_needed_in_repo(tmp_path) -> None:
    """The factory reads whatever folder it is given; copying a file in adds a DAG."""
    from modelwatch.airflow.dag_factory import build_dags

    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(DEMO_YAML, folder / "x.yaml")
    assert list(build_dags(folder)) == ["monitor_fraud_demo", "retrain_fraud_demo",
                                        "modelwatch_alert_review"]


def test_plugin_loader_does_not_execute_library_files() -> None:
    """Airflow would otherwise import every library file again as a stray top-level module."""
    from airflow._shared.module_loading import find_path_from_directory

    files = [Path(f) for f in find_path_from_directory(str(PROJECT / "plugins"), ".airflowignore")]
    assert not [f for f in files if "modelwatch" in f.parts and f.suffix == ".py"]
