"""A small binary monitor built in code, for tests that shape their own predictions table.

One owner for every layer, the warehouse from ``MODELWATCH_WAREHOUSE_URL``, no prediction
column, the reference a window of the predictions table; ``extra`` adds or replaces top-level
sections (``outcome``, ``data_layer``, ``labels`` …).
"""

from __future__ import annotations

from datetime import datetime

from modelwatch.config.schema import MonitorConfig


def small_monitor(features: list[tuple[str, str]], reference_start: datetime,
                  reference_end: datetime, *, name: str = "m", **extra) -> MonitorConfig:
    owner = {"team": "t", "slack_channel": "#t"}
    return MonitorConfig.model_validate({
        "model": {"name": name, "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": "MODELWATCH_WAREHOUSE_URL"},
        "columns": {"prediction": None},
        "features": [{"name": n, "kind": k} for n, k in features],
        "schedule": {"start_date": reference_start.date().isoformat()},
        "reference": {"start": reference_start.isoformat(), "end": reference_end.isoformat()},
        **extra,
    })


def fresh_warehouse(url: str, monkeypatch):
    """The warehouse at ``url`` as ``MODELWATCH_WAREHOUSE_URL``, without the predictions table and
    what modelwatch stored from an earlier run of the test (profiles, metrics, staged rows)."""
    import sqlalchemy as sa

    from modelwatch.warehouse.engine import engine_for_url

    monkeypatch.setenv("MODELWATCH_WAREHOUSE_URL", url)
    engine = engine_for_url(url)
    with engine.begin() as conn:
        for table in ("predictions", "mw_reference_profile", "mw_metric", "mw_metric_staged"):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
    return engine
