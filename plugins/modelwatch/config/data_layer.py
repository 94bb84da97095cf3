"""Settings of the data layer (``data_layer:`` in a monitor file): silent defaulting,
training-serving skew, schema, volume, ranges and Great Expectations.

Every field has a default, so a monitor file without a ``data_layer`` section is valid and gets
the documented behaviour. Levels (warn/alert) are not set here: they are thresholds like any
other check's (``thresholds.defaults.<check>``), with the data layer's own defaults documented in
docs/data_layer.md. Only pydantic is imported here: the DAG factory parses this at DAG-file load.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Severity = Literal["page", "notify", "log"]
_EXPECTATION_NAME = re.compile(r"^expect_[a-z0-9_]+$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultingSettings(_Strict):
    """Which constants count as a "silent default" value of a feature."""

    enabled: bool = Field(True, description="Run the `silent_default_share` check.")
    numeric_constants: list[float] = Field(
        default_factory=lambda: [0.0, -1.0],
        description="Constants a broken join or a `fillna` typically writes into numeric features.")
    categorical_constants: list[str] = Field(
        default_factory=lambda: [""],
        description="Constants typical of broken categorical features (the empty string by default; "
        "add e.g. `unknown` if your pipeline writes that).")
    include_reference_mean: bool = Field(
        True, description="Also watch each numeric feature's reference mean (mean imputation).")
    include_reference_mode: bool = Field(
        True, description="Also watch each feature's most frequent reference value (mode imputation).")
    mean_tolerance: float = Field(
        1e-6, ge=0, description="Relative tolerance when comparing a value with the reference mean "
        "(the imputer's mean is never bit-identical to the warehouse's).")
    min_rows: int = Field(
        50, ge=1, description="Fewer non-null values in the window: the feature is `skipped`.")


class SkewSettings(_Strict):
    """Training-serving skew: served features against the offline feature store, on a sample."""

    enabled: bool = Field(True, description="Run the `skew_*` checks.")
    sample_rate: float = Field(
        0.01, gt=0, le=1, description="Share of the window's request ids compared (deterministic: "
        "md5 of seed and request id, see docs/data_layer.md).")
    seed: int = Field(0, ge=0, description="Changes which request ids are sampled, deterministically.")
    relative_tolerance: float = Field(
        1e-6, ge=0, description="Numeric values match when |online - offline| <= tolerance × "
        "max(|online|, |offline|) + absolute_tolerance.")
    absolute_tolerance: float = Field(
        1e-9, ge=0, description="Absolute part of the numeric match tolerance.")
    min_sampled: int = Field(
        1, ge=1, description="Fewer sampled requests than this: the skew checks are `skipped`.")


class RangeSettings(_Strict):
    """Values outside the reference's p1..p99, widened by a margin."""

    enabled: bool = Field(True, description="Run the `out_of_range_share` check.")
    margin: float = Field(
        0.1, ge=0, description="Widening of [p1, p99] on both sides, as a share of p99 - p1.")


class VolumeSettings(_Strict):
    """Row count against reference windows of the same weekday (and hour, for sub-daily windows)."""

    enabled: bool = Field(True, description="Run the `volume_vs_weekday` check.")
    match_hour: bool = Field(
        True, description="For windows shorter than a day, compare with reference windows of the same "
        "weekday *and* start hour.")


class UserExpectation(_Strict):
    """One Great Expectations expectation declared in the monitor file."""

    expectation: str = Field(
        description="GX expectation name in snake case, e.g. `expect_column_values_to_match_regex`.")
    kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Its keyword arguments, e.g. `{column: channel, regex: '^w'}`.")
    severity: Severity = Field(
        "notify", description="Tier when it fails: `page` (status alert), `notify` (warn) or `log` "
        "(status ok, recorded with `failed: true` in details).")

    @field_validator("expectation")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _EXPECTATION_NAME.match(value):
            raise ValueError(f"{value!r} is not a GX expectation name: write it in snake case, like "
                             "'expect_column_values_to_not_be_null'")
        return value


