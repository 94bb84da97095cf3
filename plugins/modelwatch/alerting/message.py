"""Slack messages: one per owner per run, Block Kit plus a plain-text fallback (pure, no I/O).

The text fallback is what Slack shows in notifications and what the task log prints when Slack is
not configured, so it carries everything the blocks do: per cause its state (new, escalated, …),
severity, title, the worst crossings (value vs threshold), since when, the runbook, the alert id to
acknowledge; per message the window, the Airflow run, the report link and what is still open but
not repeated.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from modelwatch.alerting.families import family_of_title, runbook_path
from modelwatch.alerting.grouping import SEVERITY_RANK
from modelwatch.alerting.lifecycle import KINDS, DueItem, StoredAlert
from modelwatch.config.schema import MonitorConfig

RUNBOOK_BASE_URL_ENV = "MODELWATCH_RUNBOOK_BASE_URL"
REPORT_URL_ENV = "MODELWATCH_REPORT_URL"
MAX_ITEMS = 20  # causes per message; Slack allows 50 blocks
MAX_SECTION = 2900  # Slack's limit for a section's text is 3000 characters
MAX_EVIDENCE = 6  # summary lines quoted per cause (grouping keeps the worst few)
ID_CHARS = 12
KIND_LABEL = {"new": "NEW", "reopened": "REOPENED", "escalated": "ESCALATED",
              "reminder": "STILL OPEN", "resolved": "RESOLVED"}
EMOJI = {"page": ":rotating_light:", "notify": ":warning:", "log": ":information_source:",
         "resolved": ":white_check_mark:"}


@dataclass(frozen=True)
class Links:
    """Where messages point: the Airflow run, runbooks and the report.

    Attributes:
        airflow_base_url: From ``alerting.airflow_base_url``.
        dag_id: The monitoring DAG (``monitor_<model>`` unless the caller says otherwise).
        runbooks_dir: Folder of the family runbooks (``include/runbooks``).
        runbook_base_url: Where the runbooks are browsable (e.g. the repository's folder on the
            code host); without it messages name the file.
        report_url: Template of the report link with ``{model}``, ``{dag_id}``, ``{run_id}``,
            ``{window_start}``, ``{window_end}``; without it messages say it is not configured.
        data_docs_url: The window's Great Expectations Data Docs (S3 URI, or the UI plugin's
            route to the local copy); a message with a data-layer alert links it.
    """

    airflow_base_url: str
    dag_id: str
    runbooks_dir: Path
    runbook_base_url: str | None = None
    report_url: str | None = None
    data_docs_url: str | None = None

    @classmethod
    def from_config(cls, cfg: MonitorConfig, *, runbooks_dir: Path, dag_id: str | None = None,
                    env: Mapping[str, str] = os.environ) -> Links:
        # Without an explicit template the report link is the run's report in the UI plugin.
        report_url = env.get(REPORT_URL_ENV) or (
            cfg.alerting.airflow_base_url.rstrip("/") + "/modelwatch/dags/{dag_id}/runs/{run_id}/report")
        return cls(cfg.alerting.airflow_base_url, dag_id or cfg.dag_id, runbooks_dir,
                   env.get(RUNBOOK_BASE_URL_ENV) or None, report_url)

    def run(self, run_id: str) -> str:
        return (f"{self.airflow_base_url.rstrip('/')}/dags/{quote(self.dag_id, safe='')}"
                f"/runs/{quote(run_id, safe='')}")

    def runbook(self, title: str) -> tuple[str, str | None] | None:
        """(file shown, URL or None) of the runbook of the alert's family."""
        path = runbook_path(family_of_title(title), self.runbooks_dir)
        if path is None:
            return None
        shown = f"include/runbooks/{path.name}"
        url = f"{self.runbook_base_url.rstrip('/')}/{path.name}" if self.runbook_base_url else None
        return shown, url

    def report(self, model: str, window_start: datetime, window_end: datetime,
               run_id: str) -> str | None:
        if not self.report_url:
            return None
        return self.report_url.format(
            model=quote(model, safe=""), dag_id=quote(self.dag_id, safe=""),
            run_id=quote(run_id, safe=""), window_start=quote(window_start.isoformat(), safe=""),
            window_end=quote(window_end.isoformat(), safe=""))


