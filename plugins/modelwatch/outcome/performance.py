"""Performance rows of a window: realized (mature labels), estimated (before), and the estimate's
error once both exist.

Check names: the realized metric's name (``roc_auc``, ``pr_auc``, ``log_loss``, ``brier``,
``accuracy``, ``precision``, ``recall``, ``f1``, ``ece``), ``estimated_<metric>`` for the
confidence-based estimate (``roc_auc``, ``accuracy``, ``precision``, ``recall``, ``f1``) and
``estimation_error_<metric>`` (estimate − realized). Regression (``mae``, ``rmse``, ``mape``,
``bias``) and multiclass (``accuracy``, ``macro_f1``, ``weighted_f1``, ``log_loss``) have realized
rows only (``task_realized_rows``). Rows exist for the whole population and
every slice; slices below ``slices.min_rows`` (whole population: ``outcome.min_labelled_rows``)
are ``skipped`` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from modelwatch.config.schema import MonitorConfig
from modelwatch.metrics import MetricRow
from modelwatch.outcome.binary import REALIZED, realized_metrics
from modelwatch.outcome.cells import Cells
from modelwatch.outcome.estimation import ESTIMATED, estimated_metrics
from modelwatch.outcome.intervals import rng_for
from modelwatch.outcome.reference import OutcomeReference
from modelwatch.outcome.thresholds import LAYER, PERFORMANCE, judge_performance, skipped
from modelwatch.outcome.values import MetricValue
from modelwatch.outcome.windows import EvalWindow
from modelwatch.warehouse.window_stats import ALL


def _ordered(cells: dict[str, Cells]) -> list[tuple[str, Cells]]:
    return sorted(cells.items(), key=lambda kv: (kv[0] != ALL, kv[0]))


def realized_rows(cfg: MonitorConfig, w: EvalWindow, cells: dict[str, Cells],
                  ref: OutcomeReference, bases: dict[str, dict]
                  ) -> tuple[list[MetricRow], dict[str, dict[str, MetricValue]]]:
    """Realized rows (mature windows only) and the computed values, for the estimation error."""
    s = cfg.outcome
    if not w.mature:
        reason = f"labels not mature until {w.matures_at.isoformat()}"
        return [skipped(m, reason, **bases.get(ALL, {})) for m in REALIZED], {}
    rows, values = [], {}
    for key, c in _ordered(cells):
        gate = s.min_labelled_rows if key == ALL else cfg.slices.min_rows
        if c.n_labelled < gate:
            setting = "outcome.min_labelled_rows" if key == ALL else "slices.min_rows"
            rows += [skipped(m, f"{c.n_labelled} labelled rows, fewer than {setting}={gate}", key,
                             **bases[key]) for m in REALIZED]
            continue
        metrics = realized_metrics(c, s, rng_for(s.seed, w.start.isoformat(), key, "realized"))
        values[key] = metrics
        details = {**bases[key], "reference_mature": ref.mature}
        rows += [judge_performance(cfg, m, m, metrics[m], ref.metric(key, m), key, details)
                 for m in REALIZED]
    if not rows:
        rows = [skipped(m, "no scored predictions in the window", **bases.get(ALL, {}))
                for m in REALIZED]
    return rows, values


def gate_of(cfg: MonitorConfig, key: str) -> tuple[int, str]:
    """The effective-sample-size gate of a slice: labelled rows needed, and the setting's name."""
    if key == ALL:
        return cfg.outcome.min_labelled_rows, "outcome.min_labelled_rows"
    return cfg.slices.min_rows, "slices.min_rows"


