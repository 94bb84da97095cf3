"""The monitor config schema. Every field carries a description; docs/config.md mirrors it.

Validation is strict (``extra="forbid"``) so a misspelt key is an error, not a silently ignored
setting. Secrets never live here: the warehouse is named by an Airflow connection id or by the
name of an environment variable holding a SQLAlchemy URL.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from modelwatch.config.data_layer import DataLayerSettings
from modelwatch.config.durations import format_duration, parse_duration
from modelwatch.config.identifiers import check_identifier
from modelwatch.config.outcome import OutcomeSettings
from modelwatch.config.registry import RegistrySettings
from modelwatch.config.shadow import ShadowSettings

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Identifier = Annotated[str, BeforeValidator(lambda v: check_identifier(str(v)))]
TableName = Annotated[str, BeforeValidator(lambda v: check_identifier(str(v), qualified=True))]

LAYERS = ("data", "model", "outcome", "infra")
Severity = Literal["page", "notify", "log"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Strict):
    name: Identifier = Field(description="Model name as logged in the predictions table.")
    task: Literal["binary", "multiclass", "regression", "ranking"] = Field(
        description="Kind of model; decides which model and outcome checks apply."
    )
    description: str = Field("", description="Shown in the DAG docs.")


class SeverityPolicy(Strict):
    alert: Severity = Field("page", description="Severity of a check in status `alert`.")
    warn: Severity = Field("notify", description="Severity of a check in status `warn`.")


class Owner(Strict):
    team: str = Field(description="Team that owns this layer, e.g. `data-eng`.")
    slack_channel: str = Field(description="Slack channel for this layer's alerts, e.g. `#fraud-data`.")
    severity: SeverityPolicy = Field(default_factory=SeverityPolicy, description="Status → tier.")

    @field_validator("slack_channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not (value.startswith("#") or value.startswith("C")):
            raise ValueError(f"{value!r} is not a Slack channel: write '#name' or a channel id 'C…'")
        return value


class Owners(Strict):
    data: Owner = Field(description="Schema, nulls, freshness, feature drift, skew.")
    model: Owner = Field(description="Score distributions, slices, shadow comparison.")
    outcome: Owner = Field(description="Realized and estimated performance, KPIs.")
    infra: Owner = Field(description="Latency, errors, task failures.")


class Warehouse(Strict):
    conn_id: str | None = Field(None, description="Airflow connection id of the warehouse.")
    url_env: str | None = Field(
        None, description="Name of an env var holding a SQLAlchemy URL (never the URL itself)."
    )

    timezone: str | None = Field(
        None, description="IANA name of the wall clock that the warehouse's *naive* timestamp "
        "columns are written in (e.g. Europe/Berlin). Unset: naive timestamps are UTC. Time-zone "
        "aware columns (timestamptz) need nothing; window boundaries are always UTC instants, so a "
        "local DST day is 23 or 25 hours long. The warehouse session runs in this time zone.",
    )

    @field_validator("timezone")
    @classmethod
    def _iana_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone name: write e.g. UTC, Europe/Berlin or "
                "America/New_York (the wall clock of your naive timestamp columns)") from None
        if not all(ch.isalnum() or ch in "/_+-" for ch in value):
            raise ValueError(f"{value!r} is not an IANA time zone name")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Warehouse:
        if self.conn_id and self.url_env:
            raise ValueError("set either conn_id or url_env, not both")
        return self

    @field_validator("url_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and ("://" in value or not value.replace("_", "").isalnum()):
            raise ValueError(
                f"{value!r} looks like a URL, not an environment variable name: put the URL in an "
                "env var (e.g. MODELWATCH_WAREHOUSE_URL) and name that variable here"
            )
        return value


class Tables(Strict):
    predictions: TableName = Field("predictions", description="Served predictions, one row per request.")
    labels: TableName = Field("labels", description="Ground truth as it arrives.")
    shadow_predictions: TableName = Field("shadow_predictions", description="Challenger's scores.")
    offline_features: TableName = Field("offline_features", description="Offline feature store rows.")
    kpis: TableName | None = Field(None, description="Optional business KPIs.")


class Columns(Strict):
    request_id: Identifier = Field("request_id", description="Unique request key.")
    event_ts: Identifier = Field("event_ts", description="Event time, UTC.")
    model_name: Identifier = Field("model_name", description="Model name column.")
    model_version: Identifier = Field("model_version", description="Served version column.")
    score: list[Identifier] = Field(
        default_factory=lambda: ["score"],
        description="Score column(s): one for binary (the probability) and regression (the "
        "predicted value), one per class for multiclass.",
    )
    prediction: Identifier | None = Field("prediction", description="Served decision/class.")
    classes: list[str] | None = Field(
        None,
        description="Multiclass: the class label each `score` column is the probability of, in "
        "the same order. Enables log loss, and argmax decisions when `prediction` is not set. "
        "Labels and predicted classes are compared as text.",
    )
    item: Identifier | None = Field(
        None,
        description="Ranking: item id column, in both the predictions table (one row per request "
        "and candidate item) and the labels table (relevance per request and item). Required for "
        "ranking models, not allowed for the others.",
    )
    rank: Identifier | None = Field(
        None,
        description="Ranking: served position of the item within its request (1 = top). Unset: "
        "items are ranked by the first `score` column, highest first (ties by item id).",
    )
    latency_ms: Identifier | None = Field(None, description="Serving latency in ms, if logged.")
    label: Identifier = Field("label", description="Label column in the labels table.")
    label_ts: Identifier = Field("label_ts", description="When the label arrived.")

    @field_validator("score", mode="before")
    @classmethod
    def _score_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Feature(Strict):
    name: Identifier = Field(description="Column name in the predictions table.")
    kind: Literal["numeric", "categorical"] = Field(description="Decides the drift method.")
    importance: float = Field(1.0, ge=0, description="Weight used by decision rules (0–1 typical).")


class Schedule(Strict):
    cron: str = Field("@daily", description="Cron expression or preset of the monitoring run.")
    window: Duration = Field(timedelta(days=1), description="Length of the monitored window.")
    start_date: date = Field(description="First data interval the DAG knows about.")
    catchup: bool = Field(False, description="Run missed intervals when the DAG is unpaused.")
    retries: int = Field(2, ge=0, le=10, description="Retries of each monitoring task before it "
                         "fails (the infra owner is paged once it has failed for good).")
    retry_delay: Duration = Field(timedelta(minutes=2), description="Wait before the first retry; "
                                  "doubles on each further try, up to 20 minutes.")
    deadline: Duration | None = Field(
        None, description="A run still unfinished this long after it was queued pages the infra "
        "owner (an Airflow deadline alert; its callback runs in the triggerer), e.g. `2h`. Off by "
        "default: Airflow 3.3's `dag.test` / `airflow dags test` (and so `modelwatch demo`) fail "
        "every successful run of a DAG that has a deadline — set it for scheduled deployments.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        presets = {"@hourly", "@daily", "@weekly", "@monthly"}
        if value in presets or len(value.split()) == 5:
            return value
        raise ValueError(
            f"{value!r} is not a cron expression: use 5 fields like '0 * * * *' "
            f"or one of {sorted(presets)}"
        )

    @field_validator("deadline")
    @classmethod
    def _positive_deadline(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise ValueError(f"deadline {value} is not positive: write e.g. '2h', or null to turn "
                             "the deadline alert off")
        return value


class LabelSpec(Strict):
    delay: Duration = Field(timedelta(days=7), description="When a window's labels are mature.")
    positive: str | None = Field(
        None, description="Binary models whose label column holds text (e.g. `fraud`/`legit`): "
        "the value that means the positive class (1). Every other value must be listed in "
        "`negative`; a value in neither is a contract error naming it. Unset: labels are 0/1 "
        "numbers or BOOLEAN (true = 1).")
    negative: list[str] = Field(
        default_factory=list, description="With `positive`: the label values that mean the "
        "negative class (0).")

    @model_validator(mode="after")
    def _classes(self) -> LabelSpec:
        if self.negative and self.positive is None:
            raise ValueError(f"labels.negative {self.negative} is set without labels.positive: "
                             "name the positive label value too, e.g. `positive: fraud`")
        if self.positive is not None and not self.negative:
            raise ValueError(f"labels.positive {self.positive!r} needs labels.negative: list the "
                             "value(s) that mean the negative class, e.g. `negative: [legit]`")
        if self.positive is not None and self.positive in self.negative:
            raise ValueError(f"labels.positive {self.positive!r} is also in labels.negative; a "
                             "value belongs to one class")
        return self


_S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``(bucket, key)`` of ``s3://bucket/key.parquet``; ``ValueError`` saying what to write."""
    fix = "write it as s3://bucket/path/to/reference.parquet"
    scheme, sep, rest = uri.partition("://")
    if scheme != "s3" or not sep:
        raise ValueError(f"{uri!r} is not an s3:// URI; {fix}")
    bucket, _, key = rest.partition("/")
    if not _S3_BUCKET.match(bucket):
        raise ValueError(f"{uri!r}: bucket {bucket!r} is not an S3 bucket name (3-63 lowercase "
                         f"letters, digits, dots and hyphens); {fix}")
    if not key or key.endswith("/"):
        raise ValueError(f"{uri!r} names no object (the key after the bucket is empty or a "
                         f"folder); {fix}")
    if not key.lower().endswith(".parquet"):
        raise ValueError(f"{uri!r}: the key {key!r} is not a .parquet file; {fix}")
    return bucket, key


