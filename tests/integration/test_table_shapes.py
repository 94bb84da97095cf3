"""The conformance matrix: the same data in different table shapes gives the same ``mw_metric``.

One small seeded scenario (predictions with numeric and categorical features, segments and a
score; late labels; a shadow challenger; the offline feature store; a daily KPI) is loaded once
per dialect as plain tables — the *baseline* shape — and then rebuilt, inside the warehouse, in
other shapes: names (schema-qualified, mixed case, reserved words, spaces, views), time
(timestamptz written at +05:30, local wall clock with ``warehouse.timezone``, DATE KPIs) and
types (ENUM, BOOLEAN and integer-coded categoricals, REAL/INTEGER/BIGINT/DECIMAL numerics, a
DECIMAL score, BOOLEAN and string labels, NULL model_version). Every shape runs the profile and
one window of every layer (data incl. Great Expectations and skew, model, outcome, shadow,
KPIs) on DuckDB and on the real PostgreSQL server, and must write the same rows as the baseline
on the same dialect — same keys, same status, values within 1e-9 relative — and the baseline
must agree with itself across the dialects.

Values are chosen to be exact in every type they are cast to (multiples of 1/64 or 1/4096 below
2^17, integers for the integer columns), so a REAL or DECIMAL column holds the same numbers as
the DOUBLE baseline. Shapes that do not interact share one variant to keep the file short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ContractError
from modelwatch.runner import (
    step_data_layer,
    step_outcome,
    step_profile,
    step_publish,
    step_shadow,
    step_window_checks,
)
from modelwatch.warehouse.engine import engine_for_url
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables, mw_metric
from modelwatch.window import Window

pytestmark = pytest.mark.postgres

START = datetime(2026, 9, 1)
DAYS = 21
ROWS_PER_DAY = 1500
SHIFT_DAY = 20  # ``risk`` shifts from this day on: the window has something to flag
WINDOW = Window(START + timedelta(days=SHIFT_DAY - 1), START + timedelta(days=SHIFT_DAY))
CHANNELS = ["app", "pos", "web"]
REGIONS = ["APAC", "EU", "NA"]
TIERS = ["gold", "standard"]


def q64(x: np.ndarray) -> np.ndarray:
    """Multiples of 1/64: exact in REAL, DOUBLE and DECIMAL(18, 10) alike."""
    return np.round(x * 64.0) / 64.0


def generate(seed: int = 17) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    preds, labels, shadow, offline = [], [], [], []
    next_id = 0
    for d in range(DAYS):
        day = START + timedelta(days=d)
        n = int(ROWS_PER_DAY * (0.85 if day.weekday() >= 5 else 1.0))
        ts = pd.Series(pd.to_datetime(day) + pd.to_timedelta(
            np.sort(rng.integers(0, 86400, n)), unit="s"))
        shifted = d + 1 >= SHIFT_DAY
        risk = np.clip(rng.beta(2, 6, n) + 0.15 * shifted, 0, 1)
        amount = q64(rng.lognormal(3.5, 0.8, n).clip(0, 60_000))
        channel = rng.choice(CHANNELS, n, p=[0.35, 0.2, 0.45])
        is_new = rng.random(n) < 0.3
        mcc = rng.choice(12, n, p=np.linspace(2, 0.5, 12) / np.linspace(2, 0.5, 12).sum())
        tx_count = rng.poisson(3.0, n)
        age_days = rng.integers(0, 3000, n)
        logit = -3.0 + 4.0 * risk + 0.4 * is_new + 0.2 * (channel == "web") + 0.0002 * amount
        y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
        score = np.clip(np.round(4096 / (1 + np.exp(-(logit + rng.normal(0, 0.3, n))))), 1, 4095) / 4096
        shadow_score = np.clip(np.round(4096 / (1 + np.exp(-(logit + rng.normal(0, 0.5, n))))),
                               1, 4095) / 4096
        ids = np.char.add("r", np.arange(next_id, next_id + n).astype(str))
        next_id += n
        version = np.where(rng.random(n) < 0.03, None, "v1").astype(object)
        amount_served = amount.copy()
        amount_served[rng.random(n) < 0.02] = np.nan  # nulls, as in real logs
        frame = pd.DataFrame({
            "request_id": ids, "event_ts": ts, "model_name": "shapes", "model_version": version,
            "amount": amount_served, "risk": np.round(risk * 4096) / 4096, "tx_count": tx_count,
            "age_days": age_days, "channel": channel,
            "is_new": np.where(is_new, "true", "false"), "mcc": mcc.astype(str),
            "region": rng.choice(REGIONS, n, p=[0.3, 0.3, 0.4]),
            "tier": rng.choice(TIERS, n, p=[0.25, 0.75]),
            "score": score, "prediction": (score >= 0.5).astype(int),
            "latency_ms": q64(rng.lognormal(3.0, 0.3, n)),
        })
        preds.append(frame)
        arrives = rng.random(n) >= 0.05
        delay = rng.integers(3600, 3 * 86400, n)
        labels.append(pd.DataFrame({
            "request_id": ids[arrives], "label": y[arrives],
            "label_ts": (ts + pd.to_timedelta(delay, unit="s"))[arrives].to_numpy()}))
        shadow.append(pd.DataFrame({
            "request_id": ids, "event_ts": ts + pd.Timedelta(seconds=1), "model_name": "shapes",
            "model_version": "v2", "score": shadow_score,
            "prediction": (shadow_score >= 0.5).astype(int),
            "latency_ms": q64(rng.lognormal(3.1, 0.3, n))}))
        offline_amount = amount.copy()
        offline_amount[rng.random(n) < 0.01] += 1.0  # a little training-serving skew
        offline.append(pd.DataFrame({
            "request_id": ids, "amount": offline_amount, "risk": frame["risk"],
            "tx_count": tx_count, "age_days": age_days, "channel": channel,
            "is_new": frame["is_new"], "mcc": frame["mcc"],
            "computed_ts": ts + pd.Timedelta(hours=2)}))
    kpis = pd.DataFrame({"ts": pd.to_datetime([START + timedelta(days=d) for d in range(DAYS)]),
                         "kpi": "approval_rate",
                         "value": np.round((0.9 + 0.02 * rng.standard_normal(DAYS)) * 4096) / 4096,
                         "segment": "all"})
    return {"predictions": pd.concat(preds, ignore_index=True),
            "labels": pd.concat(labels, ignore_index=True),
            "shadow_predictions": pd.concat(shadow, ignore_index=True),
            "offline_features": pd.concat(offline, ignore_index=True), "kpis": kpis}


BASE_COLUMNS = {"request_id": "request_id", "event_ts": "event_ts", "model_name": "model_name",
                "model_version": "model_version", "score": "score", "prediction": "prediction",
                "latency_ms": "latency_ms", "label": "label", "label_ts": "label_ts"}
FEATURES = [("amount", "numeric"), ("risk", "numeric"), ("tx_count", "numeric"),
            ("age_days", "numeric"), ("channel", "categorical"), ("is_new", "categorical"),
            ("mcc", "categorical")]
SEGMENTS = ["region", "tier"]


def monitor(model: str, tables: dict, names: dict, timezone: str | None = None,
            labels: dict | None = None) -> MonitorConfig:
    """The matrix's monitor, with the shape's table and column names (``names``: baseline name
    -> the shape's)."""
    def n(name: str) -> str:
        return names.get(name, name)

    owner = {"team": "t", "slack_channel": "#t"}
    columns = {key: n(value) for key, value in BASE_COLUMNS.items()}
    return MonitorConfig.model_validate({
        "model": {"name": model, "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": "MODELWATCH_SHAPES_URL", "timezone": timezone},
        "tables": tables, "columns": columns,
        "features": [{"name": n(f), "kind": k} for f, k in FEATURES],
        "segments": [n(s) for s in SEGMENTS],
        "schedule": {"start_date": "2026-09-01"},
        "labels": {"delay": "3d", **(labels or {})},
        "reference": {"start": "2026-09-01T00:00:00", "end": "2026-09-15T00:00:00"},
        "thresholds": {"defaults": {"psi": {"type": "calibrated", "min_warn": 0.1,
                                            "min_alert": 0.25}}},
        "slices": {"min_rows": 200},
        "data_layer": {"skew": {"sample_rate": 0.2},
                       "offline_freshness": {"timestamp_column": n("computed_ts")}},
        "outcome": {"lookback_windows": 6, "min_labelled_rows": 50, "kpi_ts": n("ts"),
                    "kpi_value": n("value"),
                    "kpis": {"approval_rate": {"direction": "higher_is_better",
                                               "history_windows": 5, "min_history": 3}},
                    "kpi_correlation": {"windows": 5, "min_windows": 3}},
        "shadow": {"bootstrap_resamples": 200,
                   "gate": {"lookback": "3d", "min_labelled": 200}},
    })


@dataclass
class Shape:
    """One variant: how each input table is rebuilt from the baseline (SQL per column)."""

    name: str
    names: dict[str, str] = field(default_factory=dict)  # baseline column -> shape column
    exprs: dict[str, str] = field(default_factory=dict)  # baseline column -> SQL expression
    schema: str | None = None
    table_names: dict[str, str] = field(default_factory=dict)
    views: bool = False
    timezone: str | None = None
    labels: dict | None = None
    setup: list[str] = field(default_factory=list)  # types to create first
    seed_timezone: str = "UTC"  # the seeding session's time zone
    dialects: tuple[str, ...] = ("duckdb", "postgresql")  # elsewhere: a named ContractError

    def table(self, key: str) -> str:
        name = self.table_names.get(key, f"{self.name}_{key}")
        return f"{self.schema}.{name}" if self.schema else name


# Segment columns keep their names in every shape: a slice is keyed ``column=value``, and that
# key seeds the outcome and shadow bootstraps (``rng_for``), so a renamed segment column draws
# other resamples — intervals differ in the last digits, legitimately, not the figures.
SHAPES = [
    Shape("names", schema="analytics", views=True,
          names={"request_id": "Request ID", "event_ts": "EventTs", "model_version": "Model Version",
                 "channel": "user", "tx_count": "order", "amount": "Amount USD", "mcc": "select",
                 "label": "Label", "label_ts": "label ts", "computed_ts": "Computed TS",
                 "ts": "day", "value": "Value"},
          table_names={"predictions": "Predictions", "labels": "label rows",
                       "shadow_predictions": "Shadow", "offline_features": "offline features",
                       "kpis": "KPIs"}),
    Shape("tzaware",  # timestamptz written by a +05:30 session, ENUM, DECIMAL, BOOLEAN labels
          seed_timezone="Asia/Kolkata",
          setup=["CREATE TYPE shapes_channel AS ENUM ('app', 'pos', 'web')",
                 "CREATE TYPE shapes_region AS ENUM ('APAC', 'EU', 'NA')"],
          exprs={"event_ts": "CAST(event_ts + INTERVAL '330 minutes' AS TIMESTAMP WITH TIME ZONE)",
                 "label_ts": "CAST(label_ts + INTERVAL '330 minutes' AS TIMESTAMP WITH TIME ZONE)",
                 "computed_ts":
                     "CAST(computed_ts + INTERVAL '330 minutes' AS TIMESTAMP WITH TIME ZONE)",
                 "ts": "CAST(ts + INTERVAL '330 minutes' AS TIMESTAMP WITH TIME ZONE)",
                 "channel": "CAST(channel AS shapes_channel)",
                 "region": "CAST(region AS shapes_region)",
                 "amount": "CAST(amount AS DECIMAL(18, 10))",
                 "risk": "CAST(risk AS NUMERIC(18, 12))",
                 "score": "CAST(score AS DECIMAL(18, 12))",
                 "latency_ms": "CAST(latency_ms AS DECIMAL(18, 6))",
                 "value": "CAST(value AS DECIMAL(18, 12))",
                 "label": "label = 1"}),
    Shape("local",  # naive New York wall clock, BOOLEAN and integer-coded categoricals,
          # REAL/INTEGER/BIGINT numerics, string labels with a configured positive class, DATE KPIs
          timezone="America/New_York",
          labels={"positive": "fraud", "negative": ["legit"]},
          exprs={"event_ts": "timezone('America/New_York', CAST(event_ts AS TIMESTAMP WITH TIME ZONE))",
                 "label_ts": "timezone('America/New_York', CAST(label_ts AS TIMESTAMP WITH TIME ZONE))",
                 "computed_ts":
                     "timezone('America/New_York', CAST(computed_ts AS TIMESTAMP WITH TIME ZONE))",
                 "ts": "CAST(ts AS DATE)",
                 "is_new": "CAST(is_new AS BOOLEAN)", "mcc": "CAST(mcc AS INTEGER)",
                 "amount": "CAST(amount AS REAL)", "tx_count": "CAST(tx_count AS INTEGER)",
                 "age_days": "CAST(age_days AS BIGINT)", "latency_ms": "CAST(latency_ms AS REAL)",
                 "label": "CASE WHEN label = 1 THEN 'fraud' ELSE 'legit' END"}),
    # catalog.schema.table: on DuckDB the catalog is the database file (``warehouse.duckdb``)
    Shape("catalog", schema="warehouse.ledger", dialects=("duckdb",)),
]


def seed_baseline(engine: sa.Engine, data: dict[str, pd.DataFrame]) -> None:
    create_output_tables(engine)
    for table, frame in data.items():
        load_frame(engine, f"raw_{table}", frame)
    build_shape(engine, BASELINE, data)


def build_shape(engine: sa.Engine, shape: Shape, data: dict[str, pd.DataFrame]) -> None:
    """Rebuild every baseline table in ``shape``, inside the warehouse."""
    quote = engine.dialect.identifier_preparer.quote
    if engine.dialect.name not in shape.dialects:
        return
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text(f"SET LOCAL TIME ZONE '{shape.seed_timezone}'"))
        else:
            conn.execute(sa.text(f"SET TimeZone = '{shape.seed_timezone}'"))
        if shape.schema:
            schema = ".".join(quote(part) for part in shape.schema.split("."))
            conn.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        for statement in shape.setup:
            conn.execute(sa.text(statement))
        for key, frame in data.items():
            select = ", ".join(
                f"{shape.exprs.get(col, quote(col))} AS {quote(shape.names.get(col, col))}"
                if col != "model_name" else f"'{shape.name}' AS {quote(col)}"
                for col in frame.columns)
            target = ".".join(quote(part) for part in shape.table(key).split("."))
            kind = "VIEW" if shape.views else "TABLE"
            if shape.views:  # a view over a table of its own, so the view is what is read
                inner = quote(f"{shape.name}_{key}_base")
                conn.execute(sa.text(f"CREATE TABLE {inner} AS SELECT * FROM "
                                     f"{quote('raw_' + key)}"))
                source = inner
            else:
                source = quote(f"raw_{key}")
            conn.execute(sa.text(f"CREATE {kind} {target} AS SELECT {select} FROM {source}"))
        if engine.dialect.name != "postgresql":
            conn.execute(sa.text("SET TimeZone = 'UTC'"))