def task_realized_rows(cfg: MonitorConfig, w: EvalWindow, aggregates: dict[str, object],
                       ref: OutcomeReference, bases: dict[str, dict], checks: tuple[str, ...],
                       compute: Callable[..., dict[str, MetricValue]],
                       unit: str = "labelled rows") -> list[MetricRow]:
    """Realized rows of a task without estimation (regression, multiclass, ranking), as the
    binary ones: mature windows only, every slice gated on its labelled rows (ranking: requests),
    judged against the reference.

    ``compute(aggregate, settings, rng, gate, setting)`` gives the task's metric values; ``unit``
    names what ``n_labelled`` counts in the skip reason.
    """
    s = cfg.outcome
    if not w.mature:
        reason = f"labels not mature until {w.matures_at.isoformat()}"
        return [skipped(m, reason, **bases.get(ALL, {})) for m in checks]
    rows = []
    for key, agg in _ordered(aggregates):
        gate, setting = gate_of(cfg, key)
        if agg.n_labelled < gate:
            rows += [skipped(m, f"{agg.n_labelled} {unit}, fewer than {setting}={gate}",
                             key, **bases[key]) for m in checks]
            continue
        metrics = compute(agg, s, rng_for(s.seed, w.start.isoformat(), key, "realized"), gate,
                          setting)
        details = {**bases[key], "reference_mature": ref.mature}
        for m in checks:
            scale_by = PERFORMANCE[m].scale_by
            scale = (ref.metric(key, scale_by) or {}).get("value") if scale_by else None
            rows.append(judge_performance(cfg, m, m, metrics[m], ref.metric(key, m), key, details,
                                          scale=scale))
    if not rows:
        rows = [skipped(m, "no scored predictions in the window", **bases.get(ALL, {}))
                for m in checks]
    return rows


def estimated_rows(cfg: MonitorConfig, w: EvalWindow, cells: dict[str, Cells],
                   ref: OutcomeReference, bases: dict[str, dict]
                   ) -> tuple[list[MetricRow], dict[str, dict[str, MetricValue]]]:
    s = cfg.outcome
    checks = [f"estimated_{m}" for m in ESTIMATED]
    calibrator = ref.calibrator
    if calibrator is None:
        reason = ("the reference has no labelled rows of both classes to calibrate scores on"
                  if s.estimate else "outcome.estimate is off")
        return [skipped(c, reason, **bases.get(ALL, {})) for c in checks], {}
    share = ref.coverage(ALL) or 1.0
    rows, values = [], {}
    for key, c in _ordered(cells):
        gate = s.min_labelled_rows if key == ALL else cfg.slices.min_rows
        if c.n_rows < gate:
            setting = "outcome.min_labelled_rows" if key == ALL else "slices.min_rows"
            rows += [skipped(ch, f"{c.n_rows} rows, fewer than {setting}={gate}", key, **bases[key])
                     for ch in checks]
            continue
        metrics = estimated_metrics(c, calibrator, s,
                                    rng_for(s.seed, w.start.isoformat(), key, "estimated"), share)
        values[key] = metrics
        details = {**bases[key], "reference_mature": ref.mature, "band_labelled_share": share}
        rows += [judge_performance(cfg, f"estimated_{m}", m, metrics[m], ref.metric(key, m), key,
                                   details) for m in ESTIMATED]
    if not rows:
        rows = [skipped(ch, "no scored predictions in the window", **bases.get(ALL, {}))
                for ch in checks]
    return rows, values


def estimation_error_rows(w: EvalWindow, realized: dict[str, dict[str, MetricValue]],
                          estimated: dict[str, dict[str, MetricValue]], bases: dict[str, dict]
                          ) -> list[MetricRow]:
    """Estimate − realized, once a window's labels matured: how far to trust the estimate."""
    checks = {m: f"estimation_error_{m}" for m in ESTIMATED}
    rows = []
    for key in sorted(set(realized) & set(estimated), key=lambda k: (k != ALL, k)):
        for m, check in checks.items():
            est, real = estimated[key][m], realized[key][m]
            if est.value is None or real.value is None:
                continue
            within = (est.low is not None and est.high is not None
                      and est.low <= real.value <= est.high)
            details = {**bases[key], "estimated": est.value, "realized": real.value,
                       "band": [est.low, est.high], "within_band": within}
            rows.append(MetricRow(LAYER, check, None, est.value - real.value, None, "ok", details,
                                  key))
    present = {r.check_name for r in rows}
    reason = (f"labels not mature until {w.matures_at.isoformat()}" if not w.mature
              else "no slice has both an estimate and a realized value")
    rows += [skipped(check, reason, **bases.get(ALL, {})) for check in checks.values()
             if check not in present]
    return rows
