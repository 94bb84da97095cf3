"""Evaluate decision rules over the metrics of a window and its predecessors.

A rule (``config.schema.Rule``) combines conditions on ``mw_metric`` signals from any layer with
AND (``all_of``), OR (``any_of``) and vetoes (``none_of``), must hold for ``sustained_for``
windows in a row, and stays quiet for ``cooldown`` after it fired. Exactly one action wins per
window, by priority: rollback (a bad deploy hurts now), retrain, promote, then alert_only when
any check alerted, else healthy. Everything is read from the warehouse as of the window, so a
rerun or backfill decides the same way, and the decision is upserted into ``mw_decision`` with
the rule and the signals that fired.

A window's signals are the run's findings (``alerting.findings``, as alerting groups them): its
own rows, plus the label findings (realized performance, ``label_*``) of the window whose labels
the run's as-of date matured. Consecutive runs see consecutive matured windows, so
``sustained_for`` means the same for a realized drop as for drift.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from modelwatch.alerting import findings
from modelwatch.clock import utcnow
from modelwatch.config.schema import Condition, MonitorConfig, Rule
from modelwatch.metrics import STATUS_ORDER
from modelwatch.outcome.headline import HEADLINES, headline_of
from modelwatch.warehouse.tables import mw_decision, mw_metric

ACTIONS = ("rollback", "retrain", "promote", "alert_only", "healthy")
PRIORITY = {action: i for i, action in enumerate(ACTIONS)}
LOOKBACK_WINDOWS = 30
ALL = "all"
# Pseudo-signal: the headline realized metric (ROC AUC, macro F1, MAE, NDCG@k) reaches the
# condition's status in the whole population or in a slice holding at least LARGE_SLICE_SHARE of
# the window's rows. A drop in a smaller slice is left to alert_only (its owner gets the slice).
REALIZED_DROP = "realized_drop"
LARGE_SLICE_SHARE = 0.25
_HEADLINE_REALIZED = frozenset(h.realized for h in HEADLINES.values())


@dataclass(frozen=True)
class Signal:
    layer: str
    check_name: str
    feature: str | None
    slice: str
    status: str
    model_version: str | None
    matured: datetime | None = None  # set on a label finding of an older, matured window
    share: float | None = None  # headline realized rows: the slice's share of the window's rows


@dataclass
class Decision:
    action: str
    rule: str | None
    signals: dict = field(default_factory=dict)
    suppressed: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        why = f" by rule {self.rule}" if self.rule else ""
        fired = "; ".join(f"{k}: {', '.join(v) if isinstance(v, list) else v}"
                          for k, v in self.signals.items())
        quiet = "; ".join(f"{s['rule']} held but {s['reason']}" for s in self.suppressed)
        return (f"decision {self.action}{why}" + (f" — {fired}" if fired else "")
                + (f" (suppressed: {quiet})" if quiet else ""))


def default_rules(cfg: MonitorConfig) -> list[Rule]:
    """Sensible rules when the monitor YAML declares none.

    - rollback: the served version changed in the last 2 windows and since then the score or
      the prediction mix alerts;
    - retrain: drift alerts on two or more important features (importance >= 0.5) for two
      windows in a row, with the model's own output or its headline performance (ROC AUC and
      its estimate for binary models, macro F1, MAE or NDCG@k otherwise) moving too — never
      while the data layer says the pipeline is broken (retraining does not fix corrupted
      features); 30 days cooldown (a drift that persists after a retrain is the new model's
      reference, not a new incident);
    - retrain: the realized headline metric alerts, once labels matured, in the whole population
      or in a large slice (``REALIZED_DROP``) for two matured windows in a row, with the same
      vetoes — concept drift moves no feature, so the drift rule never sees it; 30 days cooldown.
      A realized drop in a small slice only is ``alert_only``, naming the slice;
    - promote: the challenger's promotion gate passed two windows in a row; 30 days cooldown.
    """
    window = cfg.schedule.window
    headline = headline_of(cfg.model.task)
    performance = [Condition(signal=name, layer="outcome", status="warn")
                   for name in (headline.estimated, headline.realized) if name]
    return [
        Rule(name="rollback_after_bad_deploy", action="rollback",
             all_of=[Condition(signal="version_changed", layer="model", within=2 * window)],
             any_of=[Condition(signal="score_psi", layer="model"),
                     Condition(signal="prediction_chi_square", layer="model"),
                     Condition(signal="mean_confidence_change", layer="model")],
             cooldown=timedelta(days=7)),
        Rule(name="retrain_on_sustained_drift", action="retrain",
             all_of=[Condition(signal="psi", layer="data", min_features=2, min_importance=0.5)],
             any_of=[Condition(signal="score_psi", layer="model", status="warn"),
                     *performance],
             none_of=[Condition(signal="silent_default_share", layer="data"),
                      Condition(signal="schema", layer="data")],
             sustained_for=2, cooldown=timedelta(days=30)),
        Rule(name="retrain_on_realized_drop", action="retrain",
             all_of=[Condition(signal=REALIZED_DROP, layer="outcome")],
             none_of=[Condition(signal="silent_default_share", layer="data"),
                      Condition(signal="schema", layer="data")],
             sustained_for=2, cooldown=timedelta(days=30)),
        Rule(name="promote_passing_challenger", action="promote",
             all_of=[Condition(signal="promotion_gate", layer="shadow", status="ok")],
             sustained_for=2, cooldown=timedelta(days=30)),
    ]


def _importance(cfg: MonitorConfig) -> dict[str, float]:
    return {f.name: f.importance for f in cfg.features}


def _versions_changed(history: dict[datetime, list[Signal]], start: datetime,
                      within: timedelta) -> str | None:
    """'old -> new' if the dominant version of ``start`` differs from one within ``within``."""
    def dominant(rows: list[Signal]) -> str | None:
        versions = [r.model_version for r in rows if r.model_version]
        return max(set(versions), key=versions.count) if versions else None

    now = dominant(history.get(start, []))
    for then_start, rows in history.items():
        if start - within <= then_start < start:
            then = dominant(rows)
            if then and now and then != now:
                return f"{then} -> {now}"
    return None


def holds(cond: Condition, rows: list[Signal], importance: dict[str, float],
          history: dict[datetime, list[Signal]], start: datetime) -> list[str] | None:
    """The features (or a description) that satisfy ``cond`` in one window, or None."""
    if cond.signal == "version_changed":
        change = _versions_changed(history, start, cond.within or timedelta(days=2))
        return [change] if change else None
    if cond.signal == REALIZED_DROP:
        dropped = sorted({
            r.slice if r.slice == ALL else f"{r.slice} ({r.share:.0%} of rows)" for r in rows
            if r.layer == cond.layer and r.check_name in _HEADLINE_REALIZED
            and STATUS_ORDER.get(r.status, 0) >= STATUS_ORDER[cond.status]
            and (r.slice == ALL or (r.share or 0.0) >= LARGE_SLICE_SHARE)})
        return dropped or None
    hit = sorted({
        r.feature or "-" for r in rows
        if r.layer == cond.layer and r.check_name == cond.signal and r.slice == cond.slice
        and (r.status == "ok" if cond.status == "ok"
             else STATUS_ORDER.get(r.status, 0) >= STATUS_ORDER[cond.status])
        and importance.get(r.feature or "", 1.0) >= cond.min_importance
    })
    return hit if len(hit) >= cond.min_features else None


def _describe(cond: Condition) -> str:
    return f"{cond.layer}.{cond.signal}>={cond.status}" + (
        f" on {cond.min_features}+ features" if cond.min_features > 1 else "")


def rule_holds(rule: Rule, cfg: MonitorConfig, history: dict[datetime, list[Signal]],
               start: datetime) -> dict | None:
    importance = _importance(cfg)
    rows = history.get(start, [])
    fired: dict = {}
    for cond in rule.all_of:
        hit = holds(cond, rows, importance, history, start)
        if hit is None:
            return None
        fired[_describe(cond)] = hit
    if rule.any_of:
        any_hit = {_describe(c): h for c in rule.any_of
                   if (h := holds(c, rows, importance, history, start)) is not None}
        if not any_hit:
            return None
        fired.update(any_hit)
    for cond in rule.none_of:
        if holds(cond, rows, importance, history, start) is not None:
            return None
    return fired


def evaluate(cfg: MonitorConfig, history: dict[datetime, list[Signal]],
             past_decisions: list[tuple[datetime, str | None]], start: datetime,
             window: timedelta) -> Decision:
    """Pure: the decision for the window starting at ``start``."""
    candidates: list[Decision] = []
    suppressed: list[dict] = []
    for rule in cfg.decisions or default_rules(cfg):
        fired = rule_holds(rule, cfg, history, start)
        for back in range(1, rule.sustained_for):
            if fired is None:
                break
            if rule_holds(rule, cfg, history, start - back * window) is None:
                fired = None
        if fired is None:
            continue
        if rule.action == "retrain" and cfg.retraining is None:
            suppressed.append({"rule": rule.name, "reason": "no `retraining` target is configured"})
            continue
        if rule.sustained_for > 1:
            fired["sustained_windows"] = str(rule.sustained_for)
        recent = [s for s, name in past_decisions
                  if name == rule.name and start - rule.cooldown <= s < start]
        if recent:
            suppressed.append({"rule": rule.name, "reason": f"in cooldown since {max(recent):%Y-%m-%d}"})
            continue
        candidates.append(Decision(rule.action, rule.name, fired))
    if candidates:
        best = min(candidates, key=lambda d: PRIORITY[d.action])
        best.suppressed = suppressed
        return best
    alerts = sorted({f"{r.layer}.{r.check_name}" for r in history.get(start, [])
                     if r.status == "alert"})
    if alerts:
        signals = {"alerting checks": alerts[:10]}
        matured = sorted({f"{r.check_name} on {r.slice} (window {r.matured:%Y-%m-%d})"
                          for r in history.get(start, []) if r.matured and r.status == "alert"})
        if matured:  # a realized drop the owner must look at, with its slice
            signals["matured labels"] = matured[:10]
        return Decision("alert_only", None, signals, suppressed)
    return Decision("healthy", None, {}, suppressed)


def _shares(conn: Connection, cfg: MonitorConfig, since: datetime, start: datetime
            ) -> dict[tuple[datetime, str], float]:
    """(window, slice) -> the slice's share of the window's rows, from the headline realized
    rows' ``details.rows`` (what ``REALIZED_DROP`` calls a large slice)."""
    counts: dict[datetime, dict[str, float]] = defaultdict(dict)
    for ws, slice_, details in conn.execute(
            sa.select(mw_metric.c.window_start, mw_metric.c.slice, mw_metric.c.details).where(
                mw_metric.c.model_name == cfg.model.name, mw_metric.c.layer == "outcome",
                mw_metric.c.check_name == headline_of(cfg.model.task).realized,
                mw_metric.c.window_start >= since, mw_metric.c.window_start <= start)).all():
        if isinstance(details, str):
            details = json.loads(details)
        rows = (details or {}).get("rows")
        if isinstance(rows, int | float):
            counts[ws][slice_] = float(rows)
    return {(ws, s): n / by[ALL] for ws, by in counts.items() if by.get(ALL)
            for s, n in by.items()}


