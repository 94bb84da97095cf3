"""Render the config reference (docs/config.md) from the schema, so the docs cannot drift.

``python -m modelwatch.config.docs > docs/config.md`` regenerates it; a unit test fails when the
committed file differs from what the schema says.
"""

from __future__ import annotations

import typing

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from modelwatch.config.schema import MonitorConfig
from modelwatch.paths import PROJECT_DIR

INTRO = """# Monitor config reference

One YAML file per monitored model in `include/monitors/`. Files are validated strictly: an
unknown or misspelt key is an error, and every error names the file, the key, the bad value and
the fix. Validate a file with `modelwatch check-config PATH`.

Durations are written like `90s`, `30m`, `6h`, `1d`, `2w`. Table and column names must be plain
SQL identifiers (`[A-Za-z_][A-Za-z0-9_]*`, tables optionally `schema.table`, or
`catalog.schema.table` on DuckDB); they are quoted by the warehouse dialect, never pasted into SQL.
Secrets never go in this file: name an Airflow connection (`warehouse.conn_id`) or an
environment variable holding the URL (`warehouse.url_env`).

*This file is generated from the schema by `python -m modelwatch.config.docs`.*
"""


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if args and origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    name = getattr(annotation, "__name__", str(annotation))
    return {"timedelta": "duration", "str": "string", "float": "number", "int": "integer",
            "bool": "boolean", "date": "date", "datetime": "date-time (UTC)"}.get(name, name)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        return "see below" if field.default_factory.__name__.startswith("_") else "(defaults)"
    value = field.default
    if value is None:
        return "none"
    if hasattr(value, "total_seconds"):
        return f"`{int(value.total_seconds())}s`"
    return f"`{value}`"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for arg in _flatten(field.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg)

    walk(root)
    return seen


def _flatten(annotation: object) -> list[object]:
    args = typing.get_args(annotation)
    return [annotation] + [x for a in args for x in _flatten(a)] if args else [annotation]


def render() -> str:
    parts = [INTRO]
    for model in _models(MonitorConfig):
        doc = (model.__doc__ or "").strip().splitlines()[0] if model.__doc__ else ""
        parts.append(f"\n## {model.__name__}\n")
        if doc and not doc.startswith("!!!") and "Usage docs" not in doc:
            parts.append(f"{doc}\n")
        parts.append("| key | type | default | meaning |\n|---|---|---|---|")
        for name, field in model.model_fields.items():
            desc = (field.description or "").replace("|", "\\|")
            parts.append(f"| `{name}` | {_type_name(field.annotation)} | {_default(field)} | "
                         f"{desc} |")
    example = (PROJECT_DIR / "include" / "monitors" / "fraud_demo.yaml").read_text()
    parts.append("\n## Example (the demo's monitor)\n\n```yaml\n" + example.rstrip() + "\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
