"""Slack delivery: a thin hook over slack-sdk's ``WebClient``, and where its token comes from.

The token is read from ``MODELWATCH_SLACK_TOKEN``, else from an Airflow connection through a
resolver the Airflow edge injects (this module imports no Airflow), else from the connection's
``AIRFLOW_CONN_<ID>`` environment variable. It is never logged, never put in an exception message
and never shown by ``repr``. ``MODELWATCH_SLACK_BASE_URL`` points the client elsewhere than
``https://slack.com/api/`` (tests use a local fake).

Retries happen inside the client: HTTP 429 waits for ``Retry-After`` (when it is at most
``max_retry_after`` seconds; a longer wait is left to the next run, the outbox keeps the alert),
and 5xx and connection errors back off exponentially. What still fails raises ``DeliveryError``,
marked terminal when retrying cannot help (bad token, unknown channel, invalid message), and
*uncertain* when no answer came back after the request went out (a read timeout, a dropped
connection): Slack may have posted it, so the caller must look before posting again
(``alerting/reconcile``, which reads ``conversations.history``).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from modelwatch.errors import ModelwatchError

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

TOKEN_ENV = "MODELWATCH_SLACK_TOKEN"
BASE_URL_ENV = "MODELWATCH_SLACK_BASE_URL"
DEFAULT_CONN_ID = "slack_api_default"
# Slack error codes that the same request will hit again: fix config, do not retry.
TERMINAL_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "no_permission", "missing_scope", "channel_not_found", "not_in_channel", "is_archived",
    "restricted_action", "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text",
    "invalid_arguments", "message_not_found", "cant_update_message",
})

TokenResolver = Callable[[str], "str | None"]


class DeliveryError(ModelwatchError):
    """Slack did not take the message. ``terminal``: retrying the same request cannot succeed.
    ``uncertain``: no answer came back after the request was sent; it may have been posted."""

    def __init__(self, message: str, *, terminal: bool = False, code: str | None = None,
                 uncertain: bool = False):
        super().__init__(message)
        self.terminal = terminal
        self.code = code
        self.uncertain = uncertain


def _sent_without_answer(exc: BaseException) -> bool:
    """A failure after the request went out: a read timeout or a connection dropped mid-answer.
    A refused connection or an unknown host never reached Slack."""
    if isinstance(exc, urllib.error.URLError):
        return isinstance(exc.reason, (TimeoutError, socket.timeout))
    return isinstance(exc, (TimeoutError, socket.timeout, ConnectionResetError,
                            http.client.RemoteDisconnected, http.client.IncompleteRead))


@dataclass(frozen=True)
class SlackSettings:
    """How to reach Slack. ``source`` says where the token came from (never the token)."""

    token: str = field(repr=False)
    base_url: str | None = None
    source: str = ""


def _token_from_conn_env(conn_id: str, env: Mapping[str, str]) -> str | None:
    """The password of ``AIRFLOW_CONN_<ID>`` in JSON or URI form (what Airflow's Slack
    connection keeps the token in)."""
    value = env.get(f"AIRFLOW_CONN_{conn_id.upper()}", "").strip()
    if not value:
        return None
    if value.startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            return None
        return data.get("password") or None
    password = urlsplit(value).password
    return unquote(password) if password else None


def resolve_settings(*, conn_id: str | None = None, resolver: TokenResolver | None = None,
                     env: Mapping[str, str] = os.environ) -> SlackSettings | None:
    """Where to deliver, or None when Slack is not configured (alerts are then only logged).

    Args:
        conn_id: Airflow connection holding the token in its password (default
            ``slack_api_default``, the Slack provider's default).
        resolver: ``conn_id -> token`` supplied by the Airflow edge; may raise or return None
            when the connection does not exist.
    """
    base_url = env.get(BASE_URL_ENV) or None
    token = (env.get(TOKEN_ENV) or "").strip()
    if token:
        return SlackSettings(token, base_url, f"env {TOKEN_ENV}")
    conn_id = conn_id or DEFAULT_CONN_ID
    if resolver is not None:
        try:
            token = (resolver(conn_id) or "").strip()
        except Exception as exc:  # a missing connection means "not configured"
            log.info("Slack connection %r not usable (%s)", conn_id, type(exc).__name__)
            token = ""
        if token:
            return SlackSettings(token, base_url, f"connection {conn_id}")
    token = (_token_from_conn_env(conn_id, env) or "").strip()
    if token:
        return SlackSettings(token, base_url, f"env AIRFLOW_CONN_{conn_id.upper()}")
    return None


def _retry_handlers(max_retries: int, backoff_factor: float, max_retry_after: float) -> list:
    from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
    from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

    class ServerErrorRetry(RetryHandler):
        """Every 5xx, not only the 500/503 of slack-sdk's own handler."""

        def _can_retry(self, *, state, request, response=None, error=None) -> bool:
            return response is not None and 500 <= response.status_code < 600

    class RateLimitRetry(RateLimitErrorRetryHandler):
        """429, waiting the Retry-After the server asks for, up to ``max_retry_after``."""

        def _can_retry(self, *, state, request, response=None, error=None) -> bool:
            if response is None or response.status_code != 429:
                return False
            values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
            try:
                wait = float(values[0] if isinstance(values, list) else values)
            except ValueError:
                wait = 1.0
            if wait > max_retry_after:
                log.warning("Slack asks to wait %.0f s (more than %.0f s): leaving the message for "
                            "the next run", wait, max_retry_after)
                return False
            return True

    backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor)
    return [RateLimitRetry(max_retry_count=max_retries),
            ServerErrorRetry(max_retry_count=max_retries, interval_calculator=backoff),
            ConnectionErrorRetryHandler(max_retry_count=max_retries, interval_calculator=backoff)]


