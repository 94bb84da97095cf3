"""Config of the shadow (champion/challenger) comparison and of its promotion gate.

Lives in its own module so ``schema.py`` stays the map of the whole file; it imports nothing from
``schema.py`` (which imports this), hence its own strict base class. Every field has a default, so
monitor files written before the shadow layer existed stay valid.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from modelwatch.config.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromotionGate(_Strict):
    """When the challenger may replace the champion: every criterion must pass."""

    mode: Literal["superior", "non_inferior"] = Field(
        "superior", description="`superior` (default): the challenger must be significantly "
        "better on AUC — the lower bound of the paired (DeLong) interval of AUC(challenger) − "
        "AUC(champion) above `min_gain` (`gate_auc_gain`); a challenger equal to the champion is "
        "never promoted. `non_inferior`: it may be no worse than `auc_margin` "
        "(`gate_auc_noninferiority`), for a challenger that is cheaper or faster to serve.")
    min_gain: float = Field(
        0.0, ge=0, le=1, description="Mode `superior`: the lower bound of the AUC-difference "
        "interval must exceed this (0: significantly better by any amount).")
    min_windows: int = Field(
        2, ge=1, description="Fewest windows of the evidence period holding labelled requests "
        "scored by both models (`gate_min_windows`): evidence from the challenger's first day in "
        "shadow alone does not promote it. The evidence period must be at least this many "
        "`schedule.window`s long.")

    lookback: Duration = Field(
        timedelta(days=7), description="Length of the evidence period the label-based criteria "
        "judge. The period ends `labels.delay` before the window's end (only requests whose labels "
        "are mature count) and uses the labels that had arrived by the window's end.")
    min_labelled: int = Field(
        1000, ge=1, description="Fewest labelled requests, scored by both models, in the evidence "
        "period (`gate_min_labelled`).")
    auc_margin: float = Field(
        0.01, ge=0, le=1, description="Mode `non_inferior`: the margin of "
        "`gate_auc_noninferiority`, which passes when the lower bound of the paired (DeLong) "
        "interval of AUC(challenger) − AUC(champion) is above −auc_margin.")
    slice_margin: float = Field(
        0.02, ge=0, le=1, description="`gate_no_slice_worse` fails on a slice whose challenger AUC "
        "is lower than the champion's by more than this, significantly (one-sided test on DeLong's "
        "standard error, Benjamini–Hochberg across slices at `slices.fdr`), in either mode. "
        "Slices below `slices.min_rows` labelled requests are not tested.")
    latency_p99_budget_ms: float | None = Field(
        None, gt=0, description="Absolute budget for the challenger's p99 latency in the window, "
        "in ms (none: no absolute budget).")
    latency_p99_max_ratio: float | None = Field(
        1.5, gt=0, description="The challenger's p99 latency may be at most this multiple of the "
        "champion's in the same window (none: no relative budget). Ignored without "
        "`columns.latency_ms`.")


class ShadowSettings(_Strict):
    """Champion (served `predictions`) against challenger (`shadow_predictions`) on the same requests."""

    enabled: bool = Field(True, description="Run the shadow comparison. Needs the "
                          "`tables.shadow_predictions` table; set false for a model without one.")
    champion_threshold: float = Field(
        0.5, description="Decision threshold of the champion: a request is positive when its "
        "score is at or above it (decision agreement, McNemar).")
    challenger_threshold: float = Field(
        0.5, description="Decision threshold of the challenger, same convention.")
    score_margin: float = Field(
        0.1, ge=0, description="Two scores of one request disagree 'by more than the margin' when "
        "|challenger − champion| exceeds this (`large_disagreement_share`).")
    coverage_warn: float = Field(
        0.99, ge=0, le=1, description="`shadow_coverage` (share of champion requests with a "
        "challenger score) below this warns.")
    coverage_alert: float = Field(
        0.95, ge=0, le=1, description="`shadow_coverage` below this alerts, and the gate's "
        "coverage criterion fails.")
    max_log_skew: Duration = Field(
        timedelta(hours=1), description="How far the shadow log's `event_ts` may lie from the "
        "champion's for the same request; bounds the shadow table scan around the window.")
    top_slices: int = Field(5, ge=1, le=100, description="Slices listed, worst first, in "
                            "`top_disagreement_slices`.")
    bootstrap_resamples: int = Field(
        1000, ge=100, le=100_000, description="Not used any more: the AUC and log-loss "
        "difference intervals are closed-form (DeLong; docs/shadow.md). Accepted so that monitor "
        "files that set it stay valid.")
    bootstrap_seed: int = Field(0, ge=0, description="Not used any more (see "
                                "`bootstrap_resamples`); accepted for existing monitor files.")
    confidence: float = Field(0.95, gt=0.5, lt=1, description="Level of the two-sided intervals "
                              "of the AUC and log-loss differences; the gate uses their lower "
                              "bound.")
    canary_version: str | None = Field(
        None, description="A `model_version` of `predictions` served to a fraction of traffic "
        "(canary). When set, its requests are left out of the shadow comparison and compared with "
        "the rest (the control) in `canary_*` checks.")
    gate: PromotionGate = Field(default_factory=PromotionGate,
                                description="Promotion gate criteria.")

    @model_validator(mode="after")
    def _ordered(self) -> ShadowSettings:
        if self.coverage_alert > self.coverage_warn:
            raise ValueError(f"coverage_alert ({self.coverage_alert}) must not exceed coverage_warn "
                             f"({self.coverage_warn}): coverage is worse when lower")
        return self
