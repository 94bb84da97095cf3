"""Settings of the outcome layer (delayed labels, realized and estimated performance, KPIs).

Kept out of ``schema.py`` so the outcome layer owns its knobs; ``MonitorConfig.outcome`` embeds it
with defaults, so monitor files written before the layer existed stay valid. Warn/alert levels of
the outcome checks are not here: they live in ``thresholds`` like every other check's (see
docs/outcome.md for the check names and their built-in defaults).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from modelwatch.config.identifiers import check_identifier

Column = Annotated[str, BeforeValidator(lambda v: check_identifier(str(v)))]


class RankingSettings(BaseModel):
    """Ranking models: the cut-off of the top-k metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(
        10, ge=1, le=1000,
        description="Cut-off of NDCG@k, MAP@k, recall@k and catalog coverage@k: the first k "
        "positions of each request (by `columns.rank`, else by score).")


KPI_METRIC_LAYERS = ("data", "model", "outcome", "shadow")
_METRIC_SPEC = re.compile(r"^(?P<layer>[a-z]+)\.(?P<check>[a-z][a-z0-9_]*)$")


class KpiSettings(BaseModel):
    """How one business KPI is judged against its own history (a proxy-metric alert).

    The KPI's value in a window is compared with the same KPI and slice in the previous
    ``history_windows`` windows stored in ``mw_metric``: centre ± k · spread. A move in the
    adverse ``direction`` beyond ``k_warn`` spreads warns, beyond ``k_alert`` alerts.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Literal["higher_is_better", "lower_is_better", "two_sided"] = Field(
        description="Which move is adverse: a drop (`higher_is_better`, e.g. CTR, approval rate), "
        "a rise (`lower_is_better`, e.g. fraud loss) or either (`two_sided`).")
    method: Literal["mad", "sd"] = Field(
        "mad", description="Centre and spread of the history: `mad` = median and 1.4826 · MAD "
        "(robust: a bad week in the history does not widen the band), `sd` = mean and standard "
        "deviation.")
    k_warn: float = Field(3.0, gt=0, le=100,
                          description="Warn when the adverse move exceeds this many spreads.")
    k_alert: float = Field(5.0, gt=0, le=100,
                           description="Alert when the adverse move exceeds this many spreads "
                           "(at least `k_warn`).")
    history_windows: int = Field(
        28, ge=3, le=400,
        description="Previous windows of the same KPI and slice the band is computed from (with "
        "`seasonal: weekday`, previous windows on the same weekday and time of day).")
    min_history: int = Field(
        7, ge=3, le=400,
        description="Fewer stored windows of history than this and the KPI is stored but not "
        "judged (the row says why).")
    seasonal: Literal["none", "weekday"] = Field(
        "none", description="`weekday`: compare a window only with earlier windows on the same "
        "weekday and time of day, so a weekly pattern is not an alert.")
    min_spread: float = Field(
        0.0, ge=0,
        description="The spread is never taken below this (in the KPI's units): the noise the "
        "KPI is known to have from window to window (for a rate over n events about "
        "sqrt(p(1-p)/n)). Keeps a short or near-constant history (spread ≈ 0) from alerting on "
        "moves nobody cares about.")

    @model_validator(mode="after")
    def _orders(self) -> KpiSettings:
        if self.k_alert < self.k_warn:
            raise ValueError(f"k_alert ({self.k_alert}) is below k_warn ({self.k_warn}); set "
                             f"k_alert >= k_warn")
        if self.min_history > self.history_windows:
            raise ValueError(f"min_history ({self.min_history}) exceeds history_windows "
                             f"({self.history_windows}), so the KPI would never be judged; set "
                             f"min_history <= history_windows")
        return self


class KpiCorrelationSettings(BaseModel):
    """Correlation of each KPI with model and outcome metrics over the recent windows."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    windows: int = Field(
        28, ge=3, le=400,
        description="Windows (ending at the evaluated one) the correlations are computed over.")
    min_windows: int = Field(
        10, ge=3, le=400,
        description="Fewer windows with both the KPI and the metric and the correlation row is "
        "`skipped` with the reason.")
    metrics: list[str] | None = Field(
        None,
        description="Metrics correlated with every KPI, as `<layer>.<check>` of `mw_metric` "
        "(whole-population rows; one correlation per feature of the check). Default: by "
        "`model.task` (binary: realized and estimated ROC AUC, estimated accuracy, label "
        "positive rate, score PSI, mean confidence change; see docs/outcome.md). Empty: none.")

    @field_validator("metrics")
    @classmethod
    def _metric_specs(cls, value: list[str] | None) -> list[str] | None:
        for spec in value or ():
            m = _METRIC_SPEC.match(spec)
            if m is None or m["layer"] not in KPI_METRIC_LAYERS:
                raise ValueError(f"metric {spec!r} is not `<layer>.<check>` with layer one of "
                                 f"{', '.join(KPI_METRIC_LAYERS)}; write e.g. 'outcome.roc_auc'")
        twice = sorted({v for v in value or () if value.count(v) > 1})
        if twice:
            raise ValueError(f"metrics listed twice: {twice}; list each once")
        return value

    @model_validator(mode="after")
    def _orders(self) -> KpiCorrelationSettings:
        if self.min_windows > self.windows:
            raise ValueError(f"min_windows ({self.min_windows}) exceeds windows ({self.windows}); "
                             f"set min_windows <= windows")
        return self