BASELINE = Shape("baseline")


def config_for(shape: Shape | None) -> MonitorConfig:
    shape = shape or BASELINE
    tables = {key: shape.table(key) for key in ("predictions", "labels", "shadow_predictions",
                                                "offline_features", "kpis")}
    return monitor(shape.name, tables, shape.names, shape.timezone, shape.labels)


def run_all_layers(url: str, cfg: MonitorConfig) -> dict:
    """Profile, then one window of every layer (the runner's steps, as the DAG runs them); the
    model's ``mw_metric`` rows by key."""
    step_profile(cfg)
    step_window_checks(cfg, WINDOW, "shapes")
    step_data_layer(cfg, WINDOW, "shapes")
    step_outcome(cfg, WINDOW, "shapes")
    step_shadow(cfg, WINDOW, "shapes")
    step_publish(cfg, WINDOW)
    engine = engine_for_url(url, cfg.warehouse.timezone)
    m = mw_metric.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(m.window_start, m.layer, m.check_name, m.feature, m.slice,
                                      m.value, m.status, m.details)
                            .where(m.model_name == cfg.model.name)).all()
    return {(r.window_start, r.layer, r.check_name, r.feature, r.slice): r for r in rows}


def renamed_back(shape: Shape | None, rows: dict) -> dict:
    """Keys of a shape's rows in the baseline's names (features, slices' segment columns)."""
    if shape is None:
        return rows
    back = {v: k for k, v in shape.names.items()}

    def feature(name):
        if name is None:
            return None
        return ",".join(back.get(part, part) for part in name.split(","))

    def slice_key(key: str) -> str:
        column, sep, value = key.partition("=")
        return f"{back.get(column, column)}{sep}{value}" if sep else key

    return {(w, layer, check, feature(f), slice_key(s)): r
            for (w, layer, check, f, s), r in rows.items()}