class Reference(Strict):
    """One reference source: a predictions window (`start`, `end`), a `table`, or an `s3_uri`.

    With a table or a file, `start` and `end` are optional and narrow it to a window."""

    start: datetime | None = Field(None, description="Reference window start (UTC).")
    end: datetime | None = Field(None, description="Reference window end (UTC, exclusive).")
    table: TableName | None = Field(None, description="Or a table holding the reference rows.")
    s3_uri: str | None = Field(
        None, description="Or a parquet file in S3 holding the reference rows, "
        "`s3://bucket/key.parquet`, with the predictions table's columns. It is downloaded (to a "
        "temporary file) and staged in the warehouse only when the profile is computed; its ETag "
        "is part of the profile's identity, so a changed file is profiled again and an unchanged "
        "one is not. Credentials come from the usual AWS chain (env, profile, role), never from "
        "this file.")
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint of `s3_uri` (MinIO, a test server); AWS when "
        "unset.")
    s3_region: str | None = Field(None, description="Region of the `s3_uri` bucket.")
    model_version: str | None = Field(None, description="Version the profile belongs to.")

    @field_validator("s3_uri")
    @classmethod
    def _s3_uri(cls, value: str | None) -> str | None:
        if value is not None:
            parse_s3_uri(value)
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an endpoint URL: write e.g. "
                             "'https://minio.internal:9000', or remove it to use AWS")
        return value

    @model_validator(mode="after")
    def _window_or_table(self) -> Reference:
        if self.table is not None and self.s3_uri is not None:
            raise ValueError(f"both `table` ({self.table}) and `s3_uri` ({self.s3_uri}) are set: "
                             "keep exactly one reference source")
        if self.s3_uri is None and (self.s3_endpoint_url or self.s3_region):
            raise ValueError("`s3_endpoint_url`/`s3_region` are set without `s3_uri`: add the "
                             "file's s3:// URI or remove them")
        if self.table is None and self.s3_uri is None and (self.start is None or self.end is None):
            raise ValueError("give one reference source: `table`, `s3_uri`, or both `start` and "
                             "`end` (a window of the predictions table)")
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self

    @property
    def staged(self) -> bool:
        """True when the rows come from a table or a file rather than a predictions window."""
        return self.table is not None or self.s3_uri is not None


