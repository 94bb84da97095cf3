"""Config of the model registry backend (``registry:`` in a monitor file).

Lives in its own module so ``schema.py`` stays the map of the whole file. No secrets here: the
MLflow tracking and registry URIs (which may carry credentials) are read from the environment
variables named below, never written in the YAML.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelwatch.extras import MLFLOW_INSTALL_HINT, module_installed


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(where: str, value: str | None) -> str | None:
    if value is not None and ("://" in value or not value.replace("_", "").isalnum()):
        raise ValueError(
            f"{where} {value!r} looks like a URI, not an environment variable name: put the URI "
            "in an env var (e.g. MLFLOW_TRACKING_URI) and name that variable here")
    return value


class RegistrySettings(_Strict):
    """Where the `champion` / `challenger` / `previous` aliases live; the audit trail stays in the warehouse.

    ``mw_registry_event`` (whose event ids make replayed rollbacks and promotions no-ops) is
    written for every backend.
    """

    backend: str = Field(
        "warehouse", description="Registry backend: `warehouse` (the `mw_model_registry` table) or "
        "`mlflow` (the MLflow Model Registry's registered model aliases; needs "
        f"`{MLFLOW_INSTALL_HINT}`). The registered model is named like `model.name`.")
    tracking_uri_env: str = Field(
        "MLFLOW_TRACKING_URI", description="MLflow backend: name of the env var holding the "
        "tracking URI (never the URI itself). It must be set where the tasks run.")
    registry_uri_env: str | None = Field(
        None, description="MLflow backend: name of the env var holding the registry URI, when the "
        "registry is not the tracking server (unset: the tracking URI).")

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        # The registry sits below config (it never imports it); imported here, on validation,
        # so reading a config at DAG parse time does not import the warehouse stack.
        from modelwatch.registry.backends import backend_names

        names = backend_names()
        if value not in names:
            raise ValueError(f"unknown registry backend {value!r}; backends are {names}")
        if value == "mlflow" and not module_installed("mlflow"):
            raise ValueError(f"registry backend 'mlflow' needs the mlflow package, which is not "
                             f"installed: run `{MLFLOW_INSTALL_HINT}`, or set `backend: warehouse`")
        return value

    @field_validator("tracking_uri_env")
    @classmethod
    def _tracking_env(cls, value: str) -> str:
        return _env_name("tracking_uri_env", value)

    @field_validator("registry_uri_env")
    @classmethod
    def _registry_env(cls, value: str | None) -> str | None:
        return _env_name("registry_uri_env", value)
