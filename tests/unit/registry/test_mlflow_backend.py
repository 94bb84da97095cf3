"""The MLflow backend on a real MLflow file store: aliases move in MLflow, audit rows (and with
them idempotency) stay in the warehouse's mw_registry_event."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from modelwatch.config import load_monitor
from modelwatch.config.registry import RegistrySettings
from modelwatch.errors import ConfigError, ModelwatchError
from modelwatch.registry import get_backend
from modelwatch.registry.mlflow_backend import LAST_EVENT_TAG, PENDING_TAG, MlflowBackend
from modelwatch.warehouse.tables import create_output_tables, mw_registry_event
from tests.conftest import DEMO_YAML, require_service

W = datetime(2026, 10, 8)
HOW = "pip install -c constraints.txt -e '.[airflow,dev,celery]' (the dev extra has mlflow-skinny)"


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch) -> str:
    """A file-based MLflow tracking + model registry store in tmp. The file store reads the
    tracking URI from MLFLOW_TRACKING_URI internally, so that is the variable to set."""
    try:
        import mlflow  # noqa: F401
    except ImportError as exc:  # skips on a developer machine, fails under CI
        require_service("mlflow", exc, HOW)
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3.x refuses file stores otherwise
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    return uri


@pytest.fixture
def backend(mlflow_store, duck_url):
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    yield get_backend(RegistrySettings(backend="mlflow"), engine)
    engine.dispose()


def _events(engine, event: str) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(mw_registry_event).where(
            mw_registry_event.c.event == event)).all()


def _mlflow_number(backend: MlflowBackend, alias: str) -> str:
    return str(backend.client.get_model_version_by_alias("m", alias).version)


def test_rollback_and_promote_move_mlflow_aliases_once(backend) -> None:
    assert isinstance(backend, MlflowBackend)
    backend.register("m", "v1", alias="champion", artifact_uri="s3://models/m/v1")
    backend.register("m", "v2", alias="champion", artifact_uri="s3://models/m/v2")
    assert backend.aliases("m") == {"champion": "v2", "previous": "v1"}
    assert (_mlflow_number(backend, "champion"), _mlflow_number(backend, "previous")) == ("2", "1")

    first = backend.rollback("m", W, "score drift after deploy")
    again = backend.rollback("m", W, "score drift after deploy")
    assert first.applied and first.champion == "v1" and first.detail == "v2 -> v1"
    assert not again.applied and again.detail == "already rolled back"
    assert backend.aliases("m") == {"champion": "v1", "previous": "v2"}
    assert (_mlflow_number(backend, "champion"), _mlflow_number(backend, "previous")) == ("1", "2")
    rows = _events(backend.engine, "rollback")
    assert len(rows) == 1 and rows[0].version == "v1" and rows[0].window_start == W
    assert "was v2" in rows[0].reason

    backend.register("m", "v3", alias="challenger")
    promoted = backend.promote("m", W, "gate passed")
    assert promoted.applied and promoted.champion == "v3"
    assert not backend.promote("m", W, "gate passed").applied
    assert backend.aliases("m") == {"champion": "v3", "previous": "v1"}
    assert len(_events(backend.engine, "promote")) == 1
    tags = backend.client.get_registered_model("m").tags
    assert PENDING_TAG not in tags and LAST_EVENT_TAG in tags


def test_register_aliases_an_existing_mlflow_version_without_a_copy(backend) -> None:
    backend.register("m", "v1", alias="champion")
    made_by_training = backend.client.create_model_version("m", source="s3://models/m/7")
    change = backend.register("m", str(made_by_training.version), alias="challenger")
    assert change.applied and change.champion == "v1"
    again = backend.register("m", "v1", alias="champion")  # already there: nothing new
    assert again.champion == "v1"
    assert len(backend.client.search_model_versions("name='m'")) == 2
    assert backend.aliases("m") == {"champion": "v1", "challenger": str(made_by_training.version)}


def test_rollback_without_previous_says_why(backend) -> None:
    backend.register("m", "v1", alias="champion")
    change = backend.rollback("m", W, "x")
    assert not change.applied and "no previous version" in change.detail
    assert _events(backend.engine, "rollback") == []


def test_a_failure_between_alias_moves_is_resumed_by_the_retry(backend, monkeypatch) -> None:
    backend.register("m", "v1", alias="champion")
    backend.register("m", "v2", alias="champion")
    real = backend.client.set_registered_model_alias
    calls = []

    def flaky(model, alias, version):
        calls.append(alias)
        if len(calls) == 2:
            raise ConnectionError("MLflow went away")
        return real(model, alias, version)

    monkeypatch.setattr(backend.client, "set_registered_model_alias", flaky)
    with pytest.raises(ConnectionError):
        backend.rollback("m", W, "bad deploy")
    assert backend.aliases("m") == {"champion": "v1", "previous": "v1"}  # half done
    assert _events(backend.engine, "rollback") == []  # the audit row rolled back with it

    retried = backend.rollback("m", W, "bad deploy")
    assert retried.applied and "resumed" in retried.detail
    assert backend.aliases("m") == {"champion": "v1", "previous": "v2"}
    assert len(_events(backend.engine, "rollback")) == 1
    assert not backend.rollback("m", W, "bad deploy").applied


def test_a_lost_audit_commit_is_restored_without_a_second_swap(backend) -> None:
    backend.register("m", "v1", alias="champion")
    backend.register("m", "v2", alias="champion")
    assert backend.rollback("m", W, "bad deploy").applied
    with backend.engine.begin() as conn:  # as if the warehouse commit had failed after MLflow
        conn.execute(sa.delete(mw_registry_event).where(mw_registry_event.c.event == "rollback"))

    replay = backend.rollback("m", W, "bad deploy")
    assert not replay.applied and "audit row restored" in replay.detail
    assert backend.aliases("m") == {"champion": "v1", "previous": "v2"}  # not swapped back
    assert len(_events(backend.engine, "rollback")) == 1


def test_another_windows_pending_change_stops_a_rollback(backend) -> None:
    backend.register("m", "v1", alias="champion")
    backend.register("m", "v2", alias="champion")
    backend.client.set_registered_model_tag("m", PENDING_TAG, (
        '{"event": "other", "plan": {"champion": "1"}, "audit": {"event": "promote", '
        '"version": "v1"}}'))
    with pytest.raises(ModelwatchError, match="interrupted registry change"):
        backend.rollback("m", W, "bad deploy")
    assert backend.aliases("m") == {"champion": "v2", "previous": "v1"}


def test_tracking_uri_env_must_be_set(mlflow_store, duck_url, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(ConfigError, match="MLFLOW_TRACKING_URI is not set"):
        get_backend(RegistrySettings(backend="mlflow"), sa.create_engine(duck_url))


def test_step_rollback_with_the_mlflow_backend_end_to_end(mlflow_store, duck_url, tmp_path,
                                                          monkeypatch) -> None:
    from modelwatch.runner import Window, step_promote, step_rollback

    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["registry"] = {"backend": "mlflow", "tracking_uri_env": "MLFLOW_TRACKING_URI"}
    path = Path(tmp_path / "fraud_mlflow.yaml")
    path.write_text(yaml.safe_dump(raw))
    cfg = load_monitor(path)
    monkeypatch.setenv(cfg.warehouse.url_env, duck_url)
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    seed = get_backend(cfg.registry, engine)
    name = cfg.model.name
    seed.register(name, "v1", alias="champion", reason="initial deploy")
    seed.register(name, "v1.1", alias="champion", reason="release pipeline")
    seed.register(name, "v2-challenger", alias="challenger", reason="in shadow")

    window = Window(W, W + timedelta(days=1))
    first = step_rollback(cfg, window, "rollback_after_bad_deploy")
    again = step_rollback(cfg, window, "rollback_after_bad_deploy")
    assert first.applied and first.champion == "v1" and not again.applied
    client = seed.client
    assert client.get_model_version_by_alias(name, "champion").tags["modelwatch.version"] == "v1"
    assert client.get_model_version_by_alias(name, "previous").tags["modelwatch.version"] == "v1.1"
    rows = _events(engine, "rollback")
    assert [(r.model_name, r.version, r.window_start) for r in rows] == [(name, "v1", W)]

    later = Window(W + timedelta(days=3), W + timedelta(days=4))
    assert step_promote(cfg, later, "promote_passing_challenger").champion == "v2-challenger"
    assert seed.aliases(name) == {"champion": "v2-challenger", "previous": "v1"}
    engine.dispose()


def test_loading_an_mlflow_config_does_not_import_mlflow(mlflow_store, tmp_path) -> None:
    """Config validation only looks the package up: a DAG parse stays light."""
    import subprocess
    import sys

    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["registry"] = {"backend": "mlflow"}
    path = tmp_path / "fraud_mlflow.yaml"
    path.write_text(yaml.safe_dump(raw))
    code = ("import sys\nfrom modelwatch.config import load_monitor\n"
            f"assert load_monitor({str(path)!r}).registry.backend == 'mlflow'\n"
            "assert 'mlflow' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def fake_training(cfg, request):
    """A retraining target for the test below: it only names the version it 'trained'."""
    from modelwatch.retraining import TrainedModel

    return TrainedModel(version=f"v2-retrained-{request.window_start:%Y%m%d}",
                        artifact_uri="s3://models/fraud_demo/v2")


def test_retraining_registers_the_challenger_in_mlflow(mlflow_store, duck_url, tmp_path) -> None:
    from modelwatch.retraining import RetrainRequest, retrain_and_register

    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["registry"] = {"backend": "mlflow"}
    raw["retraining"] = {"callable": f"{__name__}:fake_training"}
    path = tmp_path / "fraud_mlflow.yaml"
    path.write_text(yaml.safe_dump(raw))
    cfg = load_monitor(path)
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    request = RetrainRequest(cfg.model.name, W, W + timedelta(days=1), "sustained drift")
    trained, change = retrain_and_register(engine, cfg, request)
    assert change.applied and trained.version == "v2-retrained-20261008"
    backend = get_backend(cfg.registry, engine)
    assert backend.aliases(cfg.model.name) == {"challenger": "v2-retrained-20261008"}
    version = backend.client.get_model_version_by_alias(cfg.model.name, "challenger")
    assert version.source == "s3://models/fraud_demo/v2"
    rows = _events(engine, "register")
    assert [(r.version, r.to_alias, r.window_start) for r in rows] == [
        ("v2-retrained-20261008", "challenger", W)]
    engine.dispose()
