"""Distribution drift of every feature (layer ``data``) and of the score (layer ``model``), for
the whole population and for every slice, with every configured method.

Per (slice, column, method) one ``mw_metric`` row: ``check_name`` is the method (``psi``,
``ks``, …; ``score_<method>`` for score columns), ``slice`` is ``all`` or ``segment=value``.
The threshold used is stored on the row (alert level in ``threshold``, warn level and its kind in
``details``), so anyone can see why a value alerted.

Two guards against crying wolf with hundreds of rows per window: slices below a minimum row
count are ``skipped`` with the reason, and a Benjamini–Hochberg false-discovery control runs over
the p-values of every row of the window — features × slices × methods — so a crossing that is
not significant among all those tests is reported ``ok`` with ``details.fdr_suppressed``.

KS is exact (``scipy.stats.ks_2samp`` on raw values) for a window or slice with at most
``drift.ks_exact_max_rows`` values — the window's values (``warehouse.samples.window_samples``)
against the profile's reference sample — and read off the fine grid otherwise;
``details.ks_mode`` says which, and exact rows carry both sample sizes.
"""

from __future__ import annotations

import math

import numpy as np

from modelwatch.checks.columns import Column, drift_columns, drift_methods
from modelwatch.config.schema import (
    CalibratedThreshold,
    ConstantThreshold,
    MonitorConfig,
    SeasonalThreshold,
)
from modelwatch.drift.calibration import (
    NullDistribution,
    calibrated_levels,
    null_distribution,
    small_window_factor,
)
from modelwatch.drift.fdr import benjamini_hochberg
from modelwatch.drift.methods import BinnedInput, DriftScore, MethodSpec, get_method
from modelwatch.drift.methods.ks import ks_exact
from modelwatch.drift.seasonal import SeasonalHistory, robust_sd, seasonal_levels
from modelwatch.metrics import STATUS_ORDER, MetricRow, judge
from modelwatch.profile import OTHER, Profile, coarsen
from modelwatch.warehouse.samples import WindowSamples, reference_values
from modelwatch.warehouse.window_stats import ALL, SliceStats, WindowStats

MIN_EXPECTED = 5.0


def merge_sparse_buckets(reference: np.ndarray, current: np.ndarray,
                         min_expected: float = MIN_EXPECTED) -> tuple[np.ndarray, np.ndarray]:
    """Fold categories the window is too small to see into one "rare" bucket before
    ``__other__`` (the last bucket), or into ``__other__`` when even together they are too rare.

    A category with reference share p expects ``p * n`` rows in a window of n; below
    ``min_expected`` (5, the chi-square rule of thumb) its observed count is mostly zero or one,
    and smoothed log-ratios (PSI, KL) blow up on those empty buckets. Merging them keeps small
    windows and slices of high-cardinality columns from alerting on sampling noise. The merged
    bucket stays apart from ``__other__`` so that a window whose values are all unseen (every
    known category sparse, everything in ``__other__``) still differs from the reference instead
    of collapsing into a single bucket that scores zero.
    """
    total_ref, total_cur = reference.sum(), current.sum()
    if total_ref <= 0 or total_cur <= 0 or reference.size < 3:
        return reference, current
    sparse = reference[:-1] / total_ref * total_cur < min_expected
    if not sparse.any():
        return reference, current
    rare_ref, rare_cur = reference[:-1][sparse].sum(), current[:-1][sparse].sum()
    ref_kept, cur_kept = reference[:-1][~sparse], current[:-1][~sparse]
    if rare_ref / total_ref * total_cur < min_expected:  # too rare even together: into other
        return (np.append(ref_kept, reference[-1] + rare_ref),
                np.append(cur_kept, current[-1] + rare_cur))
    return (np.append(ref_kept, [rare_ref, reference[-1]]),
            np.append(cur_kept, [rare_cur, current[-1]]))


