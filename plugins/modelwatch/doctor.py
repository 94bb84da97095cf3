"""``modelwatch doctor``: the live warehouse against a monitor config, before the first run.

One table of findings — check, table, column, found, status, fix — covering what a first run
would trip over, all at once: a missing table or column, a type the checks cannot use (a text
score, a JSON feature), how each time column will be read (aware, or naive as UTC or as the
``warehouse.timezone`` wall clock), an empty reference window, gaps in the last windows, label
coverage and duplicate request ids. Read-only: it writes nothing, not even the output tables.

Columns and their accepted types are the input contract's (``warehouse/contract``), so doctor and
the run agree on what is an error; every query is built with ``warehouse/source``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.config.schema import MonitorConfig
from modelwatch.data_layer.sql import count_if
from modelwatch.warehouse.catalog import live_columns
from modelwatch.warehouse.contract import NUMERIC, TIME, Need, column_needs, type_family
from modelwatch.warehouse.source import (
    event_time,
    labels_ref,
    model_filter,
    offline_time_name,
    predictions_columns,
    read_time,
    time_between,
    window_filter,
)
from modelwatch.window import naive_utc

OK, WARN, ERROR = "ok", "warn", "error"
DEFAULT_WINDOWS = 7
_ALL_TIME = (datetime(1970, 1, 1), datetime(9999, 1, 1))


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table."""

    check: str
    table: str
    column: str
    found: str
    status: str
    fix: str = ""


@dataclass
class Diagnosis:
    model: str
    checks: list[Check] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(c.status == ERROR for c in self.checks)

    @property
    def warnings(self) -> int:
        return sum(c.status == WARN for c in self.checks)

    def to_json(self) -> dict:
        return {"model": self.model, "errors": self.errors, "warnings": self.warnings,
                "checks": [asdict(c) for c in self.checks]}

    def table(self) -> str:
        """Compact and aligned, like the run's metrics table; the fix column last (it is long)."""
        header = ("check", "table", "column", "found", "status", "fix")
        rows = [header, *((c.check, c.table, c.column or "-", c.found, c.status, c.fix or "-")
                          for c in self.checks)]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        out = ["  ".join([*(r[i].ljust(widths[i]) for i in range(5)), r[5]]).rstrip() for r in rows]
        verdict = ("ready for a first run" if not self.errors else
                   "fix the errors before the first run (exit 2)")
        out.append(f"{self.model}: {len(self.checks)} checks, {self.errors} error(s), "
                   f"{self.warnings} warning(s): {verdict}")
        return "\n".join(out)


@dataclass(frozen=True)
class _Input:
    key: str  # config key of the table name
    name: str
    needs: list[Need]
    severity: str  # of a problem: error when the run would stop, warn when it skips checks
    why: str = ""  # what a warn-level problem costs


def _inputs(cfg: MonitorConfig) -> list[_Input]:
    """The tables a run of this config reads, each with the columns it reads from it."""
    def merged(*lists: list[Need]) -> list[Need]:
        return list({(n.key, n.column): n for needs in lists for n in needs}.values())

    t = cfg.tables
    predictions = merged(*(column_needs(cfg, "predictions", s) for s in ("window", "shadow")))
    out = [_Input("tables.predictions", t.predictions, predictions, ERROR)]
    if cfg.outcome.enabled or cfg.shadow.enabled:
        out.append(_Input("tables.labels", t.labels, column_needs(cfg, "labels"), ERROR))
    if cfg.shadow.enabled:
        out.append(_Input("tables.shadow_predictions", t.shadow_predictions,
                          column_needs(cfg, "shadow_predictions", "shadow"), ERROR))
    d = cfg.data_layer
    if d.enabled and (d.skew.enabled or d.offline_freshness.enabled):
        offline = [Need("columns.request_id", cfg.columns.request_id,
                        frozenset(TIME | NUMERIC | {"text", "enum", "other"}), "a scalar")]
        if d.skew.enabled:
            offline += [Need(f"features[{f.name}]", f.name, frozenset(
                NUMERIC if f.kind == "numeric" else {"text", "enum", "numeric", "boolean"}),
                "a number" if f.kind == "numeric" else "text, an ENUM, an integer or a BOOLEAN")
                for f in cfg.features]
        if d.offline_freshness.enabled:
            offline.append(Need("data_layer.offline_freshness.timestamp_column",
                                offline_time_name(cfg), frozenset(TIME),
                                "a TIMESTAMP, TIMESTAMP WITH TIME ZONE or DATE"))
        off = [k for k, on in (("data_layer.skew.enabled", d.skew.enabled),
                               ("data_layer.offline_freshness.enabled",
                                d.offline_freshness.enabled)) if on]
        out.append(_Input("tables.offline_features", t.offline_features, offline, WARN,
                          "the skew/offline-freshness checks it serves are skipped; or set "
                          + " and ".join(f"{k}: false" for k in off)))
    if t.kpis and cfg.outcome.enabled:
        out.append(_Input("tables.kpis", t.kpis, column_needs(cfg, "kpis"), ERROR))
    if cfg.reference.table:
        out.append(_Input("reference.table", cfg.reference.table,
                          column_needs(cfg, "predictions", "window"), ERROR))
    return out