@dataclass(frozen=True)
class OwnerMessage:
    """One Slack message: what one owner hears from this run."""

    owner: str
    channel: str
    text: str
    blocks: list[dict]
    items: tuple[DueItem, ...] = field(default=())

    @property
    def alert_ids(self) -> tuple[str, ...]:
        return tuple(i for item in self.items for i in item.alert_ids)


def format_window(start: datetime, end: datetime) -> str:
    """``2026-09-20`` for a calendar day, else ``2026-09-20 06:00–07:00``."""
    if end - start == timedelta(days=1) and start.hour == start.minute == 0:
        return f"{start:%Y-%m-%d}"
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M}"


def _esc(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str | None, label: str, mrkdwn: bool) -> str:
    if url is None:
        return label
    return f"<{url}|{_esc(label)}>" if mrkdwn else f"{label}: {url}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _counts(items: Sequence[DueItem]) -> str:
    return ", ".join(f"{sum(i.kind == k for i in items)} {k}" for k in KINDS
                     if any(i.kind == k for i in items))


def _emoji(item: DueItem) -> str:
    return EMOJI["resolved"] if item.kind == "resolved" else EMOJI.get(item.alert.severity, "")


def _state_line(item: DueItem) -> str:
    alert = item.alert
    since = f"{item.since:%Y-%m-%d}"
    window = format_window(alert.window_start, alert.window_end)
    ack = f"; acked by {alert.acked_by}" + (f": {alert.ack_note}" if alert.ack_note else "") \
        if alert.acked_by else ""
    if item.kind == "resolved":
        text = f"Back within thresholds in window {window}"
        if item.windows:
            text += f" (was open since {since}, {_plural(item.windows, 'window')})"
        if not item.announced:
            text += "; not announced before: delivery was unavailable"
        return text + ack
    if item.kind == "new":
        return f"Window {window}" + (f", open since {since}" if item.windows > 1 else "")
    if item.kind == "reopened":
        return f"Back in window {window} after it was reported resolved{ack}"
    if item.kind == "escalated":
        return (f"Open since {since} ({_plural(item.windows, 'window')}), now "
                f"{alert.severity.upper()}{ack}")
    return f"Open since {since} ({_plural(item.windows, 'window')}), not acknowledged"


def _item(item: DueItem, links: Links, run_url: str | None, *, mrkdwn: bool) -> str:
    alert = item.alert
    severity = "" if item.kind == "resolved" else f" · {alert.severity.upper()}"
    head = f"{_emoji(item)} {KIND_LABEL[item.kind]}{severity} · {alert.title}"
    evidence = [line for line in (alert.summary or "").splitlines() if line.strip()]
    if item.kind == "resolved":
        evidence = [f"last seen: {evidence[0]}"] if evidence else []
    evidence = evidence[:MAX_EVIDENCE]
    tail = [_state_line(item)]
    runbook = links.runbook(alert.title)
    if runbook and item.kind != "resolved":
        path, url = runbook
        if mrkdwn:
            tail.append(f"<{url}|runbook>" if url else f"runbook `{path}`")
        else:
            tail.append(f"runbook: {url or path}")
    if run_url:
        tail.append(_link(run_url, "run of that window", mrkdwn))
    tail.append(f"id `{alert.alert_id[:ID_CHARS]}`" if mrkdwn else f"id {alert.alert_id[:ID_CHARS]}")
    if mrkdwn:
        lines = [f"*{_esc(head)}*", *(f"• {_esc(e)}" for e in evidence), " · ".join(tail)]
    else:
        lines = [head, *(f"    • {e}" for e in evidence), "    " + " · ".join(tail)]
    text = "\n".join(lines)
    return text if len(text) <= MAX_SECTION else text[:MAX_SECTION - 1] + "…"


def _open_line(rows: Sequence[StoredAlert], limit: int = 5) -> str | None:
    if not rows:
        return None
    parts = [r.title + (f" (acked by {r.acked_by})" if r.acked_by else "") for r in rows[:limit]]
    more = f" +{len(rows) - limit} more" if len(rows) > limit else ""
    return "Still open, not repeated: " + "; ".join(parts) + more