class ConstantThreshold(Strict):
    """Fixed warn/alert levels: status is warn at or above `warn`, alert at or above `alert`."""

    type: Literal["constant"] = Field("constant", description="Threshold kind (`constant`).")
    warn: float = Field(description="Value at or above which the check warns.")
    alert: float = Field(description="Value at or above which the check alerts.")

    @model_validator(mode="after")
    def _ordered(self) -> ConstantThreshold:
        if self.warn > self.alert:
            raise ValueError(f"warn ({self.warn}) must not exceed alert ({self.alert})")
        return self


class CalibratedThreshold(Strict):
    """Levels learnt from the reference: the statistic's spread across reference windows.

    The reference is split into windows of the monitoring window's size; each window is compared
    with the rest of the reference, which gives the statistic's null distribution for this
    feature. A gamma fit of it gives the level exceeded by chance at the configured false-alarm
    rate. The level is raised for windows smaller than the reference's (statistics shrink with
    n) and never drops below `min_warn`/`min_alert`, the effect-size floor that keeps huge
    windows from alerting on negligible shifts.
    """

    type: Literal["calibrated"] = Field(description="Threshold kind (`calibrated`).")
    warn_false_alarm_rate: float = Field(0.05, gt=0, lt=1, description="Chance of a warn on "
                                         "a window like the reference's.")
    alert_false_alarm_rate: float = Field(0.005, gt=0, lt=1, description="Chance of an alert "
                                          "on a window like the reference's.")
    min_warn: float = Field(0.0, ge=0, description="Effect-size floor of the warn level.")
    min_alert: float = Field(0.0, ge=0, description="Effect-size floor of the alert level.")

    @model_validator(mode="after")
    def _ordered(self) -> CalibratedThreshold:
        if self.alert_false_alarm_rate > self.warn_false_alarm_rate:
            raise ValueError("alert_false_alarm_rate must not exceed warn_false_alarm_rate")
        if self.min_warn > self.min_alert:
            raise ValueError(f"min_warn ({self.min_warn}) must not exceed min_alert ({self.min_alert})")
        return self


