"""Choosing a registry backend: the warehouse stays the default; `mlflow` needs its package."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from modelwatch.config import load_monitor
from modelwatch.config.registry import RegistrySettings
from modelwatch.errors import ConfigError
from modelwatch.registry import WarehouseBackend, backend_names, get_backend
from modelwatch.warehouse.tables import create_output_tables
from tests.conftest import DEMO_YAML


def _monitor(tmp_path: Path, registry: dict) -> Path:
    raw = yaml.safe_load(DEMO_YAML.read_text())
    raw["registry"] = registry
    path = tmp_path / "with_registry.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_demo_uses_the_warehouse_backend(demo_cfg, duck_url) -> None:
    assert demo_cfg.registry.backend == "warehouse"
    engine = sa.create_engine(duck_url)
    create_output_tables(engine)
    backend = get_backend(demo_cfg.registry, engine)
    assert isinstance(backend, WarehouseBackend)
    backend.register("m", "v1", alias="champion")
    assert backend.aliases("m") == {"champion": "v1"}
    engine.dispose()


def test_mlflow_backend_without_the_package_is_a_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` now raises ImportError
    path = _monitor(tmp_path, {"backend": "mlflow"})
    with pytest.raises(ConfigError) as info:
        load_monitor(path)
    message = str(info.value)
    assert str(path) in message and "registry.backend" in message and "'mlflow'" in message
    assert "pip install 'modelwatch[mlflow]'" in message and "backend: warehouse" in message


def test_building_the_mlflow_backend_without_the_package_says_how_to_install(
        duck_url, monkeypatch) -> None:
    """A config validated elsewhere (e.g. where mlflow is installed) fails clearly on a worker."""
    monkeypatch.setitem(sys.modules, "mlflow", None)
    settings = RegistrySettings.model_construct(backend="mlflow",
                                                tracking_uri_env="MLFLOW_TRACKING_URI",
                                                registry_uri_env=None)
    with pytest.raises(ConfigError, match=r"pip install 'modelwatch\[mlflow\]'") as info:
        get_backend(settings, sa.create_engine(duck_url))
    assert info.value.terminal


def test_unknown_backend_lists_the_registered_ones(tmp_path) -> None:
    message = str(pytest.raises(ConfigError, load_monitor,
                                _monitor(tmp_path, {"backend": "sagemaker"})).value)
    assert "registry.backend" in message and "'sagemaker'" in message
    assert str(backend_names()) in message and backend_names() == ["mlflow", "warehouse"]


def test_uri_in_an_env_key_is_refused(tmp_path) -> None:
    message = str(pytest.raises(ConfigError, load_monitor, _monitor(
        tmp_path, {"tracking_uri_env": "https://user:secret@mlflow.example"})).value)
    assert "registry.tracking_uri_env" in message and "not an environment variable name" in message