def _load_history(conn: Connection, cfg: MonitorConfig, start: datetime
                  ) -> dict[datetime, list[Signal]]:
    """Signals per run window: its own rows and the label findings of the window it matured."""
    lookback = start - LOOKBACK_WINDOWS * cfg.schedule.window
    since = lookback - findings.label_lag(cfg) * cfg.schedule.window
    rows = conn.execute(
        sa.select(mw_metric.c.window_start, mw_metric.c.layer, mw_metric.c.check_name,
                  mw_metric.c.feature, mw_metric.c.slice, mw_metric.c.status,
                  mw_metric.c.model_version)
        .where(mw_metric.c.model_name == cfg.model.name, mw_metric.c.window_start >= since,
               mw_metric.c.window_start <= start)
    ).all()
    shares = _shares(conn, cfg, since, start)
    own: dict[datetime, list[Signal]] = defaultdict(list)
    for ws, *rest in rows:
        signal = Signal(*rest)
        if (ws, signal.slice) in shares and signal.check_name in _HEADLINE_REALIZED:
            signal = replace(signal, share=shares[ws, signal.slice])
        own[ws].append(signal)
    history: dict[datetime, list[Signal]] = {}
    for ws in sorted(w for w in own if w >= lookback):
        history[ws] = list(own[ws])
        matured = findings.matured_window(cfg, ws, ws + cfg.schedule.window)
        if matured is not None:
            # no model_version: the older window's version must not count as this window's
            # served version (version_changed)
            history[ws] += [replace(s, matured=matured[0], model_version=None)
                            for s in own.get(matured[0], [])
                            if findings.is_label_finding(s.layer, s.check_name)]
    return history


def decide(engine: Engine, cfg: MonitorConfig, window, run_id: str) -> Decision:
    """Evaluate the window's rules and upsert the decision into ``mw_decision``."""
    with engine.begin() as conn:
        history = _load_history(conn, cfg, window.start)
        past = [(ws, rule) for ws, rule in conn.execute(
            sa.select(mw_decision.c.window_start, mw_decision.c.rule)
            .where(mw_decision.c.model_name == cfg.model.name,
                   mw_decision.c.window_start < window.start))]
        decision = evaluate(cfg, history, past, window.start, cfg.schedule.window)
        key = (mw_decision.c.model_name == cfg.model.name) & (
            mw_decision.c.window_start == window.start) & (mw_decision.c.window_end == window.end)
        conn.execute(sa.delete(mw_decision).where(key))
        conn.execute(sa.insert(mw_decision).values(
            run_id=run_id, model_name=cfg.model.name, window_start=window.start,
            window_end=window.end, decision=decision.action, rule=decision.rule,
            signals={"fired": decision.signals, "suppressed": decision.suppressed},
            decided_at=utcnow()))
    return decision