def build_message(*, model: str, owner: str, channel: str, window_start: datetime,
                  window_end: datetime, run_id: str, items: Sequence[DueItem],
                  still_open: Sequence[StoredAlert] = (), links: Links,
                  run_ids: Mapping[tuple[datetime, datetime], str] | None = None) -> OwnerMessage:
    """The message for one owner.

    Args:
        items: What is due for this owner, in display order.
        still_open: Causes open in this window that are not being sent again.
        run_ids: Run id per (window_start, window_end) of items from earlier windows (an
            undelivered alert sent on a later run links to the run that found it).
    """
    items = sorted(items, key=lambda i: (i.kind == "resolved",
                                         -SEVERITY_RANK.get(i.alert.severity, 0), i.alert.title))
    shown, hidden = items[:MAX_ITEMS], items[MAX_ITEMS:]
    live = [i for i in items if i.kind != "resolved"]
    top = max((i.alert.severity for i in live), key=lambda s: SEVERITY_RANK.get(s, 0), default=None)
    emoji = EMOJI.get(top, "") if top else EMOJI["resolved"]
    window = format_window(window_start, window_end)
    run_url = links.run(run_id)
    report = links.report(model, window_start, window_end, run_id)
    headline = f"{model} · {owner}: {_counts(items)}"

    def item_run(item: DueItem) -> str | None:
        key = (item.alert.window_start, item.alert.window_end)
        if key == (window_start, window_end) or not run_ids or key not in run_ids:
            return None
        return links.run(run_ids[key])

    example = next((i.alert.alert_id[:ID_CHARS] for i in shown if i.kind != "resolved"), "ID")
    ack_hint = f"modelwatch alerts ack {example} --by NAME --note TEXT"
    more = f"+{len(hidden)} more: modelwatch alerts list" if hidden else None
    open_line = _open_line(still_open)

    text_lines = [f"{emoji} {headline} · window {window} UTC ({channel})", ""]
    for item in shown:
        text_lines += [_item(item, links, item_run(item), mrkdwn=False), ""]
    text_lines += [line for line in (more, open_line) if line]
    docs = links.data_docs_url if any(i.alert.layer == "data" for i in live) else None
    text_lines += [f"Airflow run: {run_url}",
                   f"Report: {report or 'not configured (set ' + REPORT_URL_ENV + ')'}",
                   *([f"GX Data Docs: {docs}"] if docs else []),
                   f"Acknowledge: {ack_hint}"]

    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{emoji} {headline}"[:150],
                                    "emoji": True}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Window {window} UTC · {_esc(channel)} · {_link(run_url, 'Airflow run', True)}")}]},
    ]
    for item in shown:
        blocks.append({"type": "section", "text": {
            "type": "mrkdwn", "text": _item(item, links, item_run(item), mrkdwn=True)}})
    blocks.append({"type": "divider"})
    footer = [_esc(line) for line in (more, open_line) if line]
    footer.append(" · ".join([
        _link(run_url, "Airflow run", True),
        _link(report, "report", True) if report else "report: not configured",
        *([_link(docs, "GX Data Docs", True)] if docs else []),
        f"acknowledge: `{ack_hint}`"]))
    blocks.append({"type": "context",
                   "elements": [{"type": "mrkdwn", "text": line} for line in footer]})
    return OwnerMessage(owner, channel, "\n".join(text_lines).rstrip(), blocks, tuple(shown))


def build_messages(*, model: str, window_start: datetime, window_end: datetime, run_id: str,
                   due: Sequence[DueItem], still_open: Sequence[StoredAlert] = (), links: Links,
                   run_ids: Mapping[tuple[datetime, datetime], str] | None = None
                   ) -> list[OwnerMessage]:
    """One message per (owner, channel) with something due, in channel order."""
    by_owner: dict[tuple[str, str], list[DueItem]] = {}
    for item in due:
        key = (item.alert.owner or "unowned", item.alert.channel or "")
        by_owner.setdefault(key, []).append(item)
    messages = []
    for (owner, channel), items in sorted(by_owner.items(), key=lambda kv: kv[0][1]):
        context = [r for r in still_open if (r.owner, r.channel) == (owner, channel)]
        messages.append(build_message(
            model=model, owner=owner, channel=channel, window_start=window_start,
            window_end=window_end, run_id=run_id, items=items, still_open=context, links=links,
            run_ids=run_ids))
    return messages
