"""What a live table holds: its columns and their types, read from the warehouse's catalog.

A lower module: the data layer's schema check, ``modelwatch doctor`` and the input contract
(``warehouse/contract``) all read the catalog through here.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.errors import ContractError


def live_columns(conn: Connection, table: str) -> dict[str, str] | None:
    """Column name → upper-case type name of a live table, or None if it does not exist."""
    schema, _, name = table.rpartition(".")
    schema = schema or None
    catalog = None
    if schema and "." in schema:
        catalog, schema = schema.split(".", 1)
        if conn.dialect.name != "duckdb":
            raise ContractError(
                f"{table}: a catalog-qualified name (catalog.schema.table) is read on DuckDB, where "
                f"the catalog is the database file or an attached database; {conn.dialect.name} "
                f"reads the database of its connection only. Fix: write {schema}.{name} and point "
                f"the warehouse connection at database {catalog!r}")
    if conn.dialect.name == "duckdb":
        cols = sa.table("columns", sa.column("table_name"), sa.column("table_schema"),
                        sa.column("table_catalog"), sa.column("column_name"),
                        sa.column("data_type"), sa.column("ordinal_position"),
                        schema="information_schema")
        query = sa.select(cols.c.column_name, cols.c.data_type).where(cols.c.table_name == name)
        query = query.where(cols.c.table_schema == (schema or sa.func.current_schema()))
        query = query.where(cols.c.table_catalog == (catalog or sa.func.current_database()))
        rows = conn.execute(query.order_by(cols.c.ordinal_position)).all()
        return {str(n): str(t).upper() for n, t in rows} if rows else None
    inspector = sa.inspect(conn)
    if not inspector.has_table(name, schema=schema):
        return None
    result = {}
    for col in inspector.get_columns(name, schema=schema):
        try:
            if isinstance(col["type"], sa.Enum):  # PostgreSQL renders an enum by its type's name
                type_name = f"ENUM({col['type'].name})"
            else:
                type_name = col["type"].compile(dialect=conn.dialect)
        except Exception:  # a type the dialect cannot render back (rare): its class name
            type_name = type(col["type"]).__name__
        result[str(col["name"])] = str(type_name).upper()
    return result