class SeasonalThreshold(Strict):
    """Levels learnt from the statistic's own history in the same weekday (or weekday-hour) band.

    For traffic with a weekly pattern a Saturday differs from the reference every Saturday; that
    is normal and should not page. The stored values of the same check, feature and slice on the
    same weekday (and start hour, for `weekday_hour`) of the last `lookback` weeks, strictly
    before the window, give the band's median and MAD. A window warns at
    `median + k_warn · 1.4826 · MAD` and alerts at `median + k_alert · 1.4826 · MAD`; the spread is
    never taken below the statistic's sampling noise between reference windows, and the levels
    never below `min_warn`/`min_alert`. With fewer than `min_history` windows in the band the
    check falls back to the calibrated levels (never below the method's documented ones) and
    says so in `details.seasonal_fallback`. Bands are in UTC, like the windows.
    """

    type: Literal["seasonal"] = Field(description="Threshold kind (`seasonal`; drift checks only, "
                                      "see docs/drift_methods.md).")
    period: Literal["weekday", "weekday_hour"] = Field(
        "weekday", description="Band a window is compared within: `weekday` (same day of the "
        "week) or `weekday_hour` (same day and start hour; only for windows shorter than a day).")
    lookback: int = Field(8, ge=1, le=104, description="Weeks of history read back for the band "
                          "(earlier windows of the same length, before the judged one).")
    min_history: int = Field(3, ge=1, description="Windows of the band needed in the history; "
                             "with fewer the calibrated levels are used instead (never below the "
                             "method's documented ones) and `details.seasonal_fallback` says so.")
    k_warn: float = Field(3.0, gt=0, description="Warn at the band's median plus this many robust "
                          "standard deviations (1.4826 · MAD).")
    k_alert: float = Field(5.0, gt=0, description="Alert at the band's median plus this many "
                           "robust standard deviations.")
    min_warn: float = Field(0.0, ge=0, description="Effect-size floor of the warn level.")
    min_alert: float = Field(0.0, ge=0, description="Effect-size floor of the alert level.")

    @model_validator(mode="after")
    def _ordered(self) -> SeasonalThreshold:
        if self.k_warn > self.k_alert:
            raise ValueError(f"k_warn ({self.k_warn}) must not exceed k_alert ({self.k_alert}): "
                             "the alert level is the higher one")
        if self.min_warn > self.min_alert:
            raise ValueError(f"min_warn ({self.min_warn}) must not exceed min_alert ({self.min_alert})")
        return self

    def band_length(self) -> timedelta:
        """Length of one band: a day (`weekday`) or an hour (`weekday_hour`)."""
        return timedelta(days=1) if self.period == "weekday" else timedelta(hours=1)


