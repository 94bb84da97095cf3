"""The input contract: do the user's tables hold what the monitor config says, in usable types?

Checked before a step reads a table, so a missing table, a missing column, a text score or a JSON
feature stops the step with one message that names the table, the column, what was found and
the config key that fixes it — instead of a raw ``BinderException`` from deep inside a query.
Every problem of the step's tables is reported at once. ``modelwatch doctor`` reports the same
findings (and more) before a first run.

Types are judged by family, from the catalog's type name (``warehouse/catalog``), so the same
rule covers DuckDB, PostgreSQL and the other dialects' spellings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ContractError
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.source import table_ref

# type family -> patterns of upper-case catalog type names
_FAMILIES: list[tuple[str, re.Pattern]] = [
    ("nested", re.compile(r"JSON|STRUCT|MAP|\[|ARRAY|LIST|UNION|VARIANT|OBJECT|RECORD|BLOB|BYTEA")),
    ("time_aware", re.compile(r"TIMESTAMP.*WITH TIME ZONE|TIMESTAMPTZ|TIMESTAMP_TZ|TIMESTAMP_LTZ")),
    ("time_naive", re.compile(r"TIMESTAMP|DATETIME")),
    ("date", re.compile(r"^DATE$")),
    ("boolean", re.compile(r"^BOOL")),
    ("numeric", re.compile(r"INT|DOUBLE|REAL|FLOAT|DECIMAL|NUMERIC|NUMBER|HUGEINT")),
    ("enum", re.compile(r"ENUM|USER-DEFINED")),
    ("text", re.compile(r"CHAR|TEXT|STRING|VARCHAR|UUID")),
]
TIME = {"time_aware", "time_naive", "date"}
NUMERIC = {"numeric", "boolean"}  # a 0/1 boolean is a usable number (casts to 0.0/1.0)
CATEGORICAL = {"text", "enum", "numeric", "boolean"}
ANY_SCALAR = TIME | NUMERIC | CATEGORICAL | {"other"}


def type_family(type_name: str) -> str:
    """``time_aware``, ``time_naive``, ``date``, ``numeric``, ``boolean``, ``enum``, ``text``,
    ``nested`` (JSON, arrays, structs: never a scalar) or ``other``."""
    name = type_name.upper()
    for family, pattern in _FAMILIES:
        if pattern.search(name):
            return family
    return "other"


@dataclass(frozen=True)
class Need:
    """One column a step reads: the config key that names it and the type families it accepts."""

    key: str
    column: str
    accepts: frozenset[str]
    wants: str  # what to say when the type is wrong


def _needs(cfg: MonitorConfig, table_key: str, step: str = "window") -> list[Need]:
    c = cfg.columns

    def need(key, column, accepts, wants):
        return Need(key, column, frozenset(accepts), wants)

    time = (TIME, "a TIMESTAMP, TIMESTAMP WITH TIME ZONE or DATE")
    number = (NUMERIC, "a number (DOUBLE, REAL, INTEGER, BIGINT, DECIMAL)")
    scalar = (ANY_SCALAR - {"nested"}, "a scalar (text, number, boolean or timestamp)")
    category = (CATEGORICAL, "text, an ENUM, an integer code or a BOOLEAN")
    if table_key in ("predictions", "shadow_predictions"):
        needs = [need("columns.request_id", c.request_id, *scalar),
                 need("columns.event_ts", c.event_ts, *time),
                 need("columns.model_name", c.model_name, *category),
                 need("columns.model_version", c.model_version, *scalar)]
        needs += [need("columns.score", s, *number) for s in c.score[:1 if table_key != "predictions"
                                                                     else None]]
        if c.latency_ms and step == "shadow":
            needs.append(need("columns.latency_ms", c.latency_ms, *number))
        if table_key == "predictions" and step == "window":
            needs += [need(f"features[{f.name}]", f.name, *(number if f.kind == "numeric" else category))
                      for f in cfg.features]
        if table_key == "predictions":
            needs += [need("segments", s, *category) for s in cfg.segments]
            if c.prediction:
                needs.append(need("columns.prediction", c.prediction, *scalar))
            needs += [need(f"columns.{k}", v, *scalar) for k, v in (("item", c.item), ("rank", c.rank))
                      if v]
        return needs
    if table_key == "labels":
        needs = [need("columns.request_id", c.request_id, *scalar),
                 need("columns.label", c.label, *scalar),
                 need("columns.label_ts", c.label_ts, *time)]
        if c.item:
            needs.append(need("columns.item", c.item, *scalar))
        return needs
    if table_key == "kpis":
        s = cfg.outcome
        needs = [need("outcome.kpi_ts", s.kpi_ts, *time), need("outcome.kpi_name", s.kpi_name, *category),
                 need("outcome.kpi_value", s.kpi_value, *number)]
        if s.kpi_segment:
            needs.append(need("outcome.kpi_segment", s.kpi_segment, *category))
        return needs
    raise ValueError(f"no contract for table key {table_key!r}")


def column_needs(cfg: MonitorConfig, table_key: str, step: str = "window") -> list[Need]:
    """The columns ``step`` reads from input table ``table_key`` (``predictions``,
    ``shadow_predictions``, ``labels``, ``kpis``) and the type families each accepts: what
    ``modelwatch doctor`` lists, ok or not."""
    return _needs(cfg, table_key, step)


@dataclass(frozen=True)
class Finding:
    """One problem with a user's table: what, where, and the fix."""

    table_key: str
    table: str
    column: str | None
    found: str
    fix: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where} (tables.{self.table_key}): {self.found}. Fix: {self.fix}"


