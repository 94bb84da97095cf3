"""The weekly alert review: which alert rules earn their pages, and which should be recalibrated.

Per model, alert family (the "rule" an alert comes from: feature drift, score drift, data
quality, …) and owner, over the alert *episodes* open during the week (an episode is one
incident: consecutive windows a cause was open, told once) — those that started in it and those
still open from before, since a page left open all week is the week's burden too:

- ``alerts``: episodes open during the week, ``log``-only ones excluded (nobody was told);
- ``carried``: of those, episodes that started before the week;
- ``acked``: episodes someone acknowledged (``modelwatch alerts ack``);
- ``actioned``: episodes followed by an action — an ack *with a note* (someone looked and said
  what they found), or a decision other than healthy/alert_only (retrain, rollback, promote) in a
  window of the episode or the one after it;
- ``action_rate`` = actioned / alerts.

An owner whose rule has at least ``MIN_ALERTS`` episodes and an action rate under
``ACTION_RATE_FLOOR`` (30 %) gets a recalibration suggestion: pages nobody acts on train people
to ignore pages. Rows are upserted into ``mw_alert_review`` keyed by (model, week, family,
owner), and each owner's summary is posted once per week — a rerun updates the numbers and does
not post again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelwatch.alerting.families import FAMILIES, family_of_title
from modelwatch.alerting.lifecycle import OPEN_STATES, StoredAlert
from modelwatch.alerting.slack import DeliveryError, SlackHook, TokenResolver, resolve_settings
from modelwatch.clock import utcnow
from modelwatch.config.schema import MonitorConfig
from modelwatch.warehouse.tables import create_output_tables, mw_alert, mw_alert_review, mw_decision

log = logging.getLogger(__name__)

ACTION_RATE_FLOOR = 0.3
MIN_ALERTS = 3
ACTIONS = ("retrain", "rollback", "promote")

# What to turn, per family, when its alerts are not acted on.
_ADVICE = {
    "feature_drift": "use `type: calibrated` (or `seasonal` for weekly traffic) thresholds for its "
                     "drift methods, raise `min_alert`, or lower the feature's `importance`",
    "broad_drift": "use `type: calibrated` or `seasonal` drift thresholds, or refresh the "
                   "reference if the population changed for good (retrain)",
    "score_drift": "calibrate `score_psi` on the reference (`type: calibrated`) or raise its "
                   "`min_alert`",
    "model_behaviour": "raise the confidence checks' levels in `thresholds.defaults`",
    "data_quality": "widen the tolerances of the checks that fire (`data_layer.*`) or fix the "
                    "upstream source once and for all",
    "pipeline": "fix the upstream pipeline, or raise `data_layer` tolerances if the data is "
                "correct",
    "performance": "judge on the interval (`outcome.*`) or lower this owner's severity for `warn`",
    "realized_performance": "raise `slices.min_rows` so small slices' intervals are narrower, or "
                            "lower this owner's severity for `warn`",
    "labels": "match `labels.delay` to how late labels really arrive",
    "business_kpi": "raise the KPI's `min_spread` or `k_warn` (`outcome.kpis`), or use "
                    "`seasonal: weekday` for a weekly pattern",
    "shadow": "gate rows are informative: set the model owner's `severity.warn` to `log`",
}


@dataclass(frozen=True)
class Episode:
    """One incident: consecutive open windows of a fingerprint."""

    fingerprint: str
    family: str
    owner: str
    channel: str | None
    severity: str
    start: datetime
    end: datetime  # end of its last open window
    acked: bool
    noted: bool


@dataclass(frozen=True)
class RuleReview:
    model: str
    family: str
    owner: str
    channel: str | None
    alerts: int
    acked: int
    actioned: int
    suggestion: str | None
    carried: int = 0

    @property
    def action_rate(self) -> float | None:
        return self.actioned / self.alerts if self.alerts else None

    @property
    def ack_rate(self) -> float | None:
        return self.acked / self.alerts if self.alerts else None


def episodes(rows: Iterable[StoredAlert]) -> list[Episode]:
    """Episodes from ``mw_alert`` rows (any order), oldest first."""
    by_fp: dict[str, list[StoredAlert]] = {}
    for row in rows:
        by_fp.setdefault(row.fingerprint, []).append(row)
    out = []
    for fp, history in by_fp.items():
        history.sort(key=lambda r: r.window_start)
        current: list[StoredAlert] = []
        for row in [*history, None]:
            if row is not None and row.status in OPEN_STATES:
                current.append(row)
                continue
            if current:
                family = family_of_title(current[0].title)
                out.append(Episode(
                    fingerprint=fp, family=family.name if family else "other",
                    owner=current[0].owner or "unowned", channel=current[0].channel,
                    severity=max((r.severity for r in current),
                                 key=lambda s: {"log": 0, "notify": 1, "page": 2}.get(s, 0)),
                    start=current[0].window_start, end=current[-1].window_end,
                    acked=any(r.acked_by for r in current) or bool(row and row.acked_by),
                    noted=any((r.ack_note or "").strip() for r in current)
                    or bool(row and (row.ack_note or "").strip())))
            current = []
    return sorted(out, key=lambda e: (e.start, e.fingerprint))


def _suggestion(family: str, alerts: int, actioned: int) -> str | None:
    if alerts < MIN_ALERTS or actioned / alerts >= ACTION_RATE_FLOOR:
        return None
    label = FAMILIES[family].label if family in FAMILIES else family
    advice = _ADVICE.get(family, "raise its thresholds or lower its severity")
    return (f"{label}: {actioned} of {alerts} alerts acted on ({actioned / alerts:.0%}, under "
            f"{ACTION_RATE_FLOOR:.0%}) — recalibrate: {advice}")


def review(model: str, eps: Sequence[Episode], decisions: Sequence[tuple[datetime, str]], *,
           week_start: datetime, week_end: datetime, window: timedelta) -> list[RuleReview]:
    """Per (family, owner): the week's episodes, acked and actioned (pure)."""
    acted = sorted(start for start, decision in decisions if decision in ACTIONS)
    grouped: dict[tuple[str, str, str | None], list[bool]] = {}
    acked: dict[tuple[str, str, str | None], int] = {}
    carried: dict[tuple[str, str, str | None], int] = {}
    for ep in eps:
        if ep.start >= week_end or ep.end <= week_start or ep.severity == "log":
            continue  # not open during the week, or nobody was told
        key = (ep.family, ep.owner, ep.channel)
        decided = any(ep.start <= d < ep.end + window for d in acted)
        grouped.setdefault(key, []).append(ep.noted or decided)
        acked[key] = acked.get(key, 0) + ep.acked
        carried[key] = carried.get(key, 0) + (ep.start < week_start)
    out = []
    for key, acts in sorted(grouped.items(), key=lambda kv: kv[0][:2]):
        family, owner, channel = key
        out.append(RuleReview(model, family, owner, channel, len(acts), acked[key], sum(acts),
                              _suggestion(family, len(acts), sum(acts)), carried[key]))
    return out