LAYERS = {"data", "model", "outcome", "shadow"}


def assert_same_rows(got: dict, want: dict, what: str) -> None:
    missing = sorted(set(want) - set(got), key=str)
    extra = sorted(set(got) - set(want), key=str)
    assert not missing and not extra, f"{what}: missing {missing[:8]}, extra {extra[:8]}"
    diffs = []
    for key, row in want.items():
        other = got[key]
        if other.status != row.status:
            diffs.append((key, "status", row.status, other.status, row.value, other.value,
                          row.details, other.details))  # details say why
        elif (row.value is None) != (other.value is None) or (
                row.value is not None and not math.isclose(row.value, other.value,
                                                           rel_tol=1e-9, abs_tol=1e-12)):
            diffs.append((key, "value", row.value, other.value))
    assert not diffs, f"{what}: {len(diffs)} rows differ, e.g. {diffs[:6]}"


@pytest.fixture(scope="module")
def data():
    return generate()


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def warehouse(request, data, tmp_path_factory):
    """Each dialect seeded with the baseline and every shape; then yields the URL."""
    if request.param == "duckdb":
        url = f"duckdb:///{tmp_path_factory.mktemp('shapes') / 'warehouse.duckdb'}"
    else:
        url = request.getfixturevalue("pg_url")
    engine = engine_for_url(url)
    seed_baseline(engine, data)
    for shape in SHAPES:
        build_shape(engine, shape, data)
    return url


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return {}


