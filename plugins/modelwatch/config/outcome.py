"""Settings of the outcome layer (delayed labels, realized and estimated performance, KPIs).

Kept out of ``schema.py`` so the outcome layer owns its knobs; ``MonitorConfig.outcome`` embeds it
with defaults, so monitor files written before the layer existed stay valid. Warn/alert levels of
the outcome checks are not here: they live in ``thresholds`` like every other check's (see
docs/outcome.md for the check names and their built-in defaults).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from modelwatch.config.identifiers import check_identifier

Column = Annotated[str, BeforeValidator(lambda v: check_identifier(str(v)))]


class RankingSettings(BaseModel):
    """Ranking models: the cut-off of the top-k metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(
        10, ge=1, le=1000,
        description="Cut-off of NDCG@k, MAP@k, recall@k and catalog coverage@k: the first k "
        "positions of each request (by `columns.rank`, else by score).")


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

    @model_validator(mode="after")
    def _kpi_columns_distinct(self) -> OutcomeSettings:
        names = [self.kpi_ts, self.kpi_name, self.kpi_value, self.kpi_segment]
        names = [n for n in names if n]
        if len(set(names)) != len(names):
            raise ValueError(f"kpi_ts, kpi_name, kpi_value, kpi_segment must be different columns, "
                             f"got {names}")
        return self
