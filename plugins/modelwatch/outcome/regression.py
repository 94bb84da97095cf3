"""Realized performance of a regression model, from per-window sums computed in the warehouse.

One query per run (the whole lookback, grouped by window and slice) returns, per (window, slice),
exact decimal sums over the labelled rows of the error ``e = prediction − label`` and its powers;
no row leaves the warehouse. From those:

| metric | value | interval |
|---|---|---|
| mae | Σ\\|e\\| / n | normal on the mean of \\|e\\| (variance from Σe², since \\|e\\|² = e²) |
| rmse | √(Σe² / n) | delta method on the MSE: se(RMSE) = se(MSE) / (2·RMSE), se(MSE) from Σe⁴ |
| mape | Σ(\\|e\\| / \\|y\\|) / n₀ over the n₀ rows with y ≠ 0 | normal on the mean of \\|e\\|/\\|y\\| |
| bias | Σe / n (positive: over-prediction) | normal on the mean of e |
| label_mean | Σy / n (label drift: the target's mean) | normal on the mean of y |

Normal intervals are CLT intervals on a per-row mean (``mean_interval``): good from a few hundred
rows, which the effective-sample-size gate (``outcome.min_labelled_rows`` / ``slices.min_rows``)
enforces. MAPE leaves out rows with a zero label (it is undefined there); their number is in the
row's details (``zero_label_rows``) and MAPE has its own gate on n₀.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, fields
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from modelwatch.config.outcome import OutcomeSettings
from modelwatch.config.schema import MonitorConfig
from modelwatch.errors import ContractError
from modelwatch.outcome.intervals import mean_interval, z_value
from modelwatch.outcome.queries import exact_wide, group_by_slices, slice_key, window_index
from modelwatch.outcome.values import MetricValue

REALIZED = ("mae", "rmse", "mape", "bias")


@dataclass
class RegressionSums:
    """Sums of one (window, slice); ``e`` = prediction − label over labelled rows."""

    rows: float = 0.0
    labelled: float = 0.0
    nonzero: float = 0.0  # labelled rows with label != 0 (MAPE's rows)
    label_sum: float = 0.0
    label_sq: float = 0.0
    pred_sum: float = 0.0  # over labelled rows
    err_sum: float = 0.0
    abs_err_sum: float = 0.0
    sq_err_sum: float = 0.0
    err4_sum: float = 0.0
    ape_sum: float = 0.0
    ape_sq: float = 0.0

    @classmethod
    def from_values(cls, values) -> RegressionSums:
        return cls(*[0.0 if v is None else float(v) for v in values])

    @classmethod
    def from_arrays(cls, predictions, labels) -> RegressionSums:
        """The warehouse's sums in NumPy; ``labels`` NaN means "no label yet"."""
        pred = np.asarray(predictions, dtype=float)
        y = np.asarray(labels, dtype=float)
        lab = ~np.isnan(y)
        p, t = pred[lab], y[lab]
        e = p - t
        nz = t != 0
        ape = np.abs(e[nz]) / np.abs(t[nz])
        return cls(pred.size, lab.sum(), nz.sum(), t.sum(), (t * t).sum(), p.sum(), e.sum(),
                   np.abs(e).sum(), (e * e).sum(), (e**4).sum(), ape.sum(), (ape * ape).sum())

    @property
    def n_rows(self) -> int:
        return int(round(self.rows))

    @property
    def n_labelled(self) -> int:
        return int(round(self.labelled))

    @property
    def coverage(self) -> float | None:
        return self.n_labelled / self.n_rows if self.n_rows else None


SUMS = tuple(f.name for f in fields(RegressionSums))


