"""Resolve a monitor's ``warehouse.conn_id`` through Airflow's Task SDK (env, secrets backend, DB)."""

from __future__ import annotations


def airflow_connection_url(conn_id: str) -> str:
    """SQLAlchemy-style URI of an Airflow connection, looked up at task run time only."""
    from airflow.sdk import Connection

    conn = Connection.get(conn_id)
    extra_url = (conn.extra_dejson or {}).get("sqlalchemy_url")
    return extra_url or conn.get_uri()