class DriftContext:
    """Reference-side data for one profile: counts per slice, bins per method, null distributions."""

    def __init__(self, cfg: MonitorConfig, profile: Profile,
                 history: SeasonalHistory | None = None, samples: WindowSamples | None = None):
        self.cfg = cfg
        self.profile = profile
        self.history = history  # earlier values of the seasonal checks (checks.seasonal)
        self.samples = samples or {}  # small windows' raw values, for exact KS
        self._nulls: dict[tuple[str, str], NullDistribution] = {}

    def exact_ks_inputs(self, column: Column, slice_key: str
                        ) -> tuple[np.ndarray, np.ndarray] | None:
        """(reference sample, window values) of a small window or slice, or None (grid KS)."""
        current = self.samples.get(slice_key, {}).get(column.name)
        if current is None or self.cfg.drift.ks_exact_max_rows == 0:
            return None
        reference = reference_values(self.profile.sample, self.profile.data["segments"],
                                     column.name, slice_key)
        if reference is None or reference.size == 0:
            return None
        return reference, current

    def reference_counts(self, column: Column, slice_key: str) -> np.ndarray | None:
        data = self.profile.data
        if slice_key == ALL:
            section = data["numeric" if column.kind == "numeric" else "categorical"][column.name]
            return np.asarray(section["counts"], dtype=float)
        ref = data["slices"].get(slice_key)
        if ref is None:
            return None
        return np.asarray(ref["numeric" if column.kind == "numeric" else "categorical"][column.name],
                          dtype=float)

    def binned(self, column: Column, method: str, reference: np.ndarray, current: np.ndarray,
               current_range: tuple[float | None, float | None]) -> BinnedInput:
        if column.kind == "categorical":
            return BinnedInput(*merge_sparse_buckets(reference, current))
        col = self.profile.data["numeric"][column.name]
        spec = get_method(method, "numeric")
        if spec.needs_edges:
            grid = col.get("grid")
            if grid:  # the reference's p0.5/p99.5: stable whatever the window size
                lo = grid["lo"]
                hi = grid["lo"] + grid["cells"] / grid["inv_width"]
            else:  # observed extremes grow with n; only for columns too narrow for a grid
                lo = min(v for v in (col["min"], current_range[0]) if v is not None)
                hi = max(v for v in (col["max"], current_range[1]) if v is not None)
            edges = np.asarray(col["edges"], dtype=float)
            return BinnedInput(reference, current, edges=edges if edges.size else None,
                               bounds=(lo, hi))
        coarse = col["coarse_edges"]
        return BinnedInput(coarsen(reference, col["edges"], coarse),
                           coarsen(current, col["edges"], coarse),
                           edges=np.asarray(coarse, dtype=float) if coarse else None)

    def null(self, column: Column, method: str) -> NullDistribution:
        key = (column.name, method)
        if key not in self._nulls:
            section = "numeric" if column.kind == "numeric" else "categorical"
            windows = [(np.asarray(w[section][column.name], dtype=float), float(w["rows"]))
                       for w in self.profile.windows]
            col = self.profile.data[section][column.name]
            rng = (col.get("min"), col.get("max"))

            def statistic(rest: np.ndarray, counts: np.ndarray) -> float:
                spec = get_method(method, column.kind)
                return spec.func(self.binned(column, method, rest, counts, rng)).value

            self._nulls[key] = null_distribution(method, windows, statistic)
        return self._nulls[key]

    def levels(self, column: Column, method: str, check: str, rows: float, value: float,
               reference_rows: float, slice_key: str = ALL) -> tuple[ConstantThreshold, dict]:
        spec = self.cfg.thresholds.for_check(check, column.name)
        registered = get_method(method, column.kind)
        if spec is None:  # calibrated, never below the method's documented levels
            spec = CalibratedThreshold(type="calibrated", min_warn=registered.default_warn,
                                       min_alert=registered.default_alert)
        if isinstance(spec, SeasonalThreshold):
            return self._seasonal(spec, column, method, check, registered, rows, value,
                                  reference_rows, slice_key)
        if isinstance(spec, CalibratedThreshold):
            return self._calibrated(spec, column, method, registered, rows, value, reference_rows)
        return spec, {"threshold_type": "constant"}

    def _calibrated(self, spec: CalibratedThreshold, column: Column, method: str,
                    registered: MethodSpec, rows: float, value: float, reference_rows: float
                    ) -> tuple[ConstantThreshold, dict]:
        null = self.null(column, method)
        if not null.usable:
            return (ConstantThreshold(warn=max(registered.default_warn, spec.min_warn),
                                      alert=max(registered.default_alert, spec.min_alert)),
                    {"threshold_type": "method default",
                     "reason": f"only {len(null.values)} reference windows to calibrate on"})
        warn, alert, details = calibrated_levels(spec, method, null, rows, value, reference_rows)
        return ConstantThreshold(warn=warn, alert=alert), details

    def _seasonal(self, spec: SeasonalThreshold, column: Column, method: str, check: str,
                  registered: MethodSpec, rows: float, value: float, reference_rows: float,
                  slice_key: str) -> tuple[ConstantThreshold, dict]:
        """The band's history, or — too little of it — the calibrated levels, saying why."""
        if self.history is None:
            band, values = None, []
        else:
            band, values = self.history.values(spec, check, column.name, slice_key)
        where = band.label if band else "the band (no history was loaded)"
        if len(values) < spec.min_history:
            fallback = CalibratedThreshold(
                type="calibrated", min_warn=max(spec.min_warn, registered.default_warn),
                min_alert=max(spec.min_alert, registered.default_alert))
            threshold, details = self._calibrated(fallback, column, method, registered, rows,
                                                  value, reference_rows)
            return threshold, {**details, "band": band.label if band else None,
                               "history_windows": len(values),
                               "seasonal_fallback": f"{len(values)} earlier window(s) of {where} "
                               f"in the last {spec.lookback} weeks, fewer than min_history="
                               f"{spec.min_history}: {details['threshold_type']} levels used"}
        null = self.null(column, method)
        noise = 0.0
        if null.usable:  # sampling noise of the statistic, scaled to this window's size
            noise = robust_sd(null.values) * small_window_factor(method, null, rows,
                                                                 reference_rows)
        warn, alert, details = seasonal_levels(spec, values, noise)
        return ConstantThreshold(warn=warn, alert=alert), {**details, "band": band.label,
                                                           "sampling_noise": noise}