def _time_kind(cfg: MonitorConfig, family: str) -> str:
    zone = cfg.warehouse.timezone
    local = zone not in (None, "UTC")
    wall = (f"naive, read as {zone} wall clock (warehouse.timezone)" if local
            else "naive, read as UTC; set warehouse.timezone if it is local time")
    return {"time_aware": "aware, exact instants", "time_naive": wall,
            "date": "a date, read as midnight " + (f"in {zone}" if local else "UTC")}[family]


def _column_check(cfg: MonitorConfig, inp: _Input, need: Need, live: dict[str, str]) -> Check:
    """One configured column: present, and of a type its check can use."""
    row = {"check": need.key, "table": inp.name, "column": need.column}
    if need.column not in live:
        close = [name for name in live if name.lower() == need.column.lower()]
        fix = (f"the table has {close[0]!r} (names are case-sensitive; write it exactly)" if close
               else f"set {need.key} to the column that holds it, or add the column")
        return Check(**row, found="missing", status=inp.severity,
                     fix=fix + (f" ({inp.why})" if inp.why else ""))
    type_name = live[need.column]
    family = type_family(type_name)
    if family not in need.accepts:
        if family == "nested":
            fix = (f"a scalar is needed: extract it in a view (e.g. CAST({need.column}->>'field' "
                   f"AS DOUBLE)) and point {inp.key} at the view, or set {need.key} to another "
                   "column")
        else:
            fix = (f"cast it in a view (CAST({need.column} AS the right type)) and point {inp.key} "
                   f"at the view, or set {need.key} to another column")
        return Check(**row, found=f"{type_name}, needs {need.wants}", status=inp.severity,
                     fix=fix + (f" ({inp.why})" if inp.why else ""))
    found = f"{type_name} ({_time_kind(cfg, family)})" if family in TIME else type_name
    return Check(**row, found=found, status=OK)


def _table_checks(conn: Connection, cfg: MonitorConfig, inp: _Input) -> tuple[list[Check], bool]:
    """The table and its columns; True when every column is usable (its data can be read)."""
    live = live_columns(conn, inp.name)
    if live is None:
        fix = (f"create it, or point {inp.key} at the right table (schema-qualified if it is "
               "not in the default schema)" + (f"; {inp.why}" if inp.why else ""))
        return [Check(inp.key, inp.name, "", "no such table or view", inp.severity, fix)], False
    checks = [Check(inp.key, inp.name, "", f"exists, {len(live)} columns", OK)]
    checks += [_column_check(cfg, inp, n, live) for n in inp.needs]
    return checks, all(c.status == OK for c in checks)


