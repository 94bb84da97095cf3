"""Bulk-load a DataFrame into a warehouse table (demo seeding and tests).

``to_sql`` row inserts are far too slow for a million rows, so DuckDB gets a zero-copy
``CREATE TABLE AS`` from the frame and PostgreSQL gets ``COPY``; other dialects fall back to
``to_sql`` in chunks.
"""

from __future__ import annotations

import io

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelwatch.config.identifiers import check_identifier


def load_frame(engine: Engine, table: str, frame: pd.DataFrame) -> None:
    """Replace ``table`` with the rows of ``frame``."""
    check_identifier(table)
    quoted = engine.dialect.identifier_preparer.quote(table)
    if engine.dialect.name == "duckdb":
        raw = engine.raw_connection()
        try:
            con = raw.driver_connection.cursor()  # a fresh cursor: duckdb 2 rejects reuse
            con.register("_mw_frame", frame)
            con.execute(f"CREATE OR REPLACE TABLE {quoted} AS SELECT * FROM _mw_frame")
            con.fetchall()  # finish the result, or duckdb 2 refuses the next statement
            con.unregister("_mw_frame")
            con.close()
            raw.commit()
        finally:
            raw.close()
        return
    # the table's types come from a real row: an empty frame makes every object column TEXT
    # (a column of dates must become DATE)
    frame.head(1).to_sql(table, engine, if_exists="replace", index=False)
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.driver_connection.cursor() as cur:
                cur.execute(f"DELETE FROM {quoted}")
                columns = ", ".join(engine.dialect.identifier_preparer.quote(c) for c in frame)
                with cur.copy(f"COPY {quoted} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                    for start in range(0, len(frame), 200_000):
                        buffer = io.StringIO()
                        frame.iloc[start:start + 200_000].to_csv(buffer, index=False, header=False)
                        copy.write(buffer.getvalue())
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        conn.execute(sa.text(f"DELETE FROM {quoted}"))
    frame.to_sql(table, engine, if_exists="append", index=False, chunksize=10_000)


def drop_tables(engine: Engine, *tables: str) -> None:
    with engine.begin() as conn:
        for table in tables:
            quoted = engine.dialect.identifier_preparer.quote(check_identifier(table))
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {quoted}"))