def review_table(rows: Sequence[RuleReview]) -> str:
    if not rows:
        return "no alert episode was open in the week"
    header = ("rule", "owner", "alerts", "from before", "acked", "acted on", "action rate")
    lines = [header] + [(FAMILIES[r.family].label if r.family in FAMILIES else r.family, r.owner,
                         str(r.alerts), str(r.carried), str(r.acked), str(r.actioned),
                         f"{r.action_rate:.0%}") for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    text += [f"suggestion: {r.suggestion}" for r in rows if r.suggestion]
    return "\n".join(text)


def owner_message(model: str, owner: str, rows: Sequence[RuleReview], week_start: datetime,
                  week_end: datetime) -> str:
    """The text one owner receives for one model's week."""
    lines = [f":bar_chart: Weekly alert review · {model} · {owner} · "
             f"{week_start:%Y-%m-%d} – {week_end - timedelta(seconds=1):%Y-%m-%d}"]
    for r in rows:
        label = FAMILIES[r.family].label if r.family in FAMILIES else r.family
        before = f" ({r.carried} open from before the week)" if r.carried else ""
        lines.append(f"• {label}: {r.alerts} alert(s){before}, {r.acked} acked "
                     f"({r.ack_rate:.0%}), {r.actioned} acted on ({r.action_rate:.0%})")
    suggestions = [r.suggestion for r in rows if r.suggestion]
    lines += [f":wrench: {s}" for s in suggestions] or ["Every rule was acted on often enough: "
                                                        "nothing to recalibrate."]
    lines.append("Acted on = acknowledged with a note, or followed by a retrain, rollback or "
                 "promotion. Acknowledge with `modelwatch alerts ack ID --by NAME --note TEXT`.")
    return "\n".join(lines)


@dataclass
class ReviewReport:
    rows: list[RuleReview]
    posted: int = 0
    failed: int = 0
    slack: str = "not configured"


def run_review(engine: Engine, cfg: MonitorConfig, week_start: datetime, week_end: datetime, *,
               slack: SlackHook | None = None, token_resolver: TokenResolver | None = None,
               now: datetime | None = None, post: bool = True) -> ReviewReport:
    """Review one model's week, store it in ``mw_alert_review``, post each owner's summary once
    (``post=False``: store and log only, as ``modelwatch alerts review`` does by default)."""
    now = now or utcnow()
    model = cfg.model.name
    create_output_tables(engine)
    with engine.connect() as conn:
        rows = [StoredAlert.from_row(r) for r in conn.execute(sa.select(mw_alert).where(
            mw_alert.c.model_name == model, mw_alert.c.window_start < week_end)).mappings()]
        decisions = [(r.window_start, r.decision) for r in conn.execute(
            sa.select(mw_decision.c.window_start, mw_decision.c.decision).where(
                mw_decision.c.model_name == model, mw_decision.c.window_start >= week_start))]
    reviewed = review(model, episodes(rows), decisions, week_start=week_start,
                      week_end=week_end, window=cfg.schedule.window)
    report = ReviewReport(reviewed)
    with engine.begin() as conn:
        posted = {r.owner for r in conn.execute(sa.select(mw_alert_review.c.owner).where(
            mw_alert_review.c.model_name == model, mw_alert_review.c.week_start == week_start,
            mw_alert_review.c.posted_at.is_not(None)))}
        conn.execute(sa.delete(mw_alert_review).where(
            mw_alert_review.c.model_name == model, mw_alert_review.c.week_start == week_start))
        if reviewed:
            conn.execute(sa.insert(mw_alert_review), [{
                "model_name": model, "week_start": week_start, "week_end": week_end,
                "family": r.family, "owner": r.owner, "channel": r.channel, "alerts": r.alerts,
                "acked": r.acked, "actioned": r.actioned, "action_rate": r.action_rate,
                "carried": r.carried,
                "suggestion": r.suggestion, "reviewed_at": now,
                "posted_at": now if r.owner in posted else None} for r in reviewed])
    log.info("Alert review of %s, week %s:\n%s", model, f"{week_start:%Y-%m-%d}",
             review_table(reviewed))
    if not post:
        return report
    if slack is None:
        settings = resolve_settings(resolver=token_resolver)
        slack = SlackHook.from_settings(settings) if settings else None
        report.slack = settings.source if settings else "not configured"
    by_owner: dict[tuple[str, str | None], list[RuleReview]] = {}
    for r in reviewed:
        by_owner.setdefault((r.owner, r.channel), []).append(r)
    for (owner, channel), items in by_owner.items():
        if owner in posted or not channel:
            continue
        text = owner_message(model, owner, items, week_start, week_end)
        if slack is None:
            log.info("Review for %s (%s), Slack not configured:\n%s", owner, channel, text)
            continue
        try:
            slack.post_message(channel=channel, text=text)
        except DeliveryError as exc:
            report.failed += 1
            log.warning("Review for %s not posted to %s (posted on the next run): %s", owner,
                        channel, exc)
            continue
        report.posted += 1
        with engine.begin() as conn:
            conn.execute(sa.update(mw_alert_review).where(
                mw_alert_review.c.model_name == model, mw_alert_review.c.week_start == week_start,
                mw_alert_review.c.owner == owner).values(posted_at=now))
    return report
