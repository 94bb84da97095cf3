"""From a window's metric rows to alert groups: one per owner and root cause (pure, no I/O).

A window of the demo has hundreds of crossings (every method × feature × slice); an owner needs to
read one line per *cause*. The rules, in order:

- Only rows in ``warn`` or ``alert`` count; each row's severity is its owner's policy for its
  status (``owners.<layer>.severity``), and a group's severity is the highest of its members'.
- Data layer: when data-quality checks (nulls, silent defaults, skew, schema, GX) flag
  several features at once, or one does while drift touches a large share of the features, the
  cause is upstream — every data-layer row becomes one ``data pipeline degraded: N features``
  group. Drift on a large share of the features *without* such evidence (values beyond the
  reference's range move with a shift, so they are not evidence) is the population changing: one
  ``data drift on many features`` group, titled as drift. Otherwise a feature with
  a data-quality finding gets one ``data quality`` group that also holds its drift rows (the
  drift is a symptom), and a feature with drift only gets one ``feature drift`` group across all
  methods and slices. Table-level checks (row count, freshness, schema, …) form one group.
- Drift-only groups (feature, score, broad drift) *notify* instead of paging when the window's
  estimated or realized performance was measured and stayed within its levels
  (``alerting.page_drift_when_performance_holds`` turns that off); the evidence says so.
- Model layer: one group per score column for score drift, one for the model's behaviour.
- Shadow, outcome and infrastructure: one group per family, except realized performance: one
  group per slice, whatever matured windows show it (``findings``).

A group's fingerprint hashes (model, layer, family, subject) and so stays the same from window to
window while the cause persists: it is what dedup keys on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from modelwatch.alerting.families import FAMILIES, classify, is_drift_check
from modelwatch.alerting.findings import MATURED_SINCE, realized_checks
from modelwatch.config.schema import MonitorConfig, Owner

SEVERITY_RANK = {"log": 0, "notify": 1, "page": 2}
STATUS_RANK = {"warn": 1, "alert": 2}
# Alerts about the monitoring runs themselves (failed tasks, missed deadlines): recorded by the
# Airflow callbacks (``incidents``), never built from metric rows.
INCIDENT_LAYER = "airflow"
LAYER_OWNER = {"data": "data", "model": "model", "shadow": "model", "outcome": "outcome",
               "system": "infra", "infra": "infra", INCIDENT_LAYER: "infra"}
LAYER_ORDER = {"data": 0, "model": 1, "shadow": 2, "outcome": 3, "system": 4, "infra": 4,
               INCIDENT_LAYER: 5}
ALL_SLICES = "all"
# Families whose groups are split by feature/column; the others hold every row of the family.
_PER_SUBJECT = {"feature_drift", "data_quality", "score_drift", "model_behaviour", "business_kpi"}
# Families split by slice: a realized drop in region=north and one in the whole population are
# two causes (retrain vs a slice to look at), each one episode across the windows that show it.
_PER_SLICE = {"realized_performance"}
DRIFT_ONLY = {"feature_drift", "score_drift", "broad_drift"}
# A lone crossing (one method, one slice) is logged unless its value is this many times its level
LARGE_EFFECT = 2.0
HELD = ("one method in one slice: logged, told once corroborated (another method or slice, or "
        "the next window)")
PERFORMANCE = {"performance", "realized_performance"}


@dataclass(frozen=True)
class GroupingPolicy:
    """When many data-layer findings at once are reported as one broken pipeline.

    Attributes:
        pipeline_quality_features: Data-quality findings (nulls, silent defaults, skew, ranges…)
            on at least this many features → pipeline.
        pipeline_min_features: Lower bound of the "drift on a large share of features" rule.
        pipeline_feature_share: Share of the monitored features with any data-layer finding
            that makes a pipeline incident (never fewer than ``pipeline_min_features``): a real
            covariate shift moves a few features, a broken join moves many.
        evidence_lines: Crossings quoted per group, worst first.
    """

    pipeline_quality_features: int = 3
    pipeline_min_features: int = 5
    pipeline_feature_share: float = 0.3
    evidence_lines: int = 3

    def mass_threshold(self, n_features: int) -> int:
        return max(self.pipeline_min_features, math.ceil(self.pipeline_feature_share * n_features))


DEFAULT_POLICY = GroupingPolicy()


def owner_for(cfg: MonitorConfig, layer: str) -> Owner:
    """The owner of a layer (``shadow`` belongs to the model owner, ``system`` to infra)."""
    return getattr(cfg.owners, LAYER_OWNER.get(layer, "infra"))


def max_severity(severities: Iterable[str]) -> str:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, 0), default="log")


def fingerprint(model: str, layer: str, family: str, subject: str) -> str:
    """Stable across windows: the identity of an ongoing cause."""
    raw = "|".join([model, layer, family, subject])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def alert_id(fingerprint_: str, window_start: datetime, window_end: datetime) -> str:
    """Stable across reruns of one window: the identity of the cause in that window."""
    raw = f"{fingerprint_}|{window_start.isoformat()}|{window_end.isoformat()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass(frozen=True)
class Member:
    """One crossing (a metric row in warn/alert) and the severity its owner gives it."""

    layer: str
    check: str
    feature: str | None
    slice: str
    value: float | None
    threshold: float | None
    warn_threshold: float | None
    status: str
    severity: str
    windows: str | None = None  # matured windows the crossing was found in (older than the run's)

    def evidence(self, *, with_feature: bool = False) -> str:
        """``psi = 0.41 (alert at 0.25) [region=EU]``: value against its level, and where."""
        if self.status == "alert":
            level = f"alert at {_fmt(self.threshold)}" if self.threshold is not None else "alert"
        elif self.warn_threshold is not None:
            level = f"warn at {_fmt(self.warn_threshold)}, alert at {_fmt(self.threshold)}"
        else:
            level = "warn" + (f"; alert at {_fmt(self.threshold)}" if self.threshold is not None else "")
        who = f"{self.feature}: " if with_feature and self.feature else ""
        where = "" if self.slice == ALL_SLICES else f" [{self.slice}]"
        when = f" for {self.windows} (labels matured)" if self.windows else ""
        return f"{who}{self.check} = {_fmt(self.value)} ({level}){where}{when}"

    def sort_key(self) -> tuple:
        ratio = 0.0
        if self.value is not None and self.threshold not in (None, 0):
            ratio = abs(self.value / self.threshold)
        return (-STATUS_RANK.get(self.status, 0), self.slice != ALL_SLICES, -ratio, self.check,
                self.feature or "", self.slice)


@dataclass(frozen=True)
class AlertGroup:
    """Everything one owner is told about one cause in one window."""

    fingerprint: str
    model: str
    layer: str
    family: str
    subject: str
    severity: str
    title: str
    evidence: tuple[str, ...]
    owner: str
    channel: str
    members: tuple[Member, ...]
    held_from: str | None = None  # the owner's severity, held back to ``log`` until corroborated

    @property
    def summary(self) -> str:
        """The evidence as stored in ``mw_alert.summary`` and quoted in messages."""
        return "\n".join(self.evidence)


def _details(raw: object) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def _row(metric: object) -> Mapping:
    return metric if isinstance(metric, Mapping) else vars(metric)


def _day(at: datetime) -> str:
    return at.strftime("%Y-%m-%d" if (at.hour, at.minute) == (0, 0) else "%Y-%m-%d %H:%M")


def _matured_windows(row: Mapping) -> str | None:
    """``windows 2026-09-10..2026-09-12`` for a row a run found in matured windows, else None."""
    since, last = row.get(MATURED_SINCE), row.get("window_start")
    if since is None or last is None:
        return None
    return f"window {_day(last)}" if since == last else f"windows {_day(since)}..{_day(last)}"


def members_of(cfg: MonitorConfig, metrics: Iterable[object]) -> list[Member]:
    """Crossings of a window: rows in warn/alert (mappings of ``mw_metric`` or ``MetricRow``)."""
    out = []
    for metric in metrics:
        row = _row(metric)
        status = row["status"]
        if status not in STATUS_RANK:
            continue
        owner = owner_for(cfg, row["layer"])
        warn_level = _details(row.get("details")).get("warn_threshold")
        out.append(Member(
            layer=row["layer"], check=row["check_name"], feature=row.get("feature"),
            slice=row.get("slice") or ALL_SLICES, value=row.get("value"),
            threshold=row.get("threshold"),
            warn_threshold=warn_level if isinstance(warn_level, int | float) else None,
            status=status, severity=getattr(owner.severity, status),
            windows=_matured_windows(row),
        ))
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _names(names: Iterable[str], limit: int = 3) -> str:
    unique = sorted(set(names))
    shown = ", ".join(unique[:limit])
    return shown + (f" +{len(unique) - limit} more" if len(unique) > limit else "")


def _drift_phrase(members: list[Member]) -> str:
    """``4 methods, 8 slices`` (+ ``trend alarm`` when a change-point detector fired)."""
    trend = [m for m in members if _is_trend(m.check)]
    direct = [m for m in members if not _is_trend(m.check)]
    parts = []
    if direct:
        parts.append(f"{_plural(len({m.check for m in direct}), 'method')}, "
                     f"{_plural(len({m.slice for m in direct}), 'slice')}")
    if trend:
        parts.append("trend alarm")
    return ", ".join(parts)


# Values beyond the reference's range (modelwatch's check, or the GX range expectation built from
# the same reference): what a shifted population does too, so no evidence of a broken pipeline on
# its own (nulls, silent defaults, skew, schema and the other GX findings are). With the feature's
# drift they are one cause: one fingerprint whichever of them crosses in a window.
_DRIFT_LIKE = frozenset({"out_of_range_share", "expect_column_values_to_be_between"})


def _moves_with_drift(check: str) -> bool:
    return is_drift_check(check) or check in _DRIFT_LIKE


def _is_trend(check: str) -> bool:
    from modelwatch.drift.changepoint import DETECTORS

    return any(check.endswith(f"_{d}") for d in DETECTORS)


def _title(cfg: MonitorConfig, family: str, subject: str, members: list[Member]) -> str:
    label = FAMILIES[family].label
    if family == "pipeline":
        features = {m.feature for m in members if m.feature}
        quality = [m.check for m in members if not is_drift_check(m.check)]
        drifting = {m.feature for m in members if m.feature and is_drift_check(m.check)}
        what = []
        if quality:
            what.append(_names(quality))
        if drifting:
            what.append(f"drift on {len(drifting)}")
        table = " and table checks" if any(m.feature is None for m in members) else ""
        return f"{label}: {_plural(len(features), 'feature')}{table} ({'; '.join(what)})"
    if family in ("feature_drift", "score_drift"):
        return f"{label}: {subject} ({_drift_phrase(members)})"
    if family == "broad_drift":
        features = {m.feature for m in members if m.feature}
        return f"{label}: {_plural(len(features), 'feature')} ({_drift_phrase(members)})"
    if family == "data_quality":
        quality = [m.check for m in members if not is_drift_check(m.check)]
        drift = [m for m in members if is_drift_check(m.check)]
        subject_text = subject or f"table {cfg.tables.predictions}"
        extra = f"; drift: {_drift_phrase(drift)}" if drift else ""
        return f"{label}: {subject_text} ({_names(quality)}{extra})"
    if family == "business_kpi":
        slices = _plural(len({m.slice for m in members}), "slice")
        return f"{label}: {subject} outside its historical noise ({slices})"
    if subject:
        return f"{label}: {subject} ({_names(m.check for m in members)})"
    return f"{label}: {_names(m.check for m in members)}"


def _evidence(members: list[Member], limit: int, with_feature: bool,
              family: str = "") -> tuple[str, ...]:
    order = {c: i for i, c in enumerate(realized_checks())}

    def by_registry(m: Member) -> tuple:  # one slice: the headline metrics (roc_auc, …) lead
        return -STATUS_RANK.get(m.status, 0), order.get(m.check, len(order)), m.sort_key()

    ordered = sorted(members, key=by_registry if family in _PER_SLICE else Member.sort_key)
    lines = [m.evidence(with_feature=with_feature) for m in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"… and {len(ordered) - limit} more")
    return tuple(lines)


def absorbed_fingerprints(group: AlertGroup) -> set[str]:
    """Fingerprints the group's members would have on their own (a feature's ``feature drift``
    or ``data quality`` alert): an earlier alert of one of them is not over when its feature now
    alerts inside this group, it is folded into it."""
    out = set()
    for m in group.members:
        family = classify(m.layer, m.check)
        subject = (m.feature or "") if family in _PER_SUBJECT else ""
        if family in _PER_SLICE:
            subject = m.slice
        out.add(fingerprint(group.model, m.layer, family, subject))
    out.discard(group.fingerprint)
    return out


def _lone(family: str, members: list[Member]) -> bool:
    """A drift group of a single crossing (one method, one slice) of modest size."""
    if family not in DRIFT_ONLY or len(members) != 1:
        return False
    m = members[0]
    if _is_trend(m.check):  # a change-point alarm is already evidence accumulated over windows
        return False
    return not (m.value is not None and m.threshold and m.value >= LARGE_EFFECT * m.threshold)


def corroborated(group: AlertGroup, note: str) -> AlertGroup:
    """The group with its owner's severity back (the crossing persisted)."""
    return dataclasses.replace(group, severity=group.held_from or group.severity, held_from=None,
                               evidence=(*(e for e in group.evidence if e != HELD), note))


