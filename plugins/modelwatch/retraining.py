"""Run the retraining target named in the monitor config and register its result as challenger.

A target is either a Python callable ``package.module:function`` taking ``(cfg, request)`` and
returning a ``TrainedModel`` (or a dict with the same keys), or a command that receives the
request as JSON in ``$MODELWATCH_RETRAIN_REQUEST`` and prints a JSON object with ``version`` (and
optionally ``artifact_uri``, ``metrics``) on its last stdout line.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ConfigError, ModelwatchError
from modelwatch.registry import RegistryChange, get_backend


@dataclass(frozen=True)
class RetrainRequest:
    model_name: str
    window_start: datetime
    window_end: datetime
    reason: str


@dataclass(frozen=True)
class TrainedModel:
    version: str
    artifact_uri: str | None = None
    metrics: dict = field(default_factory=dict)


def _load_callable(spec: str):
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"retraining.callable {spec!r} cannot be imported ({exc}). Fix: point "
                          "it at an importable `package.module:function`") from None


def run_target(cfg: MonitorConfig, request: RetrainRequest) -> TrainedModel:
    if cfg.retraining is None:
        raise ConfigError(f"{cfg.model.name}: no `retraining` target in the monitor config. Fix: "
                          "add `retraining: {callable: package.module:function}`")
    if cfg.retraining.callable:
        result = _load_callable(cfg.retraining.callable)(cfg, request)
    else:
        env = {**os.environ, "MODELWATCH_RETRAIN_REQUEST": json.dumps(asdict(request), default=str)}
        done = subprocess.run(cfg.retraining.command, env=env, capture_output=True, text=True)
        if done.returncode:
            raise ModelwatchError(f"retraining command failed ({done.returncode}): "
                                  f"{done.stderr[-2000:]}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        result = json.loads(lines[-1]) if lines else {}
    if isinstance(result, dict):
        result = TrainedModel(**result)
    if not isinstance(result, TrainedModel) or not result.version:
        raise ModelwatchError(f"retraining target returned {result!r}; it must return a "
                              "TrainedModel (or dict) with a `version`")
    return result


def retrain_and_register(engine, cfg: MonitorConfig, request: RetrainRequest
                         ) -> tuple[TrainedModel, RegistryChange]:
    """Train, then register the new version as challenger (so it enters shadow) in the
    configured registry backend."""
    trained = run_target(cfg, request)
    change = get_backend(cfg.registry, engine).register(
        cfg.model.name, trained.version, alias="challenger", artifact_uri=trained.artifact_uri,
        reason=f"retrain: {request.reason}", window_start=request.window_start)
    return trained, change
