"""Config names → SQLAlchemy Core objects. The one place where config becomes SQL.

Every read of a user's input table — predictions, labels, shadow_predictions, offline_features,
kpis — takes its table reference, its model filter, its time filter and its time columns from
here. Names were validated at config load; here they become ``sa.table``/``sa.column`` objects,
which the dialect quotes where needed (schema-qualified names, mixed case, reserved words,
spaces), so nothing from config is ever pasted into a SQL string. A test fails if a module outside
this one composes a table reference or a time filter of its own.

How time works, whatever the column's type
------------------------------------------
A window is a pair of naive-UTC instants (``modelwatch.window``). The warehouse session runs in
the time zone ``warehouse.timezone`` (UTC unless set; ``warehouse/engine``), and every time
boundary is bound as a naive *wall-clock* value of that zone (``bound``). Then:

- a naive ``TIMESTAMP`` column (written in that wall clock) compares natively — no cast of the
  column, so DuckDB's zone maps and PostgreSQL's indexes still prune;
- a ``TIMESTAMP WITH TIME ZONE`` column compares exactly: the database converts the bound value
  (never the column) through the session time zone;
- a ``DATE`` column compares as midnight of that day.

Values read back (``read_time``) are turned into naive UTC the same way, and a query that
computes with time (window indexes, label delays) projects ``utc_time(column)`` instead of the
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

from modelwatch.config.schema import MonitorConfig
from modelwatch.window import to_utc, to_wall_clock


def table_ref(name: str, *columns: str) -> sa.TableClause:
    """A (possibly schema- or catalog-qualified) table name with the columns a query reads."""
    parts = name.split(".")
    table = parts[-1]
    schema = ".".join(parts[:-1]) or None  # ``catalog.schema`` renders as a dotted schema
    return sa.table(table, *(sa.column(c) for c in dict.fromkeys(columns)), schema=schema)


# --- input tables ---------------------------------------------------------------------------------

def predictions_ref(cfg: MonitorConfig, table: str | None = None) -> sa.TableClause:
    """The predictions table (or the reference table) with every column a monitor reads."""
    c = cfg.columns
    names = [c.request_id, c.event_ts, c.model_name, c.model_version, *c.score]
    names += [f.name for f in cfg.features] + list(cfg.segments)
    if c.prediction:
        names.append(c.prediction)
    names += [n for n in (c.item, c.rank) if n]
    return table_ref(table or cfg.tables.predictions, *names)


def key_columns(cfg: MonitorConfig) -> list[str]:
    """The predictions columns without which no window can be read: request id, event time and
    model name."""
    c = cfg.columns
    return [c.request_id, c.event_ts, c.model_name]


def predictions_columns(cfg: MonitorConfig, *columns: str, table: str | None = None
                        ) -> sa.TableClause:
    """The predictions table with only the key columns and ``columns`` (narrow reads)."""
    c = cfg.columns
    return table_ref(table or cfg.tables.predictions, c.request_id, c.event_ts, c.model_name,
                     c.model_version, *columns)


def labels_ref(cfg: MonitorConfig, *columns: str) -> sa.TableClause:
    c = cfg.columns
    item = [c.item] if c.item else []
    return table_ref(cfg.tables.labels, c.request_id, *item, c.label, c.label_ts, *columns)


def shadow_ref(cfg: MonitorConfig, *columns: str) -> sa.TableClause:
    c = cfg.columns
    return table_ref(cfg.tables.shadow_predictions, c.request_id, c.event_ts, c.model_name,
                     c.model_version, *columns)


def offline_ref(cfg: MonitorConfig, *columns: str) -> sa.TableClause:
    return table_ref(cfg.tables.offline_features, cfg.columns.request_id, *columns)


def offline_time_name(cfg: MonitorConfig) -> str:
    """Name of the offline store's computed-at column
    (``data_layer.offline_freshness.timestamp_column``)."""
    return cfg.data_layer.offline_freshness.timestamp_column


def offline_time(cfg: MonitorConfig, tbl: sa.TableClause):
    """The offline store's computed-at column."""
    return tbl.c[offline_time_name(cfg)]


def kpis_ref(cfg: MonitorConfig) -> sa.TableClause:
    s = cfg.outcome
    cols = [s.kpi_ts, s.kpi_name, s.kpi_value] + ([s.kpi_segment] if s.kpi_segment else [])
    return table_ref(cfg.tables.kpis, *cols)


