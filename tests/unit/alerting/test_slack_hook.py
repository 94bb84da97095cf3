"""The Slack hook against the local fake: retries, Retry-After, errors, token sources."""

from __future__ import annotations

import time

import pytest

from modelwatch.alerting.slack import DeliveryError, SlackHook, SlackSettings, resolve_settings
from tests.fake_slack import FakeSlack

TOKEN = "xoxb-unit-secret-123"


@pytest.fixture
def slack():
    with FakeSlack(token=TOKEN) as server:
        yield server


def hook(server: FakeSlack, token: str = TOKEN, **kw) -> SlackHook:
    return SlackHook(token=token, base_url=server.base_url, backoff_factor=0.01, **kw)


def test_post_update_and_auth_test(slack) -> None:
    h = hook(slack)
    posted = h.post_message(channel="#fraud-data", text="hello", blocks=[{"type": "divider"}])
    h.update_message(channel=posted["channel"], ts=posted["ts"], text="hello again")
    assert h.auth_test()["user_id"] == "U0FAKE"
    assert [c.method for c in slack.calls()] == ["chat.postMessage", "chat.update", "auth.test"]
    assert slack.posts() == [{"channel": "#fraud-data", "text": "hello",
                              "blocks": [{"type": "divider"}], "unfurl_links": False,
                              "unfurl_media": False}]
    assert all(c.authorization == f"Bearer {TOKEN}" for c in slack.calls())


def test_429_waits_for_retry_after(slack) -> None:
    slack.rate_limit_next(1, retry_after=1)
    started = time.monotonic()
    hook(slack).post_message(channel="#c", text="x")
    calls = slack.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    assert time.monotonic() - started < 10


def test_a_retry_after_longer_than_allowed_is_left_to_the_next_run(slack) -> None:
    slack.rate_limit_next(1, retry_after=120)
    started = time.monotonic()
    with pytest.raises(DeliveryError, match="HTTP 429") as err:
        hook(slack, max_retry_after=5).post_message(channel="#c", text="x")
    assert not err.value.terminal and time.monotonic() - started < 5


def test_5xx_is_retried_with_backoff(slack) -> None:
    slack.fail_next(2, status=502)
    hook(slack, max_retries=3).post_message(channel="#c", text="x")
    assert [c.status for c in slack.calls()] == [502, 502, 200]


def test_persistent_5xx_is_a_transient_error(slack) -> None:
    slack.fail_next(10)
    with pytest.raises(DeliveryError, match="HTTP 500, error internal_error") as err:
        hook(slack, max_retries=2).post_message(channel="#c", text="x")
    assert not err.value.terminal
    assert len(slack.calls()) == 3  # first try + 2 retries


def test_a_bad_token_is_terminal_and_not_in_the_error(slack) -> None:
    with pytest.raises(DeliveryError) as err:
        hook(slack, token="xoxb-wrong-token").post_message(channel="#c", text="x")
    assert err.value.terminal and err.value.code == "invalid_auth"
    assert "xoxb-wrong-token" not in str(err.value)
    assert "xoxb-wrong-token" not in repr(hook(slack, token="xoxb-wrong-token"))


def test_unreachable_server_is_transient() -> None:
    with FakeSlack() as server:
        url = server.base_url
    with pytest.raises(DeliveryError) as err:
        SlackHook(token=TOKEN, base_url=url, max_retries=1, backoff_factor=0.01).auth_test()
    assert not err.value.terminal


def test_token_sources_in_order() -> None:
    env = {"MODELWATCH_SLACK_TOKEN": "xoxb-env", "MODELWATCH_SLACK_BASE_URL": "http://x/api/",
           "AIRFLOW_CONN_SLACK_API_DEFAULT": '{"conn_type": "slack", "password": "xoxb-conn-env"}'}
    assert resolve_settings(env=env) == SlackSettings("xoxb-env", "http://x/api/",
                                                      "env MODELWATCH_SLACK_TOKEN")
    del env["MODELWATCH_SLACK_TOKEN"]
    got = resolve_settings(resolver=lambda conn_id: f"xoxb-from-{conn_id}", conn_id="alerts", env=env)
    assert (got.token, got.source) == ("xoxb-from-alerts", "connection alerts")

    def missing(conn_id: str) -> str:
        raise LookupError(conn_id)

    got = resolve_settings(resolver=missing, env=env)
    assert (got.token, got.source) == ("xoxb-conn-env", "env AIRFLOW_CONN_SLACK_API_DEFAULT")
    uri = {"AIRFLOW_CONN_SLACK_API_DEFAULT": "slack://:xoxb-uri%2Ftoken@"}
    assert resolve_settings(env=uri).token == "xoxb-uri/token"
    assert resolve_settings(env={}) is None
    assert "xoxb" not in repr(resolve_settings(env=uri))
