"""Registry backends: where the ``champion`` / ``challenger`` / ``previous`` aliases live.

A backend is chosen by ``registry.backend`` in the monitor config and built by the factory
registered under that name (one registration line per backend module, importing ``registry.base``;
this module imports them all). Every backend keeps its audit rows, and with them its idempotency,
in the warehouse's ``mw_registry_event``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

# Importing a backend module registers it (one registration line each, see registry.base).
from modelwatch.registry import mlflow_backend, warehouse  # noqa: F401
from modelwatch.registry.base import BACKENDS, BackendSettings, RegistryBackend

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def backend_names() -> list[str]:
    """Every registered backend, sorted (what config validation and error messages list)."""
    return sorted(BACKENDS)


def get_backend(settings: BackendSettings, engine: Engine) -> RegistryBackend:
    """The configured backend over ``engine`` (the warehouse that holds the audit trail)."""
    names = backend_names()
    if settings.backend not in BACKENDS:
        raise KeyError(f"unknown registry backend {settings.backend!r}; backends are {names}")
    return BACKENDS[settings.backend](settings, engine)