Threshold = Annotated[ConstantThreshold | CalibratedThreshold | SeasonalThreshold,
                      Field(discriminator="type")]


class ThresholdOverride(Strict):
    check: str = Field(description="Check the override applies to, e.g. `psi`.")
    feature: str | None = Field(None, description="Feature it applies to (all when omitted).")
    threshold: Threshold = Field(description="The threshold to use instead, with its `type`.")

    @model_validator(mode="before")
    @classmethod
    def _inline(cls, value: object) -> object:
        """Allow the short form `{check: psi, feature: x, warn: 0.2, alert: 0.4}`."""
        if isinstance(value, dict) and "threshold" not in value:
            value = dict(value)
            inner = {k: value.pop(k) for k in list(value) if k not in ("check", "feature")}
            inner.setdefault("type", "constant")
            value["threshold"] = inner
        return value


def _default_thresholds() -> dict[str, ConstantThreshold]:
    return {
        "null_rate_increase": ConstantThreshold(warn=0.02, alert=0.05),
        "row_count_change": ConstantThreshold(warn=0.3, alert=0.5),
        "freshness_lag_hours": ConstantThreshold(warn=2, alert=6),
        "mean_confidence_change": ConstantThreshold(warn=0.02, alert=0.05),
        "high_confidence_share_change": ConstantThreshold(warn=0.03, alert=0.08),
    }


class Thresholds(Strict):
    defaults: dict[str, Threshold] = Field(
        default_factory=_default_thresholds,
        description="Per check name (e.g. `psi`, `ks`, `score_psi`, `row_count_change`); merged "
        "over the built-in defaults. Drift methods default to their documented constant levels.",
    )
    overrides: list[ThresholdOverride] = Field(
        default_factory=list, description="Per check and feature exceptions."
    )

    @field_validator("defaults", mode="after")
    @classmethod
    def _merge_defaults(cls, value: dict) -> dict:
        return {**_default_thresholds(), **value}

    def for_check(self, check: str, feature: str | None = None):
        for override in self.overrides:
            if override.check == check and override.feature in (None, feature):
                return override.threshold
        return self.defaults.get(check)


class DriftSettings(Strict):
    numeric_methods: list[str] = Field(
        default_factory=lambda: ["psi", "ks", "jensen_shannon", "wasserstein"],
        description="Drift methods for numeric features and the score (see docs/drift_methods.md).")
    categorical_methods: list[str] = Field(
        default_factory=lambda: ["psi", "chi_square"],
        description="Drift methods for categorical features (Jensen–Shannon is available but "
        "biased upwards on small samples of high-cardinality columns).")
    bins: int = Field(10, ge=2, le=50, description="Quantile bins for PSI/JS/KL/chi-square.")
    fine_bins: int = Field(100, ge=10, le=1000, description="Quantile grid for KS/Wasserstein "
                           "(and percentiles); the bins above are a coarsening of it.")
    top_k: int = Field(50, ge=1, le=10_000, description="Categories kept per categorical "
                       "feature; the rest share one `__other__` bucket.")
    ks_exact_max_rows: int = Field(
        5000, ge=0, le=50_000, description="A window (or slice) with at most this many non-null "
        "values of a numeric column gets the exact two-sample KS (`scipy.stats.ks_2samp`) against "
        "the reference sample stored in the profile (up to 5000 values, drawn once, seeded) "
        "instead of the grid KS; its values are pulled with one bounded query per column. 0 "
        "turns exact mode off.")
    change_point: list[Literal["cusum", "page_hinkley", "ewma"]] = Field(
        default_factory=lambda: ["cusum", "page_hinkley"],
        description="Detectors run over each feature's PSI history (empty list: none).")