def _row(ctx: DriftContext, column: Column, method: str, slice_key: str, current: SliceStats
         ) -> MetricRow:
    check = f"{column.check_prefix}{method}"
    reference = ctx.reference_counts(column, slice_key)
    if column.kind == "numeric":
        summary = current.numeric[column.name]
        counts = np.asarray(summary.bins, dtype=float)
        rng = (summary.minimum, summary.maximum)
        extra = {"current_mean": summary.mean}
    else:
        buckets = ctx.profile.data["categorical"][column.name]["categories"]
        observed = current.categories[column.name]
        counts = np.asarray([observed.get(c, 0) for c in buckets] + [observed.get(OTHER, 0)],
                            dtype=float)
        rng = (None, None)
        extra = {"other_share": float(counts[-1] / counts.sum()) if counts.sum() else None}
    details = {"method": method, "kind": column.kind, "importance": column.importance,
               "rows": int(counts.sum()), **extra}
    if reference is None or reference.sum() == 0:
        details["reason"] = f"slice {slice_key} has no reference rows"
        return MetricRow(column.layer, check, column.name, None, None, "skipped", details, slice_key)
    exact = ctx.exact_ks_inputs(column, slice_key) if method == "ks" else None
    reference_rows = float(reference.sum())
    if exact is not None:  # small window: raw values against the reference sample
        score: DriftScore = ks_exact(*exact)
        # the levels' sampling noise is that of the sample the window was compared with
        reference_rows = float(exact[0].size)
    else:
        score = get_method(method, column.kind).func(
            ctx.binned(column, method, reference, counts, rng))
    details.update({k: v for k, v in score.details.items() if isinstance(v, int | float | str)})
    if method == "ks":
        details.setdefault("ks_mode", "grid")
    if score.p_value is not None and math.isfinite(score.p_value):
        details["p_value"] = score.p_value
    threshold, how = ctx.levels(column, method, check, float(counts.sum()), score.value,
                                reference_rows, slice_key)
    details.update(how)
    row = judge(column.layer, check, column.name, score.value, threshold, details)
    return MetricRow(row.layer, row.check_name, row.feature, row.value, row.threshold, row.status,
                     row.details, slice_key)


def _skipped(column: Column, method: str, slice_key: str, rows: int, min_rows: int) -> MetricRow:
    details = {"method": method, "rows": rows,
               "reason": f"{rows} rows in slice, fewer than slices.min_rows={min_rows}"}
    return MetricRow(column.layer, f"{column.check_prefix}{method}", column.name, None, None,
                     "skipped", details, slice_key)


def _control_fdr(rows: list[MetricRow], fdr: float) -> list[MetricRow]:
    """Downgrade crossings that are not significant across features × slices × methods.

    Each row's p-value is its calibrated one (how often a normal window reaches the value) when
    it has a calibrated threshold, else the method's own test; rows without either (constant
    thresholds on tests-less statistics such as PSI) are judged on their threshold alone.
    """
    p_values = {i: r.details.get("null_p_value", r.details.get("p_value"))
                for i, r in enumerate(rows)}
    tested = [i for i, p in p_values.items() if p is not None and math.isfinite(p)]
    if not tested:
        return rows
    keep = benjamini_hochberg([p_values[i] for i in tested], fdr)
    out = list(rows)
    for i, significant in zip(tested, keep, strict=True):
        row = out[i]
        if not significant and STATUS_ORDER[row.status] > 0:
            details = {**row.details, "fdr_suppressed": row.status, "fdr": fdr}
            out[i] = MetricRow(row.layer, row.check_name, row.feature, row.value, row.threshold,
                               "ok", details, row.slice)
    return out


def drift_checks(cfg: MonitorConfig, stats: WindowStats, profile: Profile,
                 history: SeasonalHistory | None = None,
                 samples: WindowSamples | None = None) -> list[MetricRow]:
    """Every drift row of the window. ``history`` (``checks.seasonal.load_seasonal_history``)
    holds the earlier values seasonal thresholds are computed from; ``samples``
    (``warehouse.samples.window_samples``) the raw values of small windows and slices, which get
    the exact KS."""
    ctx = DriftContext(cfg, profile, history, samples)
    rows: list[MetricRow] = []
    for slice_key, current in sorted(stats.slices.items(), key=lambda kv: kv[0] != ALL):
        small = slice_key != ALL and current.rows < cfg.slices.min_rows
        for column in drift_columns(cfg):
            for method in drift_methods(cfg, column.kind):
                if small:
                    rows.append(_skipped(column, method, slice_key, current.rows,
                                         cfg.slices.min_rows))
                else:
                    rows.append(_row(ctx, column, method, slice_key, current))
    return _control_fdr(rows, cfg.slices.fdr)


__all__ = ["OTHER", "drift_checks"]
