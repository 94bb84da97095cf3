"""The demo's real retraining target: refit the champion's model on recent labelled traffic.

Reads the last 14 days of predictions whose labels had arrived by the end of the triggering
window (as the warehouse knew it then), fits the same scikit-learn pipeline as the champion,
saves it under ``$MODELWATCH_HOME/models/`` and returns the new version.
"""

from __future__ import annotations

import pickle
from datetime import timedelta

import pandas as pd
import sqlalchemy as sa

from modelwatch.config.schema import MonitorConfig
from modelwatch.paths import modelwatch_home
from modelwatch.retraining import RetrainRequest, TrainedModel
from modelwatch.warehouse.engine import get_engine
from modelwatch.warehouse.labels import label_kind
from modelwatch.warehouse.source import (
    label_value,
    labels_arrived_by,
    labels_ref,
    predictions_ref,
    window_filter,
)

TRAINING_DAYS = 14


def train_challenger(cfg: MonitorConfig, request: RetrainRequest) -> TrainedModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from modelwatch.demo.scenario import NUMERIC, _design

    engine = get_engine(cfg.warehouse)
    p = predictions_ref(cfg)
    labels = labels_ref(cfg)
    since = request.window_end - timedelta(days=TRAINING_DAYS)
    with engine.connect() as conn:
        y = label_value(cfg, labels, label_kind(conn, cfg))  # BOOLEAN and text labels as 1/0
        query = (sa.select(*[p.c[c] for c in NUMERIC], p.c.channel, p.c.device_type, y.label("y"))
                 .join(labels, labels.c[cfg.columns.request_id] == p.c[cfg.columns.request_id])
                 .where(window_filter(cfg, p, since, request.window_end),
                        labels_arrived_by(cfg, labels, request.window_end), y.is_not(None)))
        frame = pd.DataFrame(conn.execute(query).mappings().all())
    if frame.empty or frame["y"].nunique() < 2:
        raise ValueError("no labelled traffic with both classes in the training window")
    x, y = _design(frame), frame["y"].astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(x, y)
    version = f"v2-retrained-{request.window_end:%Y%m%d}"
    folder = modelwatch_home() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{cfg.model.name}-{version}.pkl"
    path.write_bytes(pickle.dumps(model))
    auc = float(roc_auc_score(y, model.predict_proba(x)[:, 1]))
    return TrainedModel(version=version, artifact_uri=path.as_uri(),
                        metrics={"train_rows": len(frame), "train_auc": round(auc, 4)})