class SliceSettings(Strict):
    top_n: int = Field(10, ge=0, le=200, description="Values per segment column monitored as "
                       "slices, largest by reference volume.")
    values: dict[Identifier, list[str]] = Field(
        default_factory=dict, description="Extra values to monitor per segment column.")
    min_rows: int = Field(500, ge=1, description="A slice with fewer rows in the window is "
                          "`skipped` with the reason, not judged.")
    fdr: float = Field(0.05, gt=0, lt=1, description="False-discovery rate across features × "
                       "slices (Benjamini–Hochberg on the drift tests' p-values).")


class Condition(Strict):
    """One signal: at least `min_features` features whose `signal` rows reach `status`.

    `signal` is a check name in `mw_metric` (`psi`, `score_psi`, `silent_default_share`,
    `estimated_roc_auc`, `promotion_gate`, …), or the pseudo-signal `version_changed`: the
    dominant served `model_version` changed within `within`.
    """

    signal: str = Field(description="Check name in mw_metric (or `version_changed`).")
    layer: Literal["data", "model", "outcome", "shadow", "system"] = Field(
        "data", description="Layer of the signal in mw_metric.")
    status: Literal["ok", "warn", "alert"] = Field(
        "alert", description="Minimum status that counts (`ok`: the row exists and passed, "
        "e.g. a promotion gate).")
    min_features: int = Field(1, ge=1, description="How many features must show it.")
    min_importance: float = Field(0.0, ge=0, description="Only features at least this important.")
    slice: str = Field("all", description="Slice the signal is read from (`all`: whole population).")
    within: Duration | None = Field(None, description="For `version_changed`: how recent.")


class Rule(Strict):
    name: Identifier = Field(description="Rule name shown in decisions.")
    action: Literal["retrain", "rollback", "promote", "alert_only"] = Field(description="Branch.")
    all_of: list[Condition] = Field(default_factory=list, description="All must hold.")
    any_of: list[Condition] = Field(default_factory=list, description="At least one must hold.")
    none_of: list[Condition] = Field(default_factory=list, description="None may hold (vetoes, "
                                     "e.g. no retrain while the data pipeline is broken).")
    sustained_for: int = Field(1, ge=1, description="Windows in a row the conditions must hold.")
    cooldown: Duration = Field(timedelta(0), description="Quiet time after the rule fired.")

    @model_validator(mode="after")
    def _has_conditions(self) -> Rule:
        if not self.all_of and not self.any_of:
            raise ValueError(f"rule {self.name!r} has no conditions: add `all_of` or `any_of`")
        return self


class Retraining(Strict):
    callable: str | None = Field(None, description="`package.module:function` to call.")
    command: list[str] | None = Field(None, description="Or a command to run.")

    @model_validator(mode="after")
    def _one_target(self) -> Retraining:
        if bool(self.callable) == bool(self.command):
            raise ValueError("set exactly one of `callable` or `command`")
        if self.callable and ":" not in self.callable:
            raise ValueError(f"{self.callable!r} must look like 'package.module:function'")
        return self


