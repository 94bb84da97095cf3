"""Load monitor YAML files and turn validation failures into errors a person can act on.

Every message names the file, the key (as a path like ``features[2].kind``), the bad value and
what to write instead, because the reader is usually someone looking at a broken DAG in the UI.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ConfigError


def _key_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and not part.startswith(("function-", "literal[")):
            path += f".{part}" if path else part
    return path or "(top level)"


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names valid at the parent of ``loc``, for 'unknown key' messages."""
    model: type[BaseModel] | None = MonitorConfig
    mapping_key = False  # the next part is a key of a dict field (``outcome.kpis.<name>``)
    for part in loc[:-1]:
        if model is None or isinstance(part, int) or mapping_key:
            mapping_key = False
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        mapping_key = getattr(annotation, "__origin__", None) is dict
        args = getattr(annotation, "__args__", ()) or (annotation,)
        model = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return sorted(model.model_fields) if model else []


def _fix_for(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "add this key (see docs/config.md)"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(error["loc"])
        hint = f"; keys allowed here: {', '.join(allowed)}" if allowed else ""
        return f"remove it or fix its spelling{hint}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"use one of {expected}"
    if kind == "value_error":
        return "see the message above"
    return f"expected {error['msg'].lower().removeprefix('input should be ')}"


def format_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid monitor config ({exc.error_count()} problem(s))"]
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        shown = "(missing)" if error["type"] == "missing" else repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        lines.append(
            f"  - key `{_key_path(error['loc'])}`: value {shown}: {message}. Fix: {_fix_for(error)}"
        )
    return "\n".join(lines)


def load_monitor(path: str | Path) -> MonitorConfig:
    """Read and validate one monitor file; raise ConfigError with an actionable message."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found. Fix: check the path") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}. "
            "Fix: check indentation and quoting there"
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: key `(top level)`: value {type(raw).__name__}: a monitor file must be a "
            "mapping. Fix: start from include/monitors/fraud_demo.yaml"
        )
    try:
        return MonitorConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from None


def monitor_files(directory: str | Path) -> list[Path]:
    """Monitor files in a stable order, so DAG parsing is deterministic."""
    directory = Path(directory)
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_monitors_dir(directory: str | Path) -> dict[Path, MonitorConfig | ConfigError]:
    """Every monitor in a folder, each either a config or the error that stopped it."""
    results: dict[Path, MonitorConfig | ConfigError] = {}
    for path in monitor_files(directory):
        try:
            results[path] = load_monitor(path)
        except ConfigError as exc:
            results[path] = exc
    return results