def _run(url: str, shape: Shape | None, results: dict, artifacts, monkeypatch) -> dict:
    key = (url, shape.name if shape else "baseline")
    if key not in results:
        monkeypatch.setenv("MODELWATCH_SHAPES_URL", url)
        results[key] = renamed_back(shape, run_all_layers(url, config_for(shape)))
    return results[key]


@pytest.mark.parametrize("shape", [None, *SHAPES], ids=["baseline", *(s.name for s in SHAPES)])
def test_shape_matches_baseline(shape, warehouse, results, tmp_path, monkeypatch) -> None:
    baseline = _run(warehouse, None, results, tmp_path, monkeypatch)
    assert len(baseline) > 300, len(baseline)  # a matrix over a handful of rows proves little
    layers = {layer for (_, layer, *_rest) in baseline}
    assert layers >= LAYERS, layers  # every layer had input
    checks = {check for (_, _, check, *_rest) in baseline}
    for family in ("psi", "ks", "skew_mismatch_rate", "roc_auc", "kpi", "shadow_coverage"):
        assert any(c.startswith(family) for c in checks), (family, sorted(checks))
    assert any(c.startswith("expect_") for c in checks), "the GX suite ran"
    assert any(r.status == "alert" for r in baseline.values())  # the shift on ``risk``
    if shape is None:
        others = [rows for (url, name), rows in results.items()
                  if name == "baseline" and url != warehouse]
        for other in others:  # the two dialects agree on the baseline
            assert_same_rows(other, baseline, "baseline across dialects")
        return
    dialect = sa.engine.make_url(warehouse).get_backend_name()
    if dialect not in shape.dialects:
        with pytest.raises(ContractError, match="catalog-qualified") as error:
            _run(warehouse, shape, results, tmp_path, monkeypatch)
        assert shape.table("predictions") in str(error.value)  # names the table and the fix
        assert "Fix: write ledger.catalog_predictions" in str(error.value)
        return
    got = _run(warehouse, shape, results, tmp_path, monkeypatch)
    assert_same_rows(got, baseline, f"{shape.name} on {sa.engine.make_url(warehouse).drivername}")


@pytest.mark.parametrize("labels, found", [
    ({"positive": "fraud", "negative": ["ok"]}, "'legit'"),  # a value in neither class
    (None, "'fraud', 'legit'"),  # text labels, no positive class configured
])
def test_text_labels_outside_the_configured_classes_are_a_named_contract_error(
        labels, found, warehouse, monkeypatch) -> None:
    from modelwatch.config.schema import LabelSpec
    from modelwatch.errors import ContractError

    local = next(s for s in SHAPES if s.name == "local")
    monkeypatch.setenv("MODELWATCH_SHAPES_URL", warehouse)
    spec = LabelSpec.model_validate({"delay": "3d", **(labels or {})})
    cfg = config_for(local).model_copy(update={"labels": spec})
    with pytest.raises(ContractError) as caught:
        step_outcome(cfg, WINDOW, "bad_labels")
    message = str(caught.value)
    assert f"{local.table('labels')}.label" in message and found in message, message
    assert "labels.positive" in message and "labels.negative" in message, message
