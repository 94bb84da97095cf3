"""A tiny monitor and tables whose data-layer answers can be computed by hand.

Reference: 7 days (2026-01-05 Mon .. 01-11 Sun) × 60 rows. Row i of a day has
``amount = 10.5 + i % 20`` (10.5 .. 29.5), ``visits = i % 5`` (0 .. 4, each 20 %),
``channel = web/app/pos`` by ``i % 3``. The monitored window is day 8 (Monday 01-12), 60 rows of
the same pattern unless a test changes them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.profile import ensure_profile
from modelwatch.runner import Window
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables

START = datetime(2026, 1, 5)
WINDOW = Window(START + timedelta(days=7), START + timedelta(days=8))
AS_OF = START + timedelta(days=20)
CHANNELS = ("web", "app", "pos")


def tiny_cfg(data_layer: dict | None = None, thresholds: dict | None = None) -> MonitorConfig:
    owner = {"team": "t", "slack_channel": "#t"}
    return MonitorConfig.model_validate({
        "model": {"name": "tiny", "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "features": [{"name": "amount", "kind": "numeric"}, {"name": "visits", "kind": "numeric"},
                     {"name": "channel", "kind": "categorical"}],
        "schedule": {"start_date": "2026-01-05"},
        "reference": {"start": START.isoformat(), "end": (START + timedelta(days=7)).isoformat()},
        "data_layer": {"great_expectations": {"enabled": False}, **(data_layer or {})},
        **({"thresholds": thresholds} if thresholds else {}),
    })


def rows(day: int, n: int, prefix: str | None = None) -> pd.DataFrame:
    start = START + timedelta(days=day - 1)
    i = pd.RangeIndex(n)
    return pd.DataFrame({
        "request_id": [f"{prefix or f'd{day}_'}{k}" for k in i],
        "event_ts": [start + timedelta(seconds=int(k * 86400 / n)) for k in i],
        "model_name": "tiny",
        "model_version": "v1",
        "amount": 10.5 + (i % 20),
        "visits": (i % 5).astype(float),
        "channel": [CHANNELS[k % 3] for k in i],
        "score": ((i % 10) / 10).astype(float),
        "prediction": (i % 10 >= 5).astype(int),
    })


def reference_frame() -> pd.DataFrame:
    return pd.concat([rows(d, 60) for d in range(1, 8)], ignore_index=True)


def offline_of(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["request_id", "amount", "visits", "channel"]].copy()
    out["computed_ts"] = frame["event_ts"] + timedelta(hours=1)
    return out


def seed(engine: sa.Engine, window: pd.DataFrame | None = None, offline: pd.DataFrame | None = None,
         cfg: MonitorConfig | None = None):
    """Load reference + window rows and the offline table; build the profile."""
    window = rows(8, 60) if window is None else window
    predictions = pd.concat([reference_frame(), window], ignore_index=True)
    create_output_tables(engine)
    load_frame(engine, "predictions", predictions)
    load_frame(engine, "offline_features", offline_of(predictions) if offline is None else offline)
    return ensure_profile(engine, cfg or tiny_cfg())


def metric(rows_, check: str, feature: str | None = None):
    found = [r for r in rows_ if r.check_name == check and r.feature == feature]
    assert len(found) == 1, (check, feature, [(r.check_name, r.feature) for r in rows_])
    return found[0]
