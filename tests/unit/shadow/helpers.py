"""Small synthetic shadow deployments whose answers are known by construction.

Scores come from a shared latent signal: each model separates the classes with its own strength per
region (``quality``), plus a noise component shared by both models (so they are correlated, as real
champion/challenger pairs are) and one of its own. Labels arrive ``label_delay_days`` after the
request (uniform in the range), ``never`` of them not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.load import load_frame
from modelwatch.warehouse.tables import create_output_tables

START = datetime(2026, 3, 1)
MODEL = "shadow_test"


def make_cfg(*, segments: tuple[str, ...] = ("region",), min_rows: int = 100, delay: str = "3d",
             latency: bool = True, shadow: dict | None = None, fdr: float = 0.05,
             task: str = "binary") -> MonitorConfig:
    owner = {"team": "ml", "slack_channel": "#ml"}
    return MonitorConfig.model_validate({
        "model": {"name": MODEL, "task": task},
        "owners": {k: owner for k in ("data", "model", "outcome", "infra")},
        "columns": {"latency_ms": "latency_ms" if latency else None},
        "features": [{"name": "x", "kind": "numeric"}],
        "segments": list(segments),
        "schedule": {"start_date": "2026-03-01"},
        "labels": {"delay": delay},
        "reference": {"start": "2026-02-01T00:00:00", "end": "2026-02-08T00:00:00"},
        "slices": {"min_rows": min_rows, "fdr": fdr},
        "shadow": shadow or {},
    })


def day(index: int) -> datetime:
    """Start of day ``index`` (1-based)."""
    return START + timedelta(days=index - 1)


@dataclass
class Frames:
    predictions: pd.DataFrame
    shadow_predictions: pd.DataFrame
    labels: pd.DataFrame


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def synth(*, days: int, rows_per_day: int, quality: dict[str, tuple[float, float]],
          shares: dict[str, float] | None = None, positive_rate: float = 0.2,
          label_delay_days: tuple[float, float] = (1.0, 3.0), never: float = 0.0,
          shadow_missing: dict[str, float] | None = None, seed: int = 0) -> Frames:
    """``quality[region] = (champion, challenger)`` separations; ``shadow_missing[region]`` is the
    share of that region's requests the shadow log lacks."""
    rng = np.random.default_rng(seed)
    regions = list(quality)
    shares = shares or {r: 1 / len(regions) for r in regions}
    preds, shadows, labels = [], [], []
    for d in range(1, days + 1):
        n = rows_per_day
        ts = pd.Series(pd.to_datetime(day(d)) + pd.to_timedelta(np.sort(rng.uniform(0, 86400, n)),
                                                                   unit="s"))
        region = rng.choice(regions, n, p=[shares[r] for r in regions])
        y = (rng.random(n) < positive_rate).astype(int)
        sep_a = np.array([quality[r][0] for r in region])
        sep_b = np.array([quality[r][1] for r in region])
        common = rng.normal(0, 1, n)
        score_a = _sigmoid(sep_a * (y - 0.5) * 2 + 0.7 * common + 0.7 * rng.normal(0, 1, n) - 1)
        score_b = _sigmoid(sep_b * (y - 0.5) * 2 + 0.7 * common + 0.7 * rng.normal(0, 1, n) - 1)
        ids = np.char.add(f"d{d}_", np.arange(n).astype(str))
        preds.append(pd.DataFrame({
            "request_id": ids, "event_ts": ts, "model_name": MODEL, "model_version": "v1",
            "x": rng.normal(0, 1, n), "region": region, "score": score_a,
            "prediction": (score_a >= 0.5).astype(int), "latency_ms": rng.lognormal(3.0, 0.3, n)}))
        keep = np.ones(n, dtype=bool)
        for r, share in (shadow_missing or {}).items():
            keep &= ~((region == r) & (rng.random(n) < share))
        shadows.append(pd.DataFrame({
            "request_id": ids[keep], "event_ts": ts[keep].to_numpy(), "model_name": MODEL,
            "model_version": "v2", "score": score_b[keep], "prediction": (score_b[keep] >= 0.5).astype(int),
            "latency_ms": rng.lognormal(3.2, 0.3, n)[keep]}))
        arrives = rng.random(n) >= never
        delay = pd.to_timedelta(rng.uniform(*label_delay_days, n) * 86400, unit="s")
        labels.append(pd.DataFrame({"request_id": ids[arrives], "label": y[arrives],
                                    "label_ts": (ts + delay)[arrives].to_numpy()}))
    return Frames(pd.concat(preds, ignore_index=True), pd.concat(shadows, ignore_index=True),
                  pd.concat(labels, ignore_index=True))


def seed(url: str, frames: Frames) -> sa.Engine:
    engine = sa.create_engine(url)
    create_output_tables(engine)
    for name in ("predictions", "shadow_predictions", "labels"):
        load_frame(engine, name, getattr(frames, name))
    return engine


def by_key(rows) -> dict:
    return {(r.check_name, r.slice): r for r in rows}
