"""What a registry backend is, and how a backend module registers itself.

The ground floor of the registry package: it imports no backend and no config, so every backend
module (``warehouse``, ``mlflow_backend``) can register here and ``registry.backends`` can import
them all. The settings a factory receives are described by ``BackendSettings``, which
``config.registry.RegistrySettings`` satisfies: config validates against the registry, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from modelwatch.registry.audit import RegistryChange


class BackendSettings(Protocol):
    """What a backend factory reads of ``registry:`` in the monitor config."""

    @property
    def backend(self) -> str:
        """The registered name of the backend."""
        ...

    @property
    def tracking_uri_env(self) -> str:
        """Name of the env var holding the MLflow tracking URI."""
        ...

    @property
    def registry_uri_env(self) -> str | None:
        """Name of the env var holding the MLflow registry URI (unset: the tracking URI)."""
        ...


class RegistryBackend(Protocol):
    """What rollback, promote and retraining need from a model registry."""

    name: str

    def aliases(self, model: str) -> dict[str, str]:
        """Alias -> version of ``model`` (empty when the model is unknown)."""
        ...

    def register(self, model: str, version: str, *, alias: str | None = None,
                 artifact_uri: str | None = None, reason: str = "registered",
                 window_start: datetime | None = None) -> RegistryChange:
        """Add ``version`` if missing; with ``alias``, move that alias to it (a new champion
        pushes the old one to ``previous``)."""
        ...

    def rollback(self, model: str, window_start: datetime, reason: str) -> RegistryChange:
        """``champion`` -> the ``previous`` version; a no-op when the window was already done."""
        ...

    def promote(self, model: str, window_start: datetime, reason: str) -> RegistryChange:
        """``challenger`` -> ``champion`` (the old champion becomes ``previous``); idempotent."""
        ...


BackendFactory = Callable[[BackendSettings, "Engine"], RegistryBackend]
BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a backend factory ``(settings, engine) -> RegistryBackend`` under ``name``."""
    def decorate(factory: BackendFactory) -> BackendFactory:
        if name in BACKENDS:
            raise ValueError(f"registry backend {name!r} is registered twice")
        BACKENDS[name] = factory
        return factory
    return decorate
