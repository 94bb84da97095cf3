"""A local HTTP server that speaks enough of the Slack Web API for tests and the demo.

``chat.postMessage``, ``chat.update`` and ``auth.test`` on ``http://127.0.0.1:<random port>/api/``,
served from a thread. Every request is recorded (method, parsed JSON/form body, whether the token
matched, time) and can be written to a JSON-lines file, so the messages a user would have received
can be read afterwards. ``fail_next(n, status=500)`` and ``rate_limit_next(n, retry_after=1)``
make the next ``n`` calls fail.

    with FakeSlack(token="xoxb-test") as slack:
        os.environ["MODELWATCH_SLACK_BASE_URL"] = slack.base_url
        ...
        assert slack.posts()[0]["channel"] == "#fraud-data"

Run standalone for the demo: ``python -m modelwatch.demo.slack_server --record /tmp/slack.jsonl``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs


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
            ts = body.get("ts") or f"{1_700_000_000 + next(self._ts)}.000100"
            return 200, {}, {"ok": True, "channel": body["channel"], "ts": ts,
                             "message": {"text": body.get("text"), "blocks": body.get("blocks")}}
        return 404, {}, {"ok": False, "error": "unknown_method"}

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
                if "json" in (self.headers.get("Content-Type") or ""):
                    body = json.loads(raw or "{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw).items()}
                    if isinstance(body.get("blocks"), str):
                        body["blocks"] = json.loads(body["blocks"])
                auth = self.headers.get("Authorization") or ""
                token_ok = fake.token is None or auth == f"Bearer {fake.token}"
                status, headers, answer = fake._answer(method, body, token_ok)
                fake._record(Recorded(method, body, token_ok, status, time.monotonic(), auth))
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
