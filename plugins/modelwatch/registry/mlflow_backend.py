"""The ``mlflow`` registry backend: aliases of an MLflow registered model, audit in the warehouse.

The registered model is named like the monitored model (``model.name``); ``champion``,
``challenger`` and ``previous`` are its registered model aliases. A modelwatch version string
(``v2-retrained-20260922``) maps to an MLflow model version through the version tag
``modelwatch.version``; a version that is already MLflow's own number (``"7"``, e.g. registered
by the training job) is only aliased. ``mlflow`` is imported when the backend is built, never at
DAG parse time.

MLflow and the warehouse share no transaction, so a change runs inside the warehouse transaction
that inserts its audit row, in this order: (1) the planned aliases are written to the registered
model tag ``modelwatch.pending``; (2) the aliases are moved; (3) the tag ``modelwatch.last_event``
records the event and the pending tag is removed; (4) the audit row commits. A retry after a
failure in (2) re-applies the pending plan (absolute alias values, so a half-done move converges);
a retry after a failure in (4) finds the event in ``modelwatch.last_event`` and only writes the
missing audit row. Either way a window's rollback or promotion happens once.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelwatch.errors import ConfigError, ModelwatchError
from modelwatch.extras import MLFLOW_INSTALL_HINT
from modelwatch.registry.audit import RegistryChange, audit, done, event_id
from modelwatch.registry.base import BackendSettings, register_backend

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

VERSION_TAG = "modelwatch.version"
PENDING_TAG = "modelwatch.pending"
LAST_EVENT_TAG = "modelwatch.last_event"
_MISSING = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


def _import_mlflow() -> tuple[Any, type[Exception]]:
    try:
        from mlflow import MlflowClient
        from mlflow.exceptions import MlflowException
    except ImportError as exc:
        raise ConfigError(
            f"registry.backend is 'mlflow' but the mlflow package cannot be imported ({exc}). "
            f"Fix: `{MLFLOW_INSTALL_HINT}` where the tasks run, or set `registry.backend: "
            "warehouse`") from None
    return MlflowClient, MlflowException


def _env_uri(key: str, env: str) -> str:
    value = os.environ.get(env)
    if not value:
        raise ConfigError(f"registry.{key}: the environment variable {env} is not set where this "
                          "task runs. Fix: set it to the MLflow URI (e.g. http://mlflow:5000), or "
                          f"name another variable in `registry.{key}`")
    return value


def mlflow_client(settings: BackendSettings) -> Any:
    """An ``MlflowClient`` on the URIs named by the settings' environment variables."""
    client_cls, _ = _import_mlflow()
    tracking = _env_uri("tracking_uri_env", settings.tracking_uri_env)
    registry = (_env_uri("registry_uri_env", settings.registry_uri_env)
                if settings.registry_uri_env else None)
    return client_cls(tracking_uri=tracking, registry_uri=registry)