# --- time -------------------------------------------------------------------------------------------

def bound(cfg: MonitorConfig, instant: datetime) -> datetime:
    """A naive-UTC instant as the value bound into SQL (the session's wall clock)."""
    return to_wall_clock(instant, cfg.warehouse.timezone)


def read_time(cfg: MonitorConfig, value: datetime | date | None) -> datetime | None:
    """A timestamp the warehouse returned (naive, aware or a date) as naive UTC."""
    return to_utc(value, cfg.warehouse.timezone)


def event_time(cfg: MonitorConfig, tbl: sa.TableClause | sa.Subquery):
    """The event-time column of the predictions or shadow table (for ordering and selecting)."""
    return tbl.c[cfg.columns.event_ts]


def label_time(cfg: MonitorConfig, tbl: sa.TableClause | sa.Subquery):
    """The label-arrival column of the labels table."""
    return tbl.c[cfg.columns.label_ts]


class utc_time(sa.sql.functions.GenericFunction):  # noqa: N801 - reads as a SQL function
    """A time column of any kind as a naive-UTC ``TIMESTAMP`` (naive values through the session's
    time zone, ``DATE`` as its midnight there): what a query projects when it computes with time
    (window indexes, label delays), so columns of different kinds compare and subtract alike.
    Filters never wrap the column (``time_between``): that would defeat pruning."""

    type = sa.DateTime()
    inherit_cache = True
    name = "utc_time"


@compiles(utc_time)
def _utc_time_default(element, compiler, **kw):  # PostgreSQL, DuckDB, Redshift
    (column,) = element.clauses
    return f"timezone('UTC', CAST({compiler.process(column, **kw)} AS TIMESTAMP WITH TIME ZONE))"


@compiles(utc_time, "snowflake")
def _utc_time_snowflake(element, compiler, **kw):
    (column,) = element.clauses
    return f"CAST(CONVERT_TIMEZONE('UTC', {compiler.process(column, **kw)}) AS TIMESTAMP_NTZ)"


@compiles(utc_time, "bigquery")
def _utc_time_bigquery(element, compiler, **kw):
    (column,) = element.clauses
    return f"DATETIME(TIMESTAMP({compiler.process(column, **kw)}), 'UTC')"


def time_between(cfg: MonitorConfig, column, start: datetime, end: datetime):
    """``start <= column < end`` for a time column of any kind (see the module docstring)."""
    return sa.and_(column >= bound(cfg, start), column < bound(cfg, end))


class finite_number(sa.sql.functions.GenericFunction):  # noqa: N801 - reads as a SQL function
    """A numeric column as a 64-bit float with NaN and ±inf read as NULL.

    Every drift method and moment treats a non-finite value like a missing one (it is counted by
    the null rate here and by the data layer's ``non_finite_share``, which reads the raw column);
    otherwise one NaN poisons a window's sums and exact KS, and sorts above every quantile edge.
    """

    type = sa.Double()
    inherit_cache = True
    name = "finite_number"


@compiles(finite_number)
def _finite_default(element, compiler, **kw):  # PostgreSQL, DuckDB: NaN = NaN holds in both
    (column,) = element.clauses
    x = f"CAST({compiler.process(column, **kw)} AS DOUBLE PRECISION)"
    specials = ", ".join(f"CAST('{v}' AS DOUBLE PRECISION)" for v in ("NaN", "Infinity", "-Infinity"))
    return f"CASE WHEN {x} NOT IN ({specials}) THEN {x} END"


@compiles(finite_number, "sqlite")
def _finite_sqlite(element, compiler, **kw):  # SQLite stores NaN as NULL already
    (column,) = element.clauses
    return f"CAST({compiler.process(column, **kw)} AS REAL)"