def fetch_regression(conn: Connection, cfg: MonitorConfig, source: sa.Subquery,
                     starts: list[datetime], segments: dict[str, list[str]]
                     ) -> dict[tuple[int, str], RegressionSums]:
    """Regression sums per (window index, slice key): one query, slices as grouping sets."""
    d = source.c
    labelled = d.label.is_not(None)
    err = d.score - d.label
    nonzero = labelled & (d.label != 0)
    ape = sa.func.abs(err) / sa.func.abs(d.label)

    def lab(value):
        return exact_wide(sa.case((labelled, value), else_=0.0))

    n_seg = len(segments)
    b = sa.select(
        window_index(d.ts, starts).label("widx"),
        *[d[f"seg{i}"] for i in range(n_seg)],
        sa.case((labelled, 1), else_=0).label("labelled"),
        sa.case((nonzero, 1), else_=0).label("nonzero"),
        lab(d.label).label("label_sum"), lab(d.label * d.label).label("label_sq"),
        lab(d.score).label("pred_sum"), lab(err).label("err_sum"),
        lab(sa.func.abs(err)).label("abs_err_sum"), lab(err * err).label("sq_err_sum"),
        lab(err * err * err * err).label("err4_sum"),
        exact_wide(sa.case((nonzero, ape), else_=0.0)).label("ape_sum"),
        exact_wide(sa.case((nonzero, ape * ape), else_=0.0)).label("ape_sq"),
    ).subquery("r")
    segs = [b.c[f"seg{i}"] for i in range(n_seg)]
    query = group_by_slices(
        sa.select(b.c.widx, *segs, sa.func.count().label("rows"),
                  *[sa.func.sum(b.c[name]) for name in SUMS[1:]]),
        [b.c.widx], segs)
    names = list(segments)
    out: dict[tuple[int, str], RegressionSums] = defaultdict(RegressionSums)
    try:
        result = conn.execute(query).all()
    except sa.exc.DBAPIError as exc:
        text = str(exc.orig).lower()
        if "overflow" not in text and "could not cast" not in text:
            raise
        raise ContractError(
            f"{cfg.model.name}: the regression error sums overflow NUMERIC(38, 12) (a per-row "
            f"error⁴ or its window sum reaches 1e26): predictions or labels in "
            f"{cfg.tables.predictions}/{cfg.tables.labels} are far larger than a target's units "
            f"should make them. Fix: log the target in larger units, or check for corrupt values "
            f"({str(exc.orig).splitlines()[0][:120]})") from None
    for row in result:
        key = (int(row[0]), slice_key(names, row[1:1 + n_seg]))
        out[key] = RegressionSums.from_values(row[1 + n_seg:])
    return dict(out)


def _rmse(s: RegressionSums, conf: float) -> MetricValue:
    n = s.labelled
    mse, mse_lo, _ = mean_interval(s.sq_err_sum, s.err4_sum, n, conf)
    rmse = math.sqrt(mse)
    if rmse == 0:
        return MetricValue.of(0.0, 0.0, 0.0, "delta", mse=mse)
    se_mse = (mse - mse_lo) / z_value(conf)
    half = z_value(conf) * se_mse / (2 * rmse)
    return MetricValue.of(rmse, max(rmse - half, 0.0), rmse + half, "delta", mse=mse)


def regression_metrics(s: RegressionSums, settings: OutcomeSettings, gate: int, setting: str
                       ) -> dict[str, MetricValue]:
    """MAE, RMSE, MAPE and bias with their intervals (``missing`` with a reason)."""
    n, conf = s.labelled, settings.confidence
    if n == 0:
        return {m: MetricValue.missing("no labelled rows") for m in REALIZED}
    counts = {"mean_label": s.label_sum / n, "mean_prediction": s.pred_sum / n}
    mae, lo, hi = mean_interval(s.abs_err_sum, s.sq_err_sum, n, conf)
    bias, b_lo, b_hi = mean_interval(s.err_sum, s.sq_err_sum, n, conf)
    out = {"mae": MetricValue.of(mae, max(lo, 0.0), hi, "normal", **counts),
           "rmse": _rmse(s, conf),
           "bias": MetricValue.of(bias, b_lo, b_hi, "normal", **counts,
                                  sign="prediction - label")}
    zero = int(round(s.labelled - s.nonzero))
    if s.nonzero < gate:
        out["mape"] = MetricValue.missing(
            f"{int(round(s.nonzero))} labelled rows with a non-zero label ({zero} zero labels "
            f"left out), fewer than {setting}={gate}")
    else:
        mape, m_lo, m_hi = mean_interval(s.ape_sum, s.ape_sq, s.nonzero, conf)
        out["mape"] = MetricValue.of(mape, max(m_lo, 0.0), m_hi, "normal", zero_label_rows=zero,
                                     mape_rows=int(round(s.nonzero)))
    return out


def label_mean(s: RegressionSums, confidence: float) -> MetricValue:
    """Mean of the labels (label drift of a regression model), with its standard deviation."""
    n = s.labelled
    if n == 0:
        return MetricValue.missing("no labelled rows")
    mean, lo, hi = mean_interval(s.label_sum, s.label_sq, n, confidence)
    var = max(s.label_sq / n - mean * mean, 0.0) * (n / (n - 1) if n > 1 else 0.0)
    return MetricValue.of(mean, lo, hi, "normal", std=math.sqrt(var), labelled=int(round(n)))