class GreatExpectationsSettings(_Strict):
    """The generated expectation suite and the Checkpoint that runs it in the warehouse."""

    enabled: bool = Field(True, description="Run the Great Expectations suite (needs the "
                          "`great-expectations` package).")
    generated: bool = Field(True, description="Generate expectations from the reference profile "
                            "(columns, request id, null rates, ranges, allowed sets, row count).")
    generated_severity: Severity = Field(
        "notify", description="Tier of a failed generated expectation.")
    expectations: list[UserExpectation] = Field(
        default_factory=list, description="Extra expectations, merged with the generated ones (a user "
        "expectation on the same expectation and column replaces the generated one).")
    null_rate_margin: float = Field(
        0.05, ge=0, le=1, description="Allowed null rate = reference null rate + this margin.")
    range_margin: float = Field(
        0.25, ge=0, description="Allowed values = [p1, p99] widened by this share of p99 - p1 "
        "(wider than `ranges.margin`: GX judges single values, not a share).")
    range_mostly: float = Field(
        0.95, gt=0, le=1, description="Share of values that must fall in the allowed range.")
    max_set_size: int = Field(
        50, ge=1, description="Categoricals with at most this many reference values get an allowed-set "
        "expectation (when the reference's top-K holds all of them).")
    set_mostly: float = Field(0.99, gt=0, le=1, description="Share of values that must be in the set.")
    row_count_margin: float = Field(
        0.5, ge=0, description="Row count must lie within expected × (1 ± margin); expected is the "
        "same-weekday reference median.")
    unexpected_sample: int = Field(
        10, ge=0, le=200, description="Unexpected values kept per expectation in `details`.")


class ArtifactSettings(_Strict):
    """Where Data Docs and reports go: always a local folder; S3 too when a bucket is set."""

    local_dir: str | None = Field(
        None, description="Local folder of the artifact store (default: `$MODELWATCH_HOME/artifacts`, "
        "or the folder the task passes).")
    s3_bucket: str | None = Field(None, description="S3 bucket to upload Data Docs to (boto3).")
    s3_prefix: str = Field("modelwatch/data_docs", description="Key prefix of Data Docs in the bucket.")
    s3_report_prefix: str = Field("modelwatch/reports",
                                  description="Key prefix of the per-window HTML reports in the bucket.")
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint (MinIO, a test server); AWS when unset. Credentials "
        "come from the usual AWS chain (env, profile, role), never from this file.")
    s3_region: str | None = Field(None, description="Region of the bucket.")

    @field_validator("s3_bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not _BUCKET.match(value):
            raise ValueError(f"{value!r} is not an S3 bucket name: 3-63 lowercase letters, digits, "
                             "dots and hyphens")
        return value

    @field_validator("s3_prefix", "s3_report_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        return value.strip("/")


def expectation_target(kwargs: dict[str, Any]) -> str | None:
    """The column(s) an expectation is about, as written in ``mw_metric.feature``."""
    if kwargs.get("column") is not None:
        return str(kwargs["column"])
    if kwargs.get("column_A") is not None and kwargs.get("column_B") is not None:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    if isinstance(kwargs.get("column_list"), list):
        return ",".join(str(c) for c in kwargs["column_list"])
    return None


class OfflineFreshnessSettings(_Strict):
    """How old the offline feature store's newest row may be at the window's end."""

    enabled: bool = Field(True, description="Run the `offline_freshness_hours` check.")
    timestamp_column: str = Field(
        "computed_ts", description="Column of `tables.offline_features` holding when a row was "
        "computed. The SLA is the `offline_freshness_hours` threshold (default warn 24 / alert 48 h).")

    @field_validator("timestamp_column")
    @classmethod
    def _column(cls, value: str) -> str:
        from modelwatch.config.identifiers import check_identifier

        return check_identifier(value)


class DataLayerSettings(_Strict):
    """Data-layer checks beyond volume/nulls/freshness: defaulting, skew, schema, ranges, GX."""

    enabled: bool = Field(True, description="Run the data layer at all.")
    defaulting: DefaultingSettings = Field(default_factory=DefaultingSettings,
                                           description="Silent defaulting of features to a constant.")
    skew: SkewSettings = Field(default_factory=SkewSettings,
                               description="Training-serving skew against `tables.offline_features`.")
    offline_freshness: OfflineFreshnessSettings = Field(
        default_factory=OfflineFreshnessSettings,
        description="Freshness of `tables.offline_features` against an SLA.")
    ranges: RangeSettings = Field(default_factory=RangeSettings,
                                  description="Values outside the reference range.")
    volume: VolumeSettings = Field(default_factory=VolumeSettings,
                                   description="Row count against the same weekday.")
    schema_check: bool = Field(True, description="Compare live column types with the reference's.")
    great_expectations: GreatExpectationsSettings = Field(
        default_factory=GreatExpectationsSettings, description="Great Expectations suite and Data Docs.")
    artifacts: ArtifactSettings = Field(default_factory=ArtifactSettings,
                                        description="Where Data Docs are written.")

    @model_validator(mode="after")
    def _user_expectations_unique(self) -> DataLayerSettings:
        keys = [(e.expectation, expectation_target(e.kwargs))
                for e in self.great_expectations.expectations]
        dupes = sorted({f"{n} on {c}" if c else n for n, c in keys if keys.count((n, c)) > 1})
        if dupes:
            raise ValueError(f"great_expectations.expectations lists {dupes} twice; one metric row is "
                             "written per expectation and column, so keep one")
        return self