def monitored_rows(cfg: MonitorConfig, start: datetime, end: datetime,
                   columns: Sequence[str] | None = None, *,
                   numeric: Sequence[str], table: str | None = None, with_time: bool = False,
                   name: str = "w") -> sa.Subquery:
    """This model's rows of the window with ``columns`` (default: all that the monitor reads;
    and the event time if asked), the
    ``numeric`` ones as finite doubles (``finite_number``): what the window checks, the exact-KS
    samples and the reference profile read."""
    tbl = predictions_ref(cfg, table)
    numeric = set(numeric)
    columns = [c.name for c in tbl.c] if columns is None else columns
    picked = [finite_number(tbl.c[n]).label(n) if n in numeric else tbl.c[n]
              for n in dict.fromkeys(columns) if not with_time or n != cfg.columns.event_ts]
    time = [event_time(cfg, tbl)] if with_time else []
    return sa.select(*time, *picked).where(window_filter(cfg, tbl, start, end)).subquery(name)


# --- filters ----------------------------------------------------------------------------------------

def model_filter(cfg: MonitorConfig, tbl: sa.TableClause):
    """Rows of this model (predictions and shadow tables hold many models)."""
    return tbl.c[cfg.columns.model_name] == cfg.model.name


def window_filter(cfg: MonitorConfig, tbl: sa.TableClause, start: datetime, end: datetime, *,
                  slack: timedelta = timedelta(0)):
    """Rows of this model with an event time in ``[start - slack, end + slack)``, UTC instants.

    ``slack`` widens the window for logs whose clocks may lag the served predictions (the
    shadow log, ``shadow.max_log_skew``).
    """
    return sa.and_(model_filter(cfg, tbl),
                   time_between(cfg, event_time(cfg, tbl), start - slack, end + slack))


def dated_after(cfg: MonitorConfig, tbl: sa.TableClause, instant: datetime):
    """Rows of this model with an event time after ``instant`` (rows dated in the future)."""
    return sa.and_(model_filter(cfg, tbl), event_time(cfg, tbl) > bound(cfg, instant))


def labels_arrived_by(cfg: MonitorConfig, tbl: sa.TableClause | sa.Subquery, as_of: datetime):
    """Labels that had arrived by ``as_of`` (``label_ts <= as_of``)."""
    return label_time(cfg, tbl) <= bound(cfg, as_of)


def label_value(cfg: MonitorConfig, tbl: sa.TableClause | sa.Subquery, kind: str = "numeric"):
    """The label as every layer compares it: text for multiclass models, else a DOUBLE (binary:
    1 = positive). ``kind`` is the label column's type family (``warehouse/labels.label_kind``):

    - ``boolean``: true = 1, false = 0 (PostgreSQL has no BOOLEAN -> DOUBLE cast);
    - text or ENUM with ``labels.positive``: that value = 1, a ``labels.negative`` value = 0,
      anything else NULL (``label_kind`` refuses such values before a query reads them);
    - a number: cast to DOUBLE (a DECIMAL or INTEGER 0/1 compares like a DOUBLE one).
    """
    label = tbl.c[cfg.columns.label]
    if cfg.model.task == "multiclass":
        return sa.cast(label, sa.String)
    if kind == "boolean":
        return sa.cast(sa.case((label.is_(True), 1), (label.is_(False), 0), else_=sa.null()),
                       sa.Double)
    spec = cfg.labels
    if spec.positive is not None:
        text = sa.cast(label, sa.String)
        return sa.cast(sa.case((text == spec.positive, 1), (text.in_(spec.negative), 0),
                               else_=sa.null()), sa.Double)
    return sa.cast(label, sa.Double)


def offline_computed_before(cfg: MonitorConfig, tbl: sa.TableClause, end: datetime):
    """Offline rows computed before ``end``."""
    return offline_time(cfg, tbl) < bound(cfg, end)


def kpi_time(cfg: MonitorConfig, tbl: sa.TableClause):
    """The KPI table's time column (``outcome.kpi_ts``; a ``DATE`` is fine)."""
    return tbl.c[cfg.outcome.kpi_ts]


def kpi_filter(cfg: MonitorConfig, tbl: sa.TableClause, start: datetime, end: datetime):
    return time_between(cfg, kpi_time(cfg, tbl), start, end)


def window_rows(cfg: MonitorConfig, columns: Sequence[str], start: datetime, end: datetime, *,
                table: str | None = None) -> sa.Select:
    """``request_id``, ``event_ts`` and ``columns`` of this model's predictions in the window."""
    c = cfg.columns
    tbl = predictions_columns(cfg, *columns, table=table)
    names = dict.fromkeys([c.request_id, c.event_ts, *columns])
    return sa.select(*(tbl.c[n] for n in names)).where(window_filter(cfg, tbl, start, end))
