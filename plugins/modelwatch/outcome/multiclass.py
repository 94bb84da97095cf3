"""Realized performance of a multiclass classifier, from a confusion matrix counted in the warehouse.

One query per run returns, per (window, slice, served class, label), the row count and — when
``columns.classes`` maps each score column to its class — the exact decimal sums of the per-row
log loss ``−ln p(true class)`` and its square. The matrix has at most K² cells per window and
slice, whatever the traffic; no row leaves the warehouse.

| metric | value | interval |
|---|---|---|
| accuracy | trace / n | Wilson |
| macro_f1 | mean over classes of 2·TP / (2·TP + FP + FN) | multinomial bootstrap of the matrix |
| weighted_f1 | the same, weighted by each class's labelled rows (support) | multinomial bootstrap |
| log_loss | mean of −ln p(true class), p normalised, clipped to [1e-15, 1 − 1e-15] | normal |

The classes averaged over are those seen as a label or a served class in the window's labelled
rows (scikit-learn's default). Labels and served classes are compared as text. Log loss leaves
out labelled rows whose class has no score column (counted in ``unknown_class_rows``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.config.schema import MonitorConfig
from modelwatch.outcome.cells import EPS
from modelwatch.outcome.intervals import mean_interval, percentile_interval, wilson
from modelwatch.outcome.queries import exact_wide, group_by_slices, slice_key, window_index
from modelwatch.outcome.values import MetricValue

REALIZED = ("accuracy", "macro_f1", "weighted_f1", "log_loss")


@dataclass
class Confusion:
    """One (window, slice): counts per (label, served class) plus the log-loss sums.

    ``matrix[i, j]`` = labelled rows with label ``classes[i]`` served ``classes[j]``.
    """

    classes: list[str]
    matrix: np.ndarray
    rows: int = 0
    loss_rows: int = 0  # labelled rows whose class has a score column
    loss_sum: float = 0.0
    loss_sq: float = 0.0
    has_scores: bool = False
    cells: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_records(cls, records: list[tuple], known: list[str] | None) -> Confusion:
        """From ``(served, label, rows, loss_rows, loss_sum, loss_sq)`` (label None: unlabelled)."""
        counts: dict[tuple[str, str], float] = defaultdict(float)
        rows = loss_rows = 0
        totals, squares = [], []
        for served, label, n, n_loss, total, sq in records:
            rows += int(n)
            if label is None:
                continue
            counts[(str(label), str(served))] += int(n)
            loss_rows += int(n_loss or 0)
            totals.append(float(total or 0.0))
            squares.append(float(sq or 0.0))
        # fsum is exactly rounded, so the result does not depend on the order rows came back in
        loss_sum, loss_sq = math.fsum(totals), math.fsum(squares)
        seen = {k for pair in counts for k in pair}
        order = [k for k in (known or []) if k in seen] + sorted(seen - set(known or []))
        index = {k: i for i, k in enumerate(order)}
        matrix = np.zeros((len(order), len(order)))
        for (label, served), n in counts.items():
            matrix[index[label], index[served]] += n
        return cls(order, matrix, rows, loss_rows, loss_sum, loss_sq, known is not None)

    @property
    def n_rows(self) -> int:
        return self.rows

    @property
    def n_labelled(self) -> int:
        return int(round(self.matrix.sum()))

    @property
    def coverage(self) -> float | None:
        return self.n_labelled / self.n_rows if self.n_rows else None


def f1_scores(matrix: np.ndarray) -> tuple[np.ndarray | float, np.ndarray | float]:
    """(macro F1, weighted F1) of one ``(K, K)`` matrix or a stack ``(B, K, K)`` of them.

    A class counts if it occurs as a label or a served class; its F1 is 2·TP / (2·TP + FP + FN).
    """
    m = np.asarray(matrix, dtype=float)
    tp = np.diagonal(m, axis1=-2, axis2=-1)
    support = m.sum(axis=-1)  # labelled rows of each class
    predicted = m.sum(axis=-2)
    denom = support + predicted  # = 2·TP + FP + FN
    present = denom > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(present, 2 * tp / np.where(present, denom, 1.0), 0.0)
        macro = f1.sum(axis=-1) / present.sum(axis=-1)
        weighted = (f1 * support).sum(axis=-1) / support.sum(axis=-1)
    if np.ndim(macro) == 0:
        return float(macro), float(weighted)
    return macro, weighted


def _bootstrap_f1(matrix: np.ndarray, samples: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Macro and weighted F1 of ``samples`` multinomial resamples of the labelled rows.

    Only the non-empty cells are redrawn (a confusion matrix is mostly empty), and per-class sums
    come from ``bincount``: memory grows with the non-empty cells, not with K².
    """
    label_idx, served_idx = np.nonzero(matrix)
    counts = matrix[label_idx, served_idx]
    n, k = counts.sum(), matrix.shape[0]
    draws = rng.multinomial(int(n), counts / n, size=samples).astype(float)
    diagonal = label_idx == served_idx
    macro, weighted = np.empty(samples), np.empty(samples)
    for b, draw in enumerate(draws):
        tp = np.bincount(label_idx[diagonal], weights=draw[diagonal], minlength=k)
        support = np.bincount(label_idx, weights=draw, minlength=k)
        served = np.bincount(served_idx, weights=draw, minlength=k)
        denom = support + served
        present = denom > 0
        f1 = np.divide(2 * tp, denom, out=np.zeros(k), where=present)
        macro[b] = f1[present].mean()
        weighted[b] = (f1 * support).sum() / support.sum()
    return macro, weighted