class Alerting(Strict):
    airflow_base_url: str = Field("http://localhost:8080", description="For links to runs.")
    reminder_after: Duration = Field(
        timedelta(days=7),
        description="Dedup cooldown: an open, unacknowledged alert is re-sent as a reminder after "
        "this long without a message about it; until then each run only updates its `mw_alert` "
        "row and edits its Slack message. An acknowledged alert is never reminded.")
    page_drift_when_performance_holds: bool = Field(
        False, description="Page drift-only alerts (feature, score or broad drift) even when the "
        "window's estimated or realized performance is measured and within its levels. By "
        "default such alerts notify instead: drift that does not move performance is for the "
        "next working day, not for a night page.")

    @field_validator("reminder_after")
    @classmethod
    def _positive_reminder(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError(f"reminder_after must be positive (got {value}); a reminder every run "
                             "would repeat every alert, use e.g. `1d`")
        return value

    def run_url(self, dag_id: str, run_id: str) -> str:
        """The Airflow UI page of a DAG run."""
        from urllib.parse import quote

        return (f"{self.airflow_base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/"
                f"{quote(run_id, safe='')}")

    def model_tab_url(self, dag_id: str) -> str:
        """The Monitoring tab of the model's DAG (the modelwatch UI plugin)."""
        from urllib.parse import quote

        return f"{self.airflow_base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/plugin/monitoring"

    def report_url(self, dag_id: str, run_id: str) -> str:
        """The run's report, served behind Airflow's login by the modelwatch UI plugin."""
        from urllib.parse import quote

        return (f"{self.airflow_base_url.rstrip('/')}/modelwatch/dags/{quote(dag_id, safe='')}/runs/"
                f"{quote(run_id, safe='')}/report")


class MonitorConfig(Strict):
    """One monitored model."""

    model: ModelSpec = Field(description="Which model, and what kind of task it solves.")
    owners: Owners = Field(description="Who is told about what: one owner per layer.")
    warehouse: Warehouse = Field(default_factory=Warehouse,
                                 description="Where the input and `mw_*` tables live.")
    tables: Tables = Field(default_factory=Tables, description="Input table names.")
    columns: Columns = Field(default_factory=Columns, description="Column mapping.")
    features: list[Feature] = Field(min_length=1, description="Monitored feature columns.")
    segments: list[Identifier] = Field(default_factory=list, description="Slice columns.")
    schedule: Schedule = Field(description="When the DAG runs and how long a window is.")
    labels: LabelSpec = Field(default_factory=LabelSpec, description="Label arrival.")
    reference: Reference = Field(description="What 'normal' is: a reference window, table, or "
                               "parquet file in S3.")
    thresholds: Thresholds = Field(default_factory=Thresholds,
                                   description="Warn/alert levels per check, with overrides.")
    drift: DriftSettings = Field(default_factory=DriftSettings, description="Drift methods, bins.")
    slices: SliceSettings = Field(default_factory=SliceSettings, description="Per-segment slices.")
    decisions: list[Rule] = Field(default_factory=list, description="Decision rules.")
    retraining: Retraining | None = Field(None, description="What a retrain runs.")
    registry: RegistrySettings = Field(
        default_factory=RegistrySettings,
        description="Model registry backend that rollback, promote and retraining move the aliases "
        "in (see docs/decisions.md); the audit trail stays in the warehouse.")
    alerting: Alerting = Field(default_factory=Alerting, description="Links in alerts.")
    data_layer: DataLayerSettings = Field(
        default_factory=DataLayerSettings,
        description="Data-layer checks: silent defaulting, training-serving skew, schema, volume by "
        "weekday, ranges and the Great Expectations suite (see docs/data_layer.md).")
    shadow: ShadowSettings = Field(
        default_factory=ShadowSettings,
        description="Champion/challenger comparison on shadow traffic, its promotion gate "
        "and the optional canary (see docs/shadow.md).")
    outcome: OutcomeSettings = Field(
        default_factory=OutcomeSettings,
        description="Outcome layer: delayed-label join, realized and estimated performance, "
        "label drift, KPIs (see docs/outcome.md).")

    @model_validator(mode="after")
    def _unique_features(self) -> MonitorConfig:
        names = [f.name for f in self.features]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"features listed twice: {dupes}; keep one entry per column")
        return self

    @model_validator(mode="after")
    def _task_columns(self) -> MonitorConfig:
        c, task = self.columns, self.model.task
        if self.labels.positive is not None and task != "binary":
            raise ValueError(f"labels.positive is for binary models (model.task: {task}); "
                             "remove it (multiclass labels are compared as text)")
        if c.classes is not None:
            if task != "multiclass":
                raise ValueError(f"columns.classes is for multiclass models (model.task: {task}); "
                                 "remove it")
            if len(c.classes) != len(c.score) or len(set(c.classes)) != len(c.classes):
                raise ValueError(f"columns.classes {c.classes} must name one distinct class per "
                                 f"score column {c.score}, in the same order")
        for key in ("item", "rank"):
            value = getattr(c, key)
            if value is not None and task != "ranking":
                raise ValueError(f"columns.{key}={value!r} is for ranking models (model.task: "
                                 f"{task}); remove it")
        if task == "ranking":
            if c.item is None:
                raise ValueError("a ranking model needs columns.item (got none): set it to the item "
                                 "id column of the predictions and labels tables, e.g. "
                                 "`item: item_id`")
            keys = {"request_id": c.request_id, "event_ts": c.event_ts, "label": c.label}
            for key in ("item", "rank"):
                value = getattr(c, key)
                clash = [k for k, v in keys.items() if v == value]
                if clash:
                    raise ValueError(f"columns.{key}={value!r} is also columns.{clash[0]}: name "
                                     f"the {key} column of the predictions table instead")
            if c.rank is not None and c.rank == c.item:
                raise ValueError(f"columns.rank={c.rank!r} is also columns.item: name the served "
                                 "position column (1 = top), or remove columns.rank to rank by "
                                 "score")
        if task == "multiclass" and c.prediction is None and c.classes is None:
            raise ValueError("a multiclass model needs the served class: set columns.prediction, "
                             "or columns.classes (one per score column) to take the argmax")
        return self

    @model_validator(mode="after")
    def _known_methods(self) -> MonitorConfig:
        from modelwatch.drift.methods import method_names

        for kind, names in (("numeric", self.drift.numeric_methods),
                            ("categorical", self.drift.categorical_methods)):
            known = method_names(kind)
            bad = [n for n in names if n not in known]
            if bad:
                raise ValueError(f"drift.{kind}_methods: unknown {bad}; methods for {kind} "
                                 f"features are {known}")
        unknown = sorted(set(self.slices.values) - set(self.segments))
        if unknown:
            raise ValueError(f"slices.values names {unknown}, which are not in `segments`")
        return self

    @model_validator(mode="after")
    def _seasonal_fits(self) -> MonitorConfig:
        """A seasonal threshold needs a drift check, a window inside its band and enough windows
        in `lookback` weeks to ever reach `min_history`."""
        from modelwatch.drift.methods import method_names

        methods = set(method_names("numeric")) | set(method_names("categorical"))
        drift_checks = sorted({f"{prefix}{m}" for m in methods
                               for prefix in ("", "score_", "prediction_")})
        entries = [(f"thresholds.defaults.{check}", check, spec)
                   for check, spec in self.thresholds.defaults.items()]
        entries += [(f"thresholds.overrides[{i}]", o.check, o.threshold)
                    for i, o in enumerate(self.thresholds.overrides)]
        window = self.schedule.window
        for where, check, spec in entries:
            if not isinstance(spec, SeasonalThreshold):
                continue
            if check not in drift_checks:
                raise ValueError(
                    f"{where}: a seasonal threshold applies to drift checks only ({drift_checks}), "
                    f"not {check!r}; use a constant threshold (for volume by weekday see "
                    "data_layer.volume)")
            day = timedelta(days=1)
            if window > day or (spec.period == "weekday_hour" and window >= day):
                raise ValueError(
                    f"{where}: period {spec.period!r} compares a window with the same "
                    f"{'weekday' if spec.period == 'weekday' else 'weekday and start hour'} "
                    f"of earlier weeks, which needs windows "
                    f"{'of at most' if spec.period == 'weekday' else 'shorter than'} a day, but "
                    f"schedule.window is {format_duration(window)}; use period 'weekday' for "
                    "daily windows, or a calibrated threshold for longer ones")
            per_week = max(1, spec.band_length() // window)
            if spec.min_history > spec.lookback * per_week:
                raise ValueError(
                    f"{where}: min_history={spec.min_history} windows can never be found in "
                    f"lookback={spec.lookback} weeks ({per_week} window(s) per band a week); "
                    "raise lookback or lower min_history")
        return self

    @property
    def dag_id(self) -> str:
        return f"monitor_{self.model.name}"

    def feature(self, name: str) -> Feature:
        return next(f for f in self.features if f.name == name)