class SlackHook:
    """``chat.postMessage``, ``chat.update`` and ``auth.test`` with retries.

    The client is built on first use, so constructing a hook does no I/O.
    """

    def __init__(self, *, token: str, base_url: str | None = None, timeout: int = 15,
                 max_retries: int = 3, backoff_factor: float = 0.5,
                 max_retry_after: float = 60.0) -> None:
        self._token = token
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_factor = backoff_factor
        self.max_retry_after = max_retry_after

    @classmethod
    def from_settings(cls, settings: SlackSettings, **kwargs: Any) -> SlackHook:
        return cls(token=settings.token, base_url=settings.base_url, **kwargs)

    def __repr__(self) -> str:
        return f"SlackHook(base_url={self.base_url or 'https://slack.com/api/'!r}, token=***)"

    @cached_property
    def client(self) -> WebClient:
        from slack_sdk import WebClient

        kwargs: dict[str, Any] = {"token": self._token, "timeout": self.timeout,
                                  "retry_handlers": _retry_handlers(
                                      self.max_retries, self.backoff_factor, self.max_retry_after)}
        if self.base_url:
            kwargs["base_url"] = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return WebClient(**kwargs)

    def _call(self, method: str, func: Callable[[], Any]) -> dict:
        from slack_sdk.errors import SlackApiError

        try:
            response = func()
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", None)
            data = getattr(exc.response, "data", None)
            code = data.get("error") if isinstance(data, dict) else None
            terminal = code in TERMINAL_ERRORS
            raise DeliveryError(f"Slack {method} failed: HTTP {status}, error {code or 'unknown'}"
                                + (" (fix the token, channel or message; retrying will not help)"
                                   if terminal else ""), terminal=terminal, code=code) from None
        except Exception as exc:  # connection refused, timeout, a non-JSON error page
            uncertain = _sent_without_answer(exc)
            raise DeliveryError(f"Slack {method} failed: {type(exc).__name__}: {exc}"
                                + (" (sent, no answer: it may have been posted)" if uncertain
                                   else ""), uncertain=uncertain) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post_message(self, *, channel: str, text: str, blocks: list[dict] | None = None,
                     metadata: dict | None = None) -> dict:
        """Post; returns Slack's answer (``channel`` id and ``ts`` of the message). ``metadata``
        (``event_type`` + ``event_payload``) travels with the message, so a later run can find
        it in the channel's history."""
        return self._call("chat.postMessage", lambda: self.client.chat_postMessage(
            channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
            metadata=metadata))

    def history(self, *, channel_id: str, oldest: float, limit: int = 200) -> list[dict]:
        """The channel's messages since ``oldest`` (epoch seconds), newest first, with their
        metadata (``conversations.history``; scope ``channels:history`` / ``groups:history``)."""
        answer = self._call("conversations.history", lambda: self.client.conversations_history(
            channel=channel_id, oldest=f"{oldest:.6f}", limit=limit, include_all_metadata=True))
        return list(answer.get("messages") or [])

    def channel_id(self, name: str) -> str | None:
        """The id of channel ``#name`` (``conversations.list``, paged; scope ``channels:read``)."""
        wanted, cursor = name.lstrip("#"), None
        while True:
            answer = self._call("conversations.list", lambda c=cursor: self.client.conversations_list(
                types="public_channel,private_channel", exclude_archived=True, limit=1000, cursor=c))
            for channel in answer.get("channels") or []:
                if channel.get("name") == wanted:
                    return channel.get("id")
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    def update_message(self, *, channel: str, ts: str, text: str,
                       blocks: list[dict] | None = None) -> dict:
        return self._call("chat.update", lambda: self.client.chat_update(
            channel=channel, ts=ts, text=text, blocks=blocks))

    def auth_test(self) -> dict:
        """Who the token belongs to; a cheap check that the token works."""
        return self._call("auth.test", self.client.auth_test)