class MlflowBackend:
    """Registered model aliases in MLflow, with the audit trail in the warehouse."""

    name = "mlflow"

    def __init__(self, engine: Engine, client: Any) -> None:
        _, self._error = _import_mlflow()
        self.engine = engine
        self.client = client

    # --- reading -------------------------------------------------------------------------------

    def _state(self, model: str) -> tuple[dict[str, str], dict[str, str]]:
        """(alias -> MLflow version number, registered model tags); empty for an unknown model."""
        try:
            found = self.client.get_registered_model(model)
        except self._error as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return {}, {}
            raise
        return {a: str(v) for a, v in (found.aliases or {}).items()}, dict(found.tags or {})

    def _labels(self, model: str, numbers: dict[str, str]) -> dict[str, str]:
        """Alias -> modelwatch version (the ``modelwatch.version`` tag, else MLflow's number)."""
        labels = {}
        for alias in numbers:
            version = self.client.get_model_version_by_alias(model, alias)
            labels[alias] = (version.tags or {}).get(VERSION_TAG) or str(version.version)
        return labels

    def aliases(self, model: str) -> dict[str, str]:
        numbers, _ = self._state(model)
        return self._labels(model, numbers)

    def _find(self, model: str, version: str) -> str | None:
        """The MLflow version number of a modelwatch version, if registered."""
        for found in self.client.search_model_versions(f"name='{model}'"):
            if (found.tags or {}).get(VERSION_TAG) == version:
                return str(found.version)
        if version.isdigit():
            try:
                return str(self.client.get_model_version(model, version).version)
            except self._error as exc:
                if getattr(exc, "error_code", "") != "RESOURCE_DOES_NOT_EXIST":
                    raise
        return None

    # --- writing -------------------------------------------------------------------------------

    def _check_pending(self, model: str, tags: dict[str, str], event: str) -> dict | None:
        """The pending plan of this event (to resume); another event's plan stops the change."""
        pending = json.loads(tags[PENDING_TAG]) if tags.get(PENDING_TAG) else None
        if pending and pending["event"] != event:
            raise ModelwatchError(
                f"{model}: an interrupted registry change ({pending['audit']['event']} to "
                f"{pending['audit']['version']}, plan {pending['plan']}) is pending in MLflow. Fix: "
                "rerun the task of the window that started it, or check the aliases and delete "
                f"the registered model tag {PENDING_TAG}")
        return pending

    def _apply(self, conn: Connection, model: str, event: str, plan: dict[str, str | None],
               row: dict[str, Any], *, write_audit: bool = True) -> None:
        if write_audit:  # first, so a duplicate event fails before MLflow changes
            audit(conn, event, model, row["version"], row["event"], row["from_alias"],
                  row["to_alias"], row["reason"],
                  datetime.fromisoformat(row["window_start"]) if row["window_start"] else None)
        self.client.set_registered_model_tag(
            model, PENDING_TAG, json.dumps({"event": event, "plan": plan, "audit": row}))
        for alias, number in plan.items():
            if number is None:
                try:
                    self.client.delete_registered_model_alias(model, alias)
                except self._error as exc:
                    if getattr(exc, "error_code", "") not in _MISSING:
                        raise
            else:
                self.client.set_registered_model_alias(model, alias, number)
        self.client.set_registered_model_tag(
            model, LAST_EVENT_TAG, json.dumps({"event": event, "audit": row}))
        self.client.delete_registered_model_tag(model, PENDING_TAG)

    def _replayed(self, conn: Connection, action: str, model: str, event: str,
                  tags: dict[str, str]) -> RegistryChange | None:
        """Finish a change this event started but did not record (see the module docstring)."""
        pending = self._check_pending(model, tags, event)
        if pending:
            self._apply(conn, model, event, pending["plan"], pending["audit"])
            return RegistryChange(action, True, self.aliases(model).get("champion"),
                                  f"resumed an interrupted {action}: {pending['plan']}")
        last = json.loads(tags[LAST_EVENT_TAG]) if tags.get(LAST_EVENT_TAG) else None
        if last and last["event"] == event:
            row = last["audit"]
            audit(conn, event, model, row["version"], row["event"], row["from_alias"],
                  row["to_alias"], row["reason"],
                  datetime.fromisoformat(row["window_start"]) if row["window_start"] else None)
            return RegistryChange(action, False, self.aliases(model).get("champion"),
                                  f"already applied in MLflow; audit row restored ({action})")
        return None

    def register(self, model: str, version: str, *, alias: str | None = None,
                 artifact_uri: str | None = None, reason: str = "registered",
                 window_start: datetime | None = None) -> RegistryChange:
        """Create the model version if missing (tagged ``modelwatch.version``), else only alias it."""
        with self.engine.begin() as conn:
            numbers, tags = self._state(model)
            if not numbers and not tags:
                try:
                    self.client.create_registered_model(model, description="monitored by modelwatch")
                except self._error as exc:
                    if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                        raise
            number = self._find(model, version)
            created = number is None
            if created:
                number = str(self.client.create_model_version(
                    model, source=artifact_uri, tags={VERSION_TAG: version},
                    description=reason).version)
            if alias and numbers.get(alias) != number:
                event = event_id(model, f"register:{alias}", version)
                self._check_pending(model, tags, event)
                labels = self._labels(model, numbers)
                plan: dict[str, str | None] = {}
                if alias == "champion" and numbers.get("champion"):
                    plan["previous"] = numbers["champion"]
                plan[alias] = number
                row = {"version": version, "event": "register" if created else "alias",
                       "from_alias": labels.get(alias), "to_alias": alias, "reason": reason,
                       "window_start": window_start.isoformat() if window_start else None}
                self._apply(conn, model, event, plan, row, write_audit=not done(conn, event))
            champion = self.aliases(model).get("champion")
        return RegistryChange("register", created or bool(alias), champion, f"{version} as {alias}")

    def rollback(self, model: str, window_start: datetime, reason: str) -> RegistryChange:
        """Champion -> previous (the bad champion becomes previous). Replaying the window changes
        nothing."""
        event = event_id(model, "rollback", window_start.isoformat())
        with self.engine.begin() as conn:
            if done(conn, event):
                return RegistryChange("rollback", False, self.aliases(model).get("champion"),
                                      "already rolled back")
            numbers, tags = self._state(model)
            replayed = self._replayed(conn, "rollback", model, event, tags)
            if replayed:
                return replayed
            labels = self._labels(model, numbers)
            bad, good = numbers.get("champion"), numbers.get("previous")
            if not good:
                return RegistryChange("rollback", False, labels.get("champion"),
                                      "no previous version to roll back to: register one first")
            if good == bad:
                return RegistryChange("rollback", False, labels["champion"],
                                      f"champion and previous are the same MLflow version {good}: "
                                      "nothing to roll back to")
            row = {"version": labels["previous"], "event": "rollback", "from_alias": "previous",
                   "to_alias": "champion", "reason": f"{reason} (was {labels.get('champion')})",
                   "window_start": window_start.isoformat()}
            self._apply(conn, model, event, {"champion": good, "previous": bad}, row)
        return RegistryChange("rollback", True, labels["previous"],
                              f"{labels.get('champion')} -> {labels['previous']}")

    def promote(self, model: str, window_start: datetime, reason: str) -> RegistryChange:
        """Challenger -> champion (the old champion becomes previous). Idempotent per window."""
        event = event_id(model, "promote", window_start.isoformat())
        with self.engine.begin() as conn:
            if done(conn, event):
                return RegistryChange("promote", False, self.aliases(model).get("champion"),
                                      "already promoted")
            numbers, tags = self._state(model)
            replayed = self._replayed(conn, "promote", model, event, tags)
            if replayed:
                return replayed
            labels = self._labels(model, numbers)
            challenger, old = numbers.get("challenger"), numbers.get("champion")
            if not challenger:
                return RegistryChange("promote", False, labels.get("champion"), "no challenger")
            plan: dict[str, str | None] = {"previous": old} if old else {}
            plan.update({"champion": challenger, "challenger": None})
            row = {"version": labels["challenger"], "event": "promote", "from_alias": "challenger",
                   "to_alias": "champion", "reason": f"{reason} (was {labels.get('champion')})",
                   "window_start": window_start.isoformat()}
            self._apply(conn, model, event, plan, row)
        return RegistryChange("promote", True, labels["challenger"],
                              f"{labels.get('champion')} -> {labels['challenger']}")


@register_backend("mlflow")
def _mlflow(settings: BackendSettings, engine: Engine) -> MlflowBackend:
    return MlflowBackend(engine, mlflow_client(settings))
