"""Which ``mw_metric`` rows are a run's findings: its own window's, and the labels it matured.

Most layers write under the run's own window. The outcome layer also re-evaluates the windows of
its lookback as of the run's end, and realized performance only exists for windows whose labels
have matured (``window end + labels.delay <= as_of``) — always *older* windows. Keyed by their
own windows, those rows were never grouped, routed or decided on: a segment's AUC could collapse
from 0.80 to 0.53 and every run still reported no alert and ``healthy``.

So a run's findings are:

- every row of the run's window;
- the *label findings* (realized performance, ``label_*`` checks) of the window whose labels the
  run's as-of date matured: the newest mature window, ``ceil(labels.delay / schedule.window)``
  windows back (``matured_window``). Each run thus owns exactly one newly matured window, a rerun
  owns the same one, and consecutive runs own consecutive matured windows — which is what
  "sustained" means for realized performance, and what keeps one episode per cause.

Older mature windows of the lookback are read too, only to name how long the crossing has lasted
(``matured_since``: the first of the consecutive matured windows showing it). Estimates of older
windows are left out: the run's own window carries the current estimate.

Alerting (``store.run_metrics``) and the decision engine (``decisions.engine``) both select with
these functions, so they group and decide on the same rows.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from modelwatch.config.schema import MonitorConfig

OUTCOME_LAYER = "outcome"
MATURED_SINCE = "matured_since"  # key added to a matured row: start of its streak's first window


def realized_checks() -> tuple[str, ...]:
    """The realized performance metrics, in the outcome layer's registry order (headline first)."""
    from modelwatch.outcome.thresholds import PERFORMANCE

    return tuple(PERFORMANCE)


def is_realized_check(check: str) -> bool:
    """A realized performance metric (``roc_auc``, ``mae``, …: the outcome layer's registry)."""
    return check in realized_checks()


def is_label_finding(layer: str, check: str) -> bool:
    """A row that only exists once labels matured: realized performance or a ``label_*`` check."""
    return layer == OUTCOME_LAYER and (is_realized_check(check) or check.startswith("label_"))


def label_lag(cfg: MonitorConfig) -> int:
    """How many windows back the newest mature window of a run is (0: labels are immediate)."""
    if not cfg.outcome.enabled:
        return 0
    return max(math.ceil(cfg.labels.delay / cfg.schedule.window), 0)


def matured_window(cfg: MonitorConfig, start: datetime, end: datetime
                   ) -> tuple[datetime, datetime] | None:
    """The window whose labels the run of ``[start, end)`` matured, or None.

    None when the outcome layer is off, or when labels are immediate (the run's own window is
    mature and its rows are already the run's).
    """
    lag = label_lag(cfg)
    if lag == 0:
        return None
    back = cfg.schedule.window * lag
    return start - back, end - back


def lookback_start(cfg: MonitorConfig, end: datetime) -> datetime:
    """Start of the oldest window the outcome layer re-evaluates as of ``end``."""
    return end - cfg.schedule.window * cfg.outcome.lookback_windows


def with_streaks(rows: Iterable[dict], newest: datetime, step: timedelta) -> list[dict]:
    """The rows of the newest matured window, each with the start of its streak (pure).

    ``rows``: label-finding crossings of the mature windows of the lookback (``mw_metric``
    mappings). A row of window ``newest`` is kept; ``MATURED_SINCE`` is the start of the oldest
    window of the unbroken run of windows, ``step`` apart and ending at ``newest``, where the same
    (check, feature, slice) crossed too.
    """
    starts: dict[tuple, set[datetime]] = {}
    latest = []
    for row in rows:
        key = (row["layer"], row["check_name"], row.get("feature"), row["slice"])
        starts.setdefault(key, set()).add(row["window_start"])
        if row["window_start"] == newest:
            latest.append((key, row))
    out = []
    for key, row in latest:
        since = newest
        while since - step in starts[key]:
            since -= step
        out.append({**row, MATURED_SINCE: since})
    return out
