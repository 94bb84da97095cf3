"""Bounds on what one monitoring process holds: the embedded DuckDB's memory cap, and exact
reference quantiles computed a few columns per statement when the reference is large."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from modelwatch.errors import ConfigError
from modelwatch.warehouse import engine as engine_module
from modelwatch.warehouse.dialects import quantile_batches, quantiles
from modelwatch.warehouse.engine import DUCKDB_MEMORY_ENV, duckdb_memory_limit
from modelwatch.warehouse.load import load_frame


def _memory_limit(url: str) -> str:
    engine_module._engine_for.cache_clear()
    engine = engine_module.engine_for_url(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT current_setting('memory_limit')")).scalar_one()
    finally:
        engine.dispose()
        engine_module._engine_for.cache_clear()


def test_embedded_duckdb_is_capped_by_default_and_by_env(tmp_path, monkeypatch) -> None:
    url = f"duckdb:///{tmp_path / 'w.duckdb'}"
    monkeypatch.delenv(DUCKDB_MEMORY_ENV, raising=False)
    assert _memory_limit(url) == "488.2 MiB"  # 512MB as DuckDB prints it
    monkeypatch.setenv(DUCKDB_MEMORY_ENV, "2GB")
    assert _memory_limit(url) == "1.8 GiB"


@pytest.mark.parametrize("value", ["lots", "512", "1GB; DROP TABLE x", "-1GB"])
def test_a_bad_memory_limit_names_the_variable_and_the_fix(monkeypatch, value) -> None:
    monkeypatch.setenv(DUCKDB_MEMORY_ENV, value)
    with pytest.raises(ConfigError) as error:
        duckdb_memory_limit()
    message = str(error.value)
    assert DUCKDB_MEMORY_ENV in message and repr(value) in message and "Fix:" in message


def test_quantile_batches_bound_the_values_per_statement() -> None:
    columns = [f"c{i}" for i in range(21)]
    assert quantile_batches(columns, None) == [columns]
    assert quantile_batches(columns, 1_000_000, budget=20_000_000) == [columns[:20], columns[20:]]
    batches = quantile_batches(columns, 10_000_000, budget=20_000_000)
    assert [len(b) for b in batches] == [2] * 10 + [1] and sum(batches, []) == columns
    assert quantile_batches(columns, 10**9, budget=20_000_000) == [[c] for c in columns]
    assert quantile_batches([], 5) == []


def test_batched_quantiles_equal_one_statement(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({f"c{i}": rng.lognormal(i % 3, 1, 3000) for i in range(5)})
    frame.loc[rng.random(3000) < 0.1, "c2"] = np.nan
    frame["empty"] = np.nan
    engine = sa.create_engine(f"duckdb:///{tmp_path / 'q.duckdb'}")
    load_frame(engine, "t", frame)
    source = sa.select(sa.table("t", *(sa.column(c) for c in frame.columns))).subquery("s")
    probs = [0.01, 0.25, 0.5, 0.9]
    statements = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]) if "quantile" in args[2] else None)
    with engine.connect() as conn:
        together = quantiles(conn, source, list(frame.columns), probs)
        assert len(statements) == 1
        monkeypatch.setattr("modelwatch.warehouse.dialects.QUANTILE_BATCH_VALUES", 6000)
        two_at_a_time = quantiles(conn, source, list(frame.columns), probs, rows=3000)
    engine.dispose()
    assert len(statements) == 1 + 3
    assert two_at_a_time == together
    assert together["empty"] is None
    assert together["c2"] == pytest.approx(np.quantile(frame["c2"].dropna(), probs), rel=1e-12)