def _kpi_name(name: str) -> str:
    if not name.strip() or "~" in name:
        raise ValueError(f"KPI name {name!r} must be non-empty and must not contain '~' (it "
                         f"separates KPI and metric in `kpi_correlation` rows); rename the KPI")
    return name


class OutcomeSettings(BaseModel):
    """Delayed labels, realized and estimated performance, business KPIs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Run the outcome layer for this model.")
    lookback_windows: int = Field(
        30, ge=1, le=400,
        description="Past windows (of `schedule.window`) re-evaluated on every run, so labels that "
        "land late update the windows they belong to. Make it cover `labels.delay` with room to "
        "spare.")
    decision_threshold: float = Field(
        0.5, ge=0, le=1,
        description="Served threshold: a score at or above it is a positive decision (accuracy, "
        "precision, recall and F1 are computed at it).")
    score_bins: int = Field(
        1200, ge=50, le=20_000,
        description="Equal-width bins of logit(score) on [-logit_limit, logit_limit] in which the "
        "warehouse counts labels; AUC and PR AUC are exact on the binned scores and each row "
        "reports the bound on the tie error (`auc_tie_bound`).")
    logit_limit: float = Field(12.0, gt=0, le=40,
                               description="Scores are clipped to logit ±this before binning.")
    ece_bins: int = Field(10, ge=2, le=100,
                          description="Equal-width probability bins of the expected calibration "
                          "error and its reliability curve.")
    confidence: float = Field(0.95, gt=0.5, lt=1,
                              description="Level of confidence intervals and estimation bands.")
    bootstrap_samples: int = Field(
        200, ge=50, le=5000,
        description="Resamples for the intervals that have no closed form (PR AUC, F1, ECE) and for "
        "the estimation bands; drawn from a fixed seed, so reruns give identical rows.")
    seed: int = Field(0, ge=0, description="Seed of those resamples.")
    min_labelled_rows: int = Field(
        100, ge=1,
        description="Whole-population gate: fewer labelled rows (ranking: requests with a labelled "
        "item) in a window and its realized metrics are `skipped` with the reason (slices use "
        "`slices.min_rows`).")
    min_class_rows: int = Field(
        5, ge=1,
        description="ROC AUC, PR AUC and recall need at least this many labelled positives (and "
        "AUC as many negatives); otherwise the row is `skipped` with the reason.")
    estimate: bool = Field(
        True,
        description="Estimate performance before labels mature (confidence-based, from scores "
        "calibrated on the labelled reference); binary models only.")
    ranking: RankingSettings = Field(
        default_factory=RankingSettings,
        description="Ranking models (`model.task: ranking`): top-k cut-off (see docs/outcome.md).")
    kpi_ts: Column = Field("ts", description="KPI table: time column (UTC).")
    kpi_name: Column = Field("kpi", description="KPI table: KPI name column.")
    kpi_value: Column = Field("value", description="KPI table: numeric value column.")
    kpi_segment: Column | None = Field(
        "segment", description="KPI table: segment column (`all` or empty = whole population); "
        "none if the table has no such column.")
    kpis: dict[str, KpiSettings] = Field(
        default_factory=dict,
        description="Proxy-metric alerts: per KPI name (as in the KPI table) its direction and "
        "noise band (see docs/outcome.md). KPIs not listed are stored but not judged.")
    kpi_correlation: KpiCorrelationSettings = Field(
        default_factory=KpiCorrelationSettings,
        description="Correlation (Pearson and Spearman) of every KPI with model and outcome "
        "metrics over the recent windows, stored as `kpi_correlation` rows.")

    @field_validator("kpis")
    @classmethod
    def _kpi_names(cls, value: dict[str, KpiSettings]) -> dict[str, KpiSettings]:
        for name in value:
            _kpi_name(name)
        return value

    @model_validator(mode="after")
    def _kpi_columns_distinct(self) -> OutcomeSettings:
        names = [self.kpi_ts, self.kpi_name, self.kpi_value, self.kpi_segment]
        names = [n for n in names if n]
        if len(set(names)) != len(names):
            raise ValueError(f"kpi_ts, kpi_name, kpi_value, kpi_segment must be different columns, "
                             f"got {names}")
        return self
