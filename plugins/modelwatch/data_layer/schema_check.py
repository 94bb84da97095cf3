"""Schema: missing columns, new columns and type changes of the predictions table against the
column types stored with the reference.

A missing or retyped *monitored* column (a feature, a key column, the score) is an alert; a new
column, or a change to a column nobody monitors, is a warning. Columns that changed are left out
of the other checks, which go on for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.warehouse.source import key_columns

CHECK = "schema"


@dataclass
class SchemaDiff:
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    retyped: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def broken(self) -> set[str]:
        """Columns the other checks must not touch."""
        return set(self.missing) | set(self.retyped)


def monitored_columns(cfg: MonitorConfig) -> list[str]:
    c = cfg.columns
    cols = [*key_columns(cfg), c.model_version, *c.score, *(f.name for f in cfg.features),
            *cfg.segments]
    if c.prediction:
        cols.append(c.prediction)
    return list(dict.fromkeys(cols))


def diff(reference: dict[str, str], live: dict[str, str]) -> SchemaDiff:
    """Differences between two {column: type} maps (names compared exactly)."""
    return SchemaDiff(
        missing=[c for c in reference if c not in live],
        added=[c for c in live if c not in reference],
        retyped={c: (reference[c], live[c]) for c in reference if c in live and reference[c] != live[c]},
    )


def schema_rows(cfg: MonitorConfig, reference: dict[str, str], live: dict[str, str]) -> tuple[
        list[MetricRow], SchemaDiff]:
    """One row per changed column, or one ``ok`` row (feature None) when nothing changed."""
    d = diff(reference, live)
    watched = set(monitored_columns(cfg))
    # a monitored column absent from the reference too is a config error, reported as missing
    d.missing += [c for c in monitored_columns(cfg) if c not in live and c not in d.missing]
    table = cfg.tables.predictions
    rows = []
    for col in d.missing:
        status = "alert" if col in watched else "warn"
        was = reference.get(col) or "expected by the monitor config"
        rows.append(MetricRow("data", CHECK, col, 1.0, 1.0, status, {
            "change": "missing", "reference_type": reference.get(col), "live_type": None,
            "message": f"column {col} is missing from {table} (was {was}); its checks are skipped"}))
    for col, (was, now) in d.retyped.items():
        status = "alert" if col in watched else "warn"
        rows.append(MetricRow("data", CHECK, col, 1.0, 1.0, status, {
            "change": "type_changed", "reference_type": was, "live_type": now,
            "message": f"column {col} of {table} changed type from {was} to {now}"
                       + ("; its checks are skipped" if col in watched else "")}))
    for col in d.added:
        rows.append(MetricRow("data", CHECK, col, 1.0, 1.0, "warn", {
            "change": "added", "reference_type": None, "live_type": live[col],
            "message": f"new column {col} ({live[col]}) in {table}, not in the reference"}))
    if not rows:  # one row either way, so a rerun replaces an earlier window's column rows
        rows.append(MetricRow("data", CHECK, None, 0.0, 1.0, "ok", {
            "message": f"{table}: schema as in the reference ({len(live)} columns)"}))
    return rows, d
