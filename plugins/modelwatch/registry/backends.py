"""Registry backends: where the ``champion`` / ``challenger`` / ``previous`` aliases live.

A backend is chosen by ``registry.backend`` in the monitor config and built by the factory
registered under that name (one registration line per backend module). Every backend keeps its
audit rows, and with them its idempotency, in the warehouse's ``mw_registry_event``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from modelwatch.config.registry import RegistrySettings
    from modelwatch.registry.audit import RegistryChange


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


BackendFactory = Callable[["RegistrySettings", "Engine"], RegistryBackend]
BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register a backend factory ``(settings, engine) -> RegistryBackend`` under ``name``."""
    def decorate(factory: BackendFactory) -> BackendFactory:
        if name in BACKENDS:
            raise ValueError(f"registry backend {name!r} is registered twice")
        BACKENDS[name] = factory
        return factory
    return decorate


def backend_names() -> list[str]:
    import modelwatch.registry  # noqa: F401  (imports every backend module, which registers it)

    return sorted(BACKENDS)


def get_backend(settings: RegistrySettings, engine: Engine) -> RegistryBackend:
    """The configured backend over ``engine`` (the warehouse that holds the audit trail)."""
    names = backend_names()
    if settings.backend not in BACKENDS:
        raise KeyError(f"unknown registry backend {settings.backend!r}; backends are {names}")
    return BACKENDS[settings.backend](settings, engine)
