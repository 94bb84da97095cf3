"""Multiclass performance through the SQL path on a tiny embedded warehouse, against scikit-learn."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import accuracy_score, f1_score, log_loss

from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ConfigError
from modelwatch.outcome import window_rows
from modelwatch.outcome.intervals import rng_for, wilson
from modelwatch.outcome.multiclass import Confusion, f1_scores, fetch_confusion, multiclass_metrics
from modelwatch.outcome.queries import LabelStats, joined
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.windows import EvalWindow
from modelwatch.warehouse.load import load_frame
from tests.unit.outcome.task_configs import task_config

D = datetime(2026, 9, 10)
AS_OF = D + timedelta(days=20)
CLASSES = ["cat", "dog", "eel"]
PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1],
                  [0.2, 0.2, 0.6], [0.6, 0.3, 0.1], [0.25, 0.5, 0.25], [0.1, 0.1, 0.8],
                  [0.4, 0.35, 0.25], [0.2, 0.7, 0.1]])
LABEL = ["cat", "dog", "cat", "dog", "eel", "cat", "eel", "eel", "dog", None]  # r10 unlabelled
REGION = ["EU", "EU", "EU", "EU", "EU", "NA", "NA", "NA", "APAC", "EU"]
# the served class is not always the argmax (a served rule on top of the model): r3 served "dog"
SERVED = ["cat", "dog", "dog", "cat", "eel", "cat", "dog", "eel", "cat", "dog"]
SEGMENTS = {"region": ["EU", "NA"]}


def config(**columns) -> MonitorConfig:
    return task_config("multiclass", **{"score": ["p_cat", "p_dog", "p_eel"], "classes": CLASSES,
                                        "prediction": "served", **columns})


@pytest.fixture
def engine(duck_url):
    n = len(LABEL)
    preds = pd.DataFrame({"request_id": [f"r{i}" for i in range(1, n + 1)],
                          "event_ts": [D + timedelta(hours=i) for i in range(n)],
                          "model_name": "multiclass_demo", "model_version": "v1",
                          "p_cat": PROBS[:, 0], "p_dog": PROBS[:, 1], "p_eel": PROBS[:, 2],
                          "served": SERVED, "region": REGION, "amount": 1.0})
    lab = [i for i in range(n) if LABEL[i] is not None]
    labels = pd.DataFrame({"request_id": [f"r{i + 1}" for i in lab],
                           "label": [LABEL[i] for i in lab],
                           "label_ts": [D + timedelta(days=1)] * len(lab)})
    eng = sa.create_engine(duck_url)
    load_frame(eng, "predictions", preds)
    load_frame(eng, "labels", labels)
    yield eng
    eng.dispose()


def fetch(engine, cfg, segments=SEGMENTS):
    with engine.connect() as conn:
        source = joined(cfg, D, D + timedelta(days=1), AS_OF, segments)
        return fetch_confusion(conn, cfg, source, [D], segments)


def labelled(served, mask=None):
    keep = np.array([y is not None for y in LABEL])
    if mask is not None:
        keep &= mask
    y = [v for v, k in zip(LABEL, keep, strict=True) if k]
    p = [v for v, k in zip(served, keep, strict=True) if k]
    return y, p, PROBS[keep]


def test_metrics_equal_scikit_learn(engine) -> None:
    cfg = config()
    c = fetch(engine, cfg)[(0, "all")]
    assert (c.n_rows, c.n_labelled) == (10, 9)
    m = multiclass_metrics(c, cfg.outcome, rng_for(0, "t"), 1, "outcome.min_labelled_rows")
    y, p, probs = labelled(SERVED)
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, p))
    assert (m["accuracy"].low, m["accuracy"].high) == pytest.approx(
        wilson(accuracy_score(y, p, normalize=False), 9, 0.95))
    assert m["macro_f1"].value == pytest.approx(f1_score(y, p, average="macro"))
    assert m["weighted_f1"].value == pytest.approx(f1_score(y, p, average="weighted"))
    assert m["log_loss"].value == pytest.approx(log_loss(y, probs, labels=CLASSES), abs=1e-10)
    for name in ("macro_f1", "weighted_f1", "log_loss"):
        assert m[name].low <= m[name].value <= m[name].high, name
    assert m["macro_f1"].method == "bootstrap" and m["log_loss"].method == "normal"


def test_argmax_when_no_served_class_column(engine) -> None:
    cfg = config(prediction=None)
    c = fetch(engine, cfg, {})[(0, "all")]
    m = multiclass_metrics(c, cfg.outcome, rng_for(0, "t"), 1, "outcome.min_labelled_rows")
    argmax = [CLASSES[i] for i in PROBS.argmax(axis=1)]
    y, p, _ = labelled(argmax)
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, p))
    assert m["macro_f1"].value == pytest.approx(f1_score(y, p, average="macro"))
    assert m["weighted_f1"].value == pytest.approx(f1_score(y, p, average="weighted"))


def test_slices_match_scikit_learn_per_slice(engine) -> None:
    cfg = config()
    confusions = fetch(engine, cfg)
    assert {k for _, k in confusions} == {"all", "region=EU", "region=NA", "region=__other__"}
    na = confusions[(0, "region=NA")]
    y, p, probs = labelled(SERVED, np.array(REGION) == "NA")
    m = multiclass_metrics(na, cfg.outcome, rng_for(0, "t"), 1, "slices.min_rows")
    assert m["macro_f1"].value == pytest.approx(f1_score(y, p, average="macro"))
    assert m["log_loss"].value == pytest.approx(log_loss(y, probs, labels=CLASSES), abs=1e-10)


def test_a_class_only_served_counts_in_macro_f1_as_in_scikit_learn() -> None:
    y = ["a", "a", "b", "b"]
    p = ["a", "c", "b", "b"]  # "c" is never a label
    c = Confusion.from_records([(pi, yi, 1, 0, 0.0, 0.0) for yi, pi in zip(y, p, strict=True)],
                               None)
    macro, weighted = f1_scores(c.matrix)
    assert macro == pytest.approx(f1_score(y, p, average="macro"))
    assert weighted == pytest.approx(f1_score(y, p, average="weighted"))


def test_log_loss_skipped_without_class_columns(engine) -> None:
    cfg = task_config("multiclass", score=["p_cat"], prediction="served")
    c = fetch(engine, cfg, {})[(0, "all")]
    m = multiclass_metrics(c, cfg.outcome, rng_for(0, "t"), 1, "outcome.min_labelled_rows")
    assert m["log_loss"].value is None and "columns.classes" in m["log_loss"].reason
    y, p, _ = labelled(SERVED)
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, p))


def test_bootstrap_is_seeded_per_window_and_slice(engine) -> None:
    cfg = config()
    c = fetch(engine, cfg, {})[(0, "all")]
    a = multiclass_metrics(c, cfg.outcome, rng_for(0, "w", "all"), 1, "s")["macro_f1"]
    b = multiclass_metrics(c, cfg.outcome, rng_for(0, "w", "all"), 1, "s")["macro_f1"]
    assert (a.low, a.high) == (b.low, b.high)


def test_slice_below_the_gate_is_skipped_with_the_reason(engine) -> None:
    cfg = config()
    small = cfg.model_copy(update={
        "slices": cfg.slices.model_copy(update={"min_rows": 4}),
        "outcome": cfg.outcome.model_copy(update={"min_labelled_rows": 5})})
    confusions = {k: v for (_, k), v in fetch(engine, small).items()}
    w = EvalWindow(0, D, D + timedelta(days=1), AS_OF, timedelta(days=10))
    rows = window_rows(small, w, confusions, LabelStats(10, 9),
                       OutcomeReference({"mature": True, "slices": {}}), None)
    keyed = {(r.check_name, r.slice): r for r in rows}
    for check in ("accuracy", "macro_f1", "weighted_f1", "log_loss"):
        row = keyed[(check, "region=NA")]  # 3 labelled rows
        assert row.status == "skipped", check
        assert row.details["reason"] == "3 labelled rows, fewer than slices.min_rows=4"
        assert keyed[(check, "region=EU")].value is not None, check  # 4 labelled rows
    y, p, _ = labelled(SERVED)
    assert keyed[("macro_f1", "all")].value == pytest.approx(f1_score(y, p, average="macro"))


def test_config_needs_a_served_class_and_one_class_per_score_column() -> None:
    with pytest.raises(ValueError, match="one distinct class per score column"):
        task_config("multiclass", score=["a", "b"], classes=["x"])
    with pytest.raises(ValueError, match="needs the served class"):
        task_config("multiclass", prediction=None)
    with pytest.raises(ValueError, match="for multiclass models"):
        task_config("regression", classes=["x"])
    assert issubclass(ConfigError, Exception)  # load_monitor turns these into ConfigError


def test_sparse_bootstrap_equals_the_dense_f1_of_the_same_draws() -> None:
    from modelwatch.outcome.multiclass import _bootstrap_f1

    m = np.array([[30.0, 2, 0, 0], [5, 20, 1, 0], [0, 0, 0, 4], [0, 3, 0, 9]])
    macro, weighted = _bootstrap_f1(m, 60, np.random.default_rng(3))
    li, si = np.nonzero(m)
    draws = np.random.default_rng(3).multinomial(int(m.sum()), m[li, si] / m.sum(), size=60)
    dense = np.zeros((60, 4, 4))
    dense[:, li, si] = draws
    d_macro, d_weighted = f1_scores(dense)
    np.testing.assert_allclose(macro, d_macro, rtol=1e-12)
    np.testing.assert_allclose(weighted, d_weighted, rtol=1e-12)
    assert macro.std() > 0


def test_class_mix_drift_against_the_reference(engine) -> None:
    cfg = config()
    small = cfg.model_copy(update={"outcome": cfg.outcome.model_copy(
        update={"min_labelled_rows": 5})})
    confusions = {k: v for (_, k), v in fetch(engine, small, {}).items()}
    w = EvalWindow(0, D, D + timedelta(days=1), AS_OF, timedelta(days=10))
    mix = {"cat": 0.8, "dog": 0.1, "eel": 0.1}
    ref = OutcomeReference({"mature": True, "slices": {"all": {"class_shares": mix}}})
    row = next(r for r in window_rows(small, w, confusions, LabelStats(10, 9), ref, None)
               if r.check_name == "label_class_mix")
    # 3 of each class among the 9 labelled rows
    assert row.value == pytest.approx(0.5 * (abs(1 / 3 - 0.8) + 2 * abs(1 / 3 - 0.1)))
    low, high = wilson(3, 9, 0.95)
    assert row.details["max_share_change_lower_bound"] == pytest.approx(0.8 - high)
    assert row.status == "alert" and row.details["per_class"]["cat"]["ci_low"] == low
    same = OutcomeReference({"mature": True, "slices": {"all": {"class_shares": {
        "cat": 0.3, "dog": 0.4, "eel": 0.3}}}})
    ok = next(r for r in window_rows(small, w, confusions, LabelStats(10, 9), same, None)
              if r.check_name == "label_class_mix")
    assert ok.status == "ok" and ok.details["max_share_change_lower_bound"] == 0.0
