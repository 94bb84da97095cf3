"""The model registry: ``champion`` (serving), ``challenger`` (in shadow) and ``previous`` (the
champion before the last change, what a rollback returns to).

The aliases live in the backend the monitor config names (``registry.backend``): ``warehouse``
(``mw_model_registry``, the default) or ``mlflow``. The audit trail, and with it the idempotency of
rollback and promote, is ``mw_registry_event`` in the warehouse for every backend. The module-level
``aliases``/``register``/``rollback``/``promote`` are the warehouse backend's, over an engine.
"""

from modelwatch.registry.audit import RegistryChange
from modelwatch.registry.backends import backend_names, get_backend
from modelwatch.registry.base import BACKENDS, RegistryBackend
from modelwatch.registry.warehouse import WarehouseBackend, aliases, promote, register, rollback

__all__ = ["BACKENDS", "RegistryBackend", "RegistryChange", "WarehouseBackend", "aliases",
           "backend_names", "get_backend", "promote", "register", "rollback"]
