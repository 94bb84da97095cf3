"""A local HTTP server that speaks enough of the Slack Web API for tests and the demo.

``chat.postMessage``, ``chat.update``, ``conversations.history``, ``conversations.list`` and
``auth.test`` on ``http://127.0.0.1:<random port>/api/``, served from a thread. Every request is
recorded (method, parsed JSON/form/query body, whether the token matched, time) and can be written
to a JSON-lines file, so the messages a user would have received can be read afterwards.
``fail_next(n, status=500)`` and ``rate_limit_next(n, retry_after=1)`` make the next ``n`` calls
fail; ``answer_late_next(n, seconds)`` makes the next ``n`` posts land in the channel but answer
only after ``seconds`` (past a client's timeout, as a slow Slack does). Like Slack, a post to
``#name`` answers with the channel's id (``C`` + 10 characters), and the channel's history holds
the message with its ``metadata``.

    with FakeSlack(token="xoxb-test") as slack:
        os.environ["MODELWATCH_SLACK_BASE_URL"] = slack.base_url
        ...
        assert slack.posts()[0]["channel"] == "#fraud-data"

Run standalone for the demo: ``python -m modelwatch.demo.slack_server --record /tmp/slack.jsonl``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{8,}$")


def channel_id_of(channel: str) -> str:
    """The id Slack would answer for a channel named ``#name`` (an id passes through)."""
    if _CHANNEL_ID.match(channel):
        return channel
    return "C" + hashlib.sha1(channel.lstrip("#").encode()).hexdigest()[:10].upper()


@dataclass
class Recorded:
    method: str
    body: dict
    token_ok: bool
    status: int
    at: float
    authorization: str = field(repr=False, default="")


class FakeSlack:
    """The server. ``token=None`` accepts any bearer token."""

    def __init__(self, *, token: str | None = None, record_path: Path | None = None) -> None:
        self.token = token
        self.record_path = record_path
        self.requests: list[Recorded] = []
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._late: list[float] = []
        self.history: dict[str, list[dict]] = {}  # channel id -> messages, oldest first
        self.names: dict[str, str] = {}  # channel id -> name
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- control -------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api/"

    def fail_next(self, n: int, status: int = 500) -> None:
        with self._lock:
            self._failures += [(status, {})] * n

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        with self._lock:
            self._failures += [(429, {"Retry-After": str(retry_after)})] * n

    def answer_late_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._late += [seconds] * n

    def posts(self, *, ok_only: bool = True) -> list[dict]:
        """Bodies of ``chat.postMessage`` calls (those answered 200 with a valid token)."""
        return [r.body for r in self.calls("chat.postMessage")
                if not ok_only or (r.status == 200 and r.token_ok)]

    def calls(self, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if method is None or r.method == method]

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the API -------------------------------------------------------------------------------
    def _answer(self, method: str, body: dict, token_ok: bool) -> tuple[int, dict, dict]:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            status, headers = failure
            error = "ratelimited" if status == 429 else "internal_error"
            return status, headers, {"ok": False, "error": error}
        if not token_ok:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return 200, {}, {"ok": True, "url": "https://fake.slack.test/", "team": "fake",
                             "user": "modelwatch", "team_id": "T0FAKE", "user_id": "U0FAKE"}
        if method in ("chat.postMessage", "chat.update"):
            if not body.get("channel"):
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            if not body.get("text") and not body.get("blocks"):
                return 200, {}, {"ok": False, "error": "no_text"}
            channel = channel_id_of(body["channel"])
            ts = body.get("ts") or f"{1_700_000_000 + next(self._ts)}.000100"
            message = {"ts": ts, "text": body.get("text"), "blocks": body.get("blocks")}
            if method == "chat.postMessage":
                self._keep(channel, body, message)
            return 200, {}, {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.history":
            channel = body.get("channel") or ""
            if channel not in self.history and channel not in self.names:
                return 200, {}, {"ok": False, "error": "channel_not_found"}
            oldest = float(body.get("oldest") or 0)
            with_metadata = str(body.get("include_all_metadata")).lower() in ("1", "true")
            messages = [{k: v for k, v in m.items() if k != "metadata" or with_metadata}
                        for m in reversed(self.history.get(channel, [])) if float(m["ts"]) >= oldest]
            return 200, {}, {"ok": True, "messages": messages, "has_more": False}
        if method == "conversations.list":
            return 200, {}, {"ok": True, "channels": [
                {"id": cid, "name": name} for cid, name in sorted(self.names.items())],
                "response_metadata": {"next_cursor": ""}}
        return 404, {}, {"ok": False, "error": "unknown_method"}

    def _keep(self, channel: str, body: dict, message: dict) -> None:
        """A posted message, as the channel's history will show it. Its ts is the wall clock
        (what ``oldest`` compares with), kept unique and increasing."""
        metadata = body.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        with self._lock:
            self.names.setdefault(channel, str(body["channel"]).lstrip("#"))
            last = self.history.get(channel, [{}])[-1].get("ts")
            stamp = max(time.time(), float(last) + 0.000001 if last else 0.0)
            message["ts"] = f"{stamp:.6f}"
            self.history.setdefault(channel, []).append(
                {**message, **({"metadata": metadata} if metadata else {})})

    def _late_answer(self, method: str, status: int) -> float:
        if method != "chat.postMessage" or status != 200:
            return 0.0
        with self._lock:
            return self._late.pop(0) if self._late else 0.0

    def _record(self, entry: Recorded) -> None:
        with self._lock:
            self.requests.append(entry)
            if self.record_path is not None:
                with self.record_path.open("a") as out:
                    out.write(json.dumps({"method": entry.method, "status": entry.status,
                                          "at": entry.at, "body": entry.body}) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                method = self.path.split("?")[0].rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = {**query, **json.loads(raw or "{}")}
                else:
                    body = {**query, **{k: v[0] for k, v in parse_qs(raw).items()}}
                    if isinstance(body.get("blocks"), str):
                        body["blocks"] = json.loads(body["blocks"])
                auth = self.headers.get("Authorization") or ""
                token_ok = fake.token is None or auth == f"Bearer {fake.token}"
                status, headers, answer = fake._answer(method, body, token_ok)
                fake._record(Recorded(method, body, token_ok, status, time.monotonic(), auth))
                late = fake._late_answer(method, status)
                if late:
                    time.sleep(late)  # the message is in the channel; the answer comes too late
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args) -> None:  # keep test output quiet
                pass

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", type=Path, help="append every request to this JSON-lines file")
    parser.add_argument("--token", help="accept only this bearer token")
    args = parser.parse_args()
    with FakeSlack(token=args.token, record_path=args.record) as slack:
        print(f"export MODELWATCH_SLACK_BASE_URL={slack.base_url}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