def findings(conn: Connection, cfg: MonitorConfig, table_keys: tuple[str, ...],
             table_names: dict[str, str] | None = None, *, step: str = "window") -> list[Finding]:
    """Every contract problem of the given input tables (empty when all is usable).

    ``step``: what reads them — ``window`` (profile and window checks: the features too),
    ``outcome`` (keys, scores, segments) or ``shadow`` (also the latency column).
    """
    out: list[Finding] = []
    for key in table_keys:
        table = (table_names or {}).get(key) or getattr(cfg.tables, key)
        if table is None:
            continue
        needs = _needs(cfg, key, step)
        live = live_columns(conn, table)
        if live is None:
            out.append(Finding(key, table, None, "no such table or view",
                               f"create it, or point tables.{key} at the right table "
                               "(schema-qualified if it is not in the default schema)"))
            continue
        for n in needs:
            if n.column not in live:
                close = [name for name in live if name.lower() == n.column.lower()]
                hint = (f"the table has {close[0]!r} (names are case-sensitive; write it exactly)"
                        if close else f"set {n.key} to the column that holds it")
                out.append(Finding(key, table, n.column, f"no such column ({n.key})", hint))
                continue
            family = type_family(live[n.column])
            if family not in n.accepts:
                out.append(Finding(key, table, n.column,
                                   f"its type is {live[n.column]} ({n.key} needs {n.wants})",
                                   f"cast it in a view (CAST(... AS the right type)) and point "
                                   f"tables.{key} at the view, or set {n.key} to another column"))
        probe = _probe(conn, key, table, [n.column for n in needs if n.column in live])
        if probe is not None:
            out.append(probe)
    return out


def _probe(conn: Connection, key: str, table: str, columns: list[str]) -> Finding | None:
    """Read zero rows of the columns: a permission problem shows here, not mid-window."""
    if not columns:
        return None
    tbl = table_ref(table, *columns)
    try:
        conn.execute(sa.select(*(tbl.c[c] for c in columns)).limit(0)).all()
    except sa.exc.DBAPIError as exc:
        conn.rollback()  # PostgreSQL refuses the next statement of a failed transaction
        text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if "permission" in text.lower() or "privilege" in text.lower():
            return Finding(key, table, None, f"the warehouse refused to read it ({text})",
                           "grant the monitoring user SELECT on it (GRANT SELECT ON <table> TO <user>)")
        return Finding(key, table, None, f"reading it failed ({text})",
                       f"check that tables.{key} is a readable table or view")
    return None


def ensure_inputs(engine: Engine, cfg: MonitorConfig, table_keys: tuple[str, ...],
                  table_names: dict[str, str] | None = None, *, step: str = "window") -> None:
    """Raise one ``ContractError`` listing every problem of the step's input tables.

    On a connection of its own, before the step's transaction, so a failed probe never aborts
    the step's work.
    """
    with engine.connect() as conn:
        problems = findings(conn, cfg, table_keys, table_names, step=step)
    _raise(cfg, problems)


def usable_features(engine: Engine, cfg: MonitorConfig, table: str | None = None
                    ) -> tuple[MonitorConfig, list[Finding]]:
    """The config without the features the predictions table cannot serve, and why each went.

    A dropped or retyped feature column is a schema change the data layer reports (and pages
    on); the window's other features are still monitored. Any other problem — a missing table,
    a key column, the score — stops the step (``ContractError``).
    """
    names = {"predictions": table} if table else None
    with engine.connect() as conn:
        problems = findings(conn, cfg, ("predictions",), names)
    features = {f.name for f in cfg.features}
    dropped = [p for p in problems if p.column in features and p.column not in cfg.segments]
    _raise(cfg, [p for p in problems if p not in dropped])
    if not dropped:
        return cfg, []
    gone = {p.column for p in dropped}
    return cfg.model_copy(update={"features": [f for f in cfg.features if f.name not in gone]}), dropped


def _raise(cfg: MonitorConfig, problems: list[Finding]) -> None:
    """The first problem on the first line (what a page or a task log shows first), the rest
    below it."""
    if problems:
        more = (f" (and {len(problems) - 1} more problem(s) with the input tables, below)"
                if len(problems) > 1 else "")
        rest = "".join(f"\n  - {p}" for p in problems[1:])
        raise ContractError(f"{cfg.model.name}: {problems[0]}{more}{rest}")