def performance_holds(cfg: MonitorConfig, metrics: Iterable[object]) -> str | None:
    """The performance rows that show the model still performs: whole-population estimated or
    realized performance measured in the run's findings, none of it crossing (None otherwise:
    nothing measured, or something moved)."""
    measured = []
    for metric in metrics:
        row = _row(metric)
        if row["layer"] != "outcome" or classify(row["layer"], row["check_name"]) not in PERFORMANCE:
            continue
        if row["status"] in STATUS_RANK:
            return None
        if row["status"] == "ok" and (row.get("slice") or ALL_SLICES) == ALL_SLICES:
            measured.append(row["check_name"])
    return _names(sorted(set(measured))) if measured else None


def build_groups(cfg: MonitorConfig, metrics: Iterable[object],
                 policy: GroupingPolicy = DEFAULT_POLICY) -> list[AlertGroup]:
    """The window's alert groups, most severe first (pure: rows in, groups out)."""
    metrics = list(metrics)
    members = members_of(cfg, metrics)
    keyed: dict[tuple[str, str, str], list[Member]] = {}

    data = [m for m in members if m.layer == "data"]
    quality_features = {m.feature for m in data if m.feature and not _moves_with_drift(m.check)}
    flagged_features = {m.feature for m in data if m.feature}
    mass = len(flagged_features) >= policy.mass_threshold(len(cfg.features))
    pipeline = (len(quality_features) >= policy.pipeline_quality_features
                or (bool(quality_features) and mass))
    broad_drift = not pipeline and mass
    drifting = {m.feature for m in data if m.feature and is_drift_check(m.check)}
    for m in members:
        family = classify(m.layer, m.check)
        subject = (m.feature or "") if family in _PER_SUBJECT else ""
        if family in _PER_SLICE:
            subject = m.slice
        if m.layer == "data":
            if pipeline:
                family, subject = "pipeline", ""
            elif m.feature in quality_features:
                family = "data_quality"
            elif broad_drift and _moves_with_drift(m.check):
                family, subject = "broad_drift", ""
            elif m.check in _DRIFT_LIKE and m.feature in drifting:
                family = "feature_drift"  # beyond the range because the feature drifted
        keyed.setdefault((m.layer, family, subject), []).append(m)

    holds = None if cfg.alerting.page_drift_when_performance_holds else performance_holds(
        cfg, metrics)
    groups = []
    for (layer, family, subject), group in keyed.items():
        owner = owner_for(cfg, layer)
        severity = max_severity(m.severity for m in group)
        evidence = _evidence(group, policy.evidence_lines, with_feature=not subject, family=family)
        if holds and family in DRIFT_ONLY and severity == "page":
            severity = "notify"
            evidence += (f"performance holds ({holds}): notified, not paged "
                         "(alerting.page_drift_when_performance_holds)",)
        held_from = None
        if _lone(family, group) and severity != "log":
            held_from, severity = severity, "log"
            evidence += (HELD,)
        groups.append(AlertGroup(
            fingerprint=fingerprint(cfg.model.name, layer, family, subject), model=cfg.model.name,
            layer=layer, family=family, subject=subject, severity=severity,
            title=_title(cfg, family, subject, group), evidence=evidence,
            owner=owner.team, channel=owner.slack_channel, members=tuple(group),
            held_from=held_from,
        ))
    groups.sort(key=lambda g: (-SEVERITY_RANK[g.severity], LAYER_ORDER.get(g.layer, 9), g.title))
    return groups