def fetch_confusion(conn: Connection, cfg: MonitorConfig, source: sa.Subquery,
                    starts: list[datetime], segments: dict[str, list[str]]
                    ) -> dict[tuple[int, str], Confusion]:
    """Confusion matrices per (window index, slice key): one query, slices as grouping sets."""
    d = source.c
    classes = cfg.columns.classes
    labelled = d.label.is_not(None)
    n_seg = len(segments)
    loss_cols = [sa.literal(0).label("known"), sa.literal(0.0).label("loss"),
                 sa.literal(0.0).label("loss_sq")]
    if classes:
        probs = [d[f"p{i}"] for i in range(len(classes))]
        total = sum(probs[1:], probs[0])
        p_true = sa.case(*[(d.label == sa.literal(k), p) for k, p in zip(classes, probs,
                                                                           strict=True)])
        pc = sa.func.greatest(sa.func.least(p_true / sa.func.nullif(total, 0.0), 1.0 - EPS), EPS)
        known = labelled & d.label.in_(list(classes))
        loss = -sa.func.ln(pc)
        loss_cols = [sa.case((known, 1), else_=0).label("known"),
                     exact_wide(sa.case((known, loss), else_=0.0)).label("loss"),
                     exact_wide(sa.case((known, loss * loss), else_=0.0)).label("loss_sq")]
    b = sa.select(window_index(d.ts, starts).label("widx"),
                  *[d[f"seg{i}"] for i in range(n_seg)], d.pred, d.label, *loss_cols
                  ).subquery("m")
    segs = [b.c[f"seg{i}"] for i in range(n_seg)]
    keys = [b.c.widx, b.c.pred, b.c.label]
    query = group_by_slices(
        sa.select(*keys, *segs, sa.func.count(), sa.func.sum(b.c.known), sa.func.sum(b.c.loss),
                  sa.func.sum(b.c.loss_sq)), keys, segs)
    names = list(segments)
    records: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for row in conn.execute(query):
        key = (int(row[0]), slice_key(names, row[3:3 + n_seg]))
        records[key].append((row[1], row[2], *row[3 + n_seg:]))
    return {key: Confusion.from_records(recs, classes) for key, recs in records.items()}


def multiclass_metrics(c: Confusion, settings: OutcomeSettings, rng: np.random.Generator,
                       gate: int, setting: str) -> dict[str, MetricValue]:
    """Accuracy, macro/weighted F1 and log loss with their intervals (``missing`` + reason)."""
    n, conf = c.n_labelled, settings.confidence
    if n == 0:
        return {m: MetricValue.missing("no labelled rows") for m in REALIZED}
    m = c.matrix
    correct = float(np.trace(m))
    support = m.sum(axis=1)
    per_class = {k: {"support": int(support[i]), "served": int(m[:, i].sum()),
                     "correct": int(m[i, i])} for i, k in enumerate(c.classes)}
    out = {"accuracy": MetricValue.of(correct / n, *wilson(correct, n, conf), "wilson",
                                      correct=int(correct), classes=len(c.classes))}
    macro_draws, weighted_draws = _bootstrap_f1(m, settings.bootstrap_samples, rng)
    macro, weighted = f1_scores(m)
    out["macro_f1"] = MetricValue.of(macro, *percentile_interval(macro_draws, conf), "bootstrap",
                                     per_class=per_class)
    out["weighted_f1"] = MetricValue.of(weighted, *percentile_interval(weighted_draws, conf),
                                        "bootstrap", per_class=per_class)
    unknown = n - c.loss_rows
    if not c.has_scores:
        out["log_loss"] = MetricValue.missing(
            "log loss needs the probability of the true class: set columns.classes to the class "
            "of each score column")
    elif c.loss_rows < gate:
        out["log_loss"] = MetricValue.missing(
            f"{c.loss_rows} labelled rows whose class has a score column ({unknown} without), "
            f"fewer than {setting}={gate}")
    else:
        ll, lo, hi = mean_interval(c.loss_sum, c.loss_sq, c.loss_rows, conf)
        out["log_loss"] = MetricValue.of(ll, max(lo, 0.0), hi, "normal",
                                         unknown_class_rows=unknown)
    return out