def _windows(cfg: MonitorConfig, newest: datetime, count: int) -> list[tuple[datetime, datetime]]:
    """The last ``count`` schedule windows, the last one holding ``newest``: windows of
    ``schedule.window`` counted from ``schedule.start_date`` (the DAG's data intervals)."""
    step = cfg.schedule.window
    anchor = datetime.combine(cfg.schedule.start_date, datetime.min.time())
    last = anchor + ((newest - anchor) // step) * step
    return [(last - i * step, last - i * step + step) for i in reversed(range(count))]


def _reference_bounds(cfg: MonitorConfig) -> tuple[datetime, datetime]:
    ref = cfg.reference
    if ref.start and ref.end:
        return naive_utc(ref.start), naive_utc(ref.end)
    return _ALL_TIME


def _fmt(value: datetime) -> str:
    return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")


class _Data:
    """The data checks of the predictions (and labels) table: rows, coverage, duplicates."""

    def __init__(self, conn: Connection, cfg: MonitorConfig, windows: int):
        self.conn, self.cfg, self.windows = conn, cfg, windows
        self.tbl = predictions_columns(cfg)
        self.name = cfg.tables.predictions
        self.time_column = event_time(cfg, self.tbl).name
        self.oldest: datetime | None = None

    def scalar(self, query):
        return self.conn.execute(query).scalar()

    def newest(self) -> tuple[list[Check], datetime | None]:
        cfg, tbl = self.cfg, self.tbl
        ev = event_time(cfg, tbl)
        oldest, newest = self.conn.execute(sa.select(sa.func.min(ev), sa.func.max(ev))
                                           .where(model_filter(cfg, tbl))).one()
        self.oldest, newest = read_time(cfg, oldest), read_time(cfg, newest)
        if newest is None:
            names = self.conn.execute(sa.select(tbl.c[cfg.columns.model_name]).distinct()
                                      .limit(5)).scalars().all()
            seen = ", ".join(repr(str(n)) for n in names) or "none: the table is empty"
            return [Check("newest event", self.name, self.time_column,
                          f"no rows of model {cfg.model.name!r} (model names found: {seen})", ERROR,
                          f"set model.name to the value of {cfg.columns.model_name} this model "
                          "logs, or load its predictions")], None
        return [Check("newest event", self.name, self.time_column, f"{_fmt(newest)} UTC", OK)], newest

    def counts(self, periods: list[tuple[datetime, datetime]], table: str | None = None) -> list[int]:
        """Rows of this model in each period, in one statement."""
        cfg = self.cfg
        tbl = predictions_columns(cfg, table=table)
        ev = event_time(cfg, tbl)
        query = sa.select(*(count_if(time_between(cfg, ev, s, e), f"n{i}")
                            for i, (s, e) in enumerate(periods)))
        query = query.where(window_filter(cfg, tbl, periods[0][0], periods[-1][1]))
        row = self.conn.execute(query).one()
        return [int(v or 0) for v in row]

    def reference(self, newest: datetime | None) -> list[Check]:
        cfg = self.cfg
        ref = cfg.reference
        if ref.s3_uri:
            return [Check("reference rows", ref.s3_uri, "", "a parquet file in S3: counted when "
                          "the profile is computed (modelwatch profile)", OK)]
        start, end = _reference_bounds(cfg)
        table = ref.table or cfg.tables.predictions
        (rows,) = self.counts([(start, end)], table=ref.table)
        where = (f"[{_fmt(start)}, {_fmt(end)})" if (start, end) != _ALL_TIME else "all rows")
        if rows == 0:
            hint = (f"; the newest event of the predictions table is {_fmt(newest)}"
                    if newest else "")
            return [Check("reference rows", table, "", f"0 rows of {cfg.model.name!r} in {where}",
                          ERROR, "point reference.start/end at a period with traffic, or load "
                          f"the reference table{hint}")]
        per_window = ""
        if (start, end) != _ALL_TIME:
            per_window = f", {rows / max((end - start) / cfg.schedule.window, 1):,.0f} per window"
        return [Check("reference rows", table, "", f"{rows:,} rows in {where}{per_window}", OK)]

    def recent(self, newest: datetime) -> list[Check]:
        # windows before the model's first event are not gaps: it was not serving yet
        periods = [p for p in _windows(self.cfg, newest, self.windows) if p[1] > self.oldest]
        checks = []
        for (start, end), rows in zip(periods, self.counts(periods), strict=True):
            label = f"{_fmt(start)} – {_fmt(end)}: {rows:,} rows"
            if end > newest:
                label += " (holds the newest event: may be partial)"
            checks.append(Check("window rows", self.name, self.time_column, label,
                                OK if rows else WARN,
                                "" if rows else "a window without rows: the run flags its volume; "
                                "check the pipeline that loads the predictions"))
        return checks

    def label_coverage(self, newest: datetime) -> list[Check]:
        """Share of predictions with a label: in the reference window when it is one of the
        predictions table, else in the last windows old enough for labels (``labels.delay``)."""
        cfg = self.cfg
        ref = cfg.reference
        if ref.start and ref.end and not ref.staged:
            start, end = _reference_bounds(cfg)
            period = "the reference window"
        else:
            periods = _windows(cfg, newest - cfg.labels.delay, self.windows)
            start, end = periods[0][0], periods[-1][1]
            period = f"the last {self.windows} windows older than labels.delay"
        cols = cfg.columns
        tbl, lbl = self.tbl, labels_ref(cfg)
        match = lbl.c[cols.request_id] == tbl.c[cols.request_id]
        if cols.item:
            match = sa.and_(match, lbl.c[cols.item] == tbl.c[cols.item])
        labelled = sa.exists().where(match)
        query = sa.select(sa.func.count(), count_if(labelled, "labelled")).where(
            window_filter(cfg, tbl, start, end))
        total, with_label = self.conn.execute(query).one()
        total, with_label = int(total or 0), int(with_label or 0)
        where = f"{period} [{_fmt(start)}, {_fmt(end)})"
        if total == 0:
            return [Check("label coverage", cfg.tables.labels, cols.label,
                          f"no predictions in {where} to join labels to", WARN,
                          "realized performance waits for labelled windows")]
        share = with_label / total
        found = f"{share:.1%} of {total:,} predictions in {where} have a label"
        if with_label == 0:
            return [Check("label coverage", cfg.tables.labels, cols.label, found, WARN,
                          f"no label joins on {cols.request_id}: check that both tables hold the "
                          "same request ids, and labels.delay")]
        return [Check("label coverage", cfg.tables.labels, cols.label, found, OK)]

    def duplicates(self, newest: datetime) -> list[Check]:
        cfg = self.cfg
        cols = cfg.columns
        ((start, end),) = _windows(cfg, newest, 1)
        tbl = predictions_columns(cfg, *([cols.item] if cols.item else []))
        keys = [tbl.c[cols.request_id], *([tbl.c[cols.item]] if cols.item else [])]
        dup = (sa.select(*keys, sa.func.count().label("n")).where(window_filter(cfg, tbl, start, end))
               .group_by(*keys).having(sa.func.count() > 1).subquery("dup"))
        ids, rows = self.conn.execute(sa.select(sa.func.count(), sa.func.sum(dup.c.n))).one()
        key = "(request_id, item)" if cols.item else "request_id"
        where = f"the newest window [{_fmt(start)}, {_fmt(end)})"
        if not ids:
            return [Check("duplicate ids", self.name, cols.request_id,
                          f"none in {where}", OK)]
        return [Check("duplicate ids", self.name, cols.request_id,
                      f"{int(ids):,} {key} values occur more than once ({int(rows):,} rows) in "
                      f"{where}", WARN, "each request should be logged once: the run's "
                      "duplicate_request_id check flags it and label joins count it twice; "
                      "dedupe upstream")]


def _safely(conn: Connection, check: str, table: str, fn, *args):
    """``fn(*args)``, or an error row when the warehouse refused its query (not a traceback)."""
    try:
        return fn(*args)
    except sa.exc.DBAPIError as exc:
        conn.rollback()  # PostgreSQL refuses the next statement of a failed transaction
        text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return [Check(check, table, "", f"query failed: {text}", ERROR,
                      "check that the monitoring user can SELECT the table")]


def diagnose(engine: Engine, cfg: MonitorConfig, *, windows: int = DEFAULT_WINDOWS) -> Diagnosis:
    """Every finding about ``cfg``'s input tables on the live warehouse.

    Data checks run only on tables whose configured columns are all usable, so one broken column
    is one finding, not a cascade of failed queries.
    """
    out = Diagnosis(cfg.model.name)
    with engine.connect() as conn:
        usable = {}
        for inp in _inputs(cfg):
            checks, usable[inp.key] = _table_checks(conn, cfg, inp)
            out.checks += checks
        if not usable["tables.predictions"]:
            return out
        data = _Data(conn, cfg, windows)
        name = cfg.tables.predictions
        answer = _safely(conn, "newest event", name, data.newest)
        found, newest = answer if isinstance(answer, tuple) else (answer, None)
        out.checks += found
        if usable.get("reference.table", True):
            out.checks += _safely(conn, "reference rows", cfg.reference.table or name,
                                  data.reference, newest)
        if newest is None:
            return out
        out.checks += _safely(conn, "window rows", name, data.recent, newest)
        if usable.get("tables.labels"):
            out.checks += _safely(conn, "label coverage", cfg.tables.labels, data.label_coverage,
                                  newest)
        out.checks += _safely(conn, "duplicate ids", name, data.duplicates, newest)
    return out


def run_doctor(cfg: MonitorConfig, *, windows: int = DEFAULT_WINDOWS, resolver=None) -> Diagnosis:
    """``diagnose`` on the config's warehouse (``WarehouseUnavailable`` if it cannot be reached)."""
    from modelwatch.warehouse.engine import get_engine

    return diagnose(get_engine(cfg.warehouse, resolver), cfg, windows=windows)

