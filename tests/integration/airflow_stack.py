"""A throwaway Airflow deployment for integration tests: the real processes, on loopback only.

PostgreSQL metadata DB, CeleryExecutor with a Redis broker and a PostgreSQL result backend, and the
four long-running processes a deployment has (api-server, scheduler, dag-processor, celery worker),
each in its own process group with its log in a file. Everything a run creates is named after one
token (database, Celery queue, worker name) so that parallel runs on one machine never share state
and teardown removes exactly what this run made.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

T = TypeVar("T")
PROCESSES = {
    "api-server": ("api-server",),
    "scheduler": ("scheduler",),
    "dag-processor": ("dag-processor",),
    "celery-worker": ("celery", "worker", "--without-mingle", "--without-gossip"),
}


def free_port() -> int:
    """A TCP port free on loopback now (the OS picks it; a tiny race is accepted)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url`` and return its URL.

    Raises ``sqlalchemy.exc.OperationalError`` when the server is not reachable.
    """
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name``, closing whatever connections a killed process left open."""
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def delete_redis_keys(redis_url: str, *markers: str) -> int:
    """Delete the keys, and the members of Kombu's binding sets, that mention one of ``markers``.

    Celery on Redis keeps a list per queue (plus ``queue\\x06\\x16N`` priority lists), a
    ``_kombu.binding.<exchange>`` set per exchange whose members name queues, and the ``unacked``
    hashes keyed by delivery tag. Only what carries this run's unique names is removed; the rest of
    the database (other runs, other apps) is left alone.
    """
    import redis

    client = redis.Redis.from_url(redis_url)
    removed = 0
    try:
        for key in list(client.scan_iter(count=500)):
            text = key.decode(errors="replace")
            if any(m in text for m in markers):
                removed += client.delete(key)
            elif text.startswith("_kombu.binding.") and client.type(key) == b"set":
                mine = [v for v in client.smembers(key) if any(m.encode() in v for m in markers)]
                if mine:
                    removed += client.srem(key, *mine)
    finally:
        client.close()
    return removed


@dataclass
class AirflowStack:
    """One Airflow deployment under ``home``; every process gets ``env``."""

    home: Path
    env: dict[str, str]
    api_url: str
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    def configure(cls, home: Path, *, metadata_url: str, broker_url: str, result_backend: str,
                  queue: str, dags_folder: Path, plugins_folder: Path,
                  extra_env: dict[str, str] | None = None) -> AirflowStack:
        """Environment for a CeleryExecutor deployment whose ports are all free loopback ports."""
        home.mkdir(parents=True, exist_ok=True)
        api_port = free_port()
        api_url = f"http://127.0.0.1:{api_port}"
        # Start from this process's environment minus any Airflow config, so a developer's own
        # AIRFLOW__* settings (or the test session's SQLite ones) cannot leak into the stack.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_HOME"))}
        env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CELERY__BROKER_URL": broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": result_backend,
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            # Only runs the test creates: no scheduled run of "yesterday" competing for the DAG's
            # single active-run slot (max_active_runs=1) with the run under test.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        })
        env.update(extra_env or {})
        return cls(home=home, env=env, api_url=api_url)

    # -- processes -----------------------------------------------------------------------------
    def airflow(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "airflow", *args]

    def popen(self, name: str, *args: str) -> subprocess.Popen:
        """Start ``airflow <args>`` in its own process group, output to ``<home>/<name>.log``."""
        log = open(self.home / f"{name}.log", "wb")  # the child keeps its own descriptor
        try:
            proc = subprocess.Popen(self.airflow(*args), env=self.env, cwd=self.home, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        finally:
            log.close()
        self.processes[name] = proc
        return proc

    def finish(self, name: str, timeout: float) -> None:
        """Wait for a short-lived command started with :meth:`popen`; fail with its log tail."""
        proc = self.processes.pop(name)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_group(proc, grace=2)
            raise AssertionError(f"`airflow {name}` still running after {timeout}s\n"
                                 + self.tail(name)) from None
        assert code == 0, f"`airflow {name}` exited {code}\n" + self.tail(name)

    def start_services(self, worker_name: str) -> None:
        """Start the long-running processes; ``worker_name`` is the Celery node name (``x@%h``)."""
        for name, args in PROCESSES.items():
            extra = ("--celery-hostname", worker_name) if name == "celery-worker" else ()
            self.popen(name, *args, *extra)

    def stop(self) -> None:
        """SIGTERM every process group at once, then SIGKILL what is left after a grace period."""
        procs = list(self.processes.values())
        for proc in procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(proc, signal.SIGKILL)  # also any child left in the group
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.processes.clear()

    def assert_running(self) -> None:
        dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
        assert not dead, f"Airflow process(es) exited: {dead}\n" + self.tails()

    def tail(self, name: str, chars: int = 4000) -> str:
        return _tail(self.home / f"{name}.log", chars)

    def tails(self, chars: int = 4000) -> str:
        """The end of every process log, then of every task attempt log (where tracebacks are)."""
        tasks = sorted(self.home.glob("logs/dag_id=*/**/*.log"))
        return "".join(_tail(path, chars) for path in sorted(self.home.glob("*.log"))) + "".join(
            _task_errors(path) or _tail(path, chars) for path in tasks)

    # -- waiting and the REST API --------------------------------------------------------------
    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float,
                 interval: float = 0.5) -> T:
        """Poll ``probe`` until it returns something truthy; fail with every log tail otherwise."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self.assert_running()
            try:
                result = probe()
            except Exception as exc:  # not up yet: connection refused, 404, ...
                last_error, result = exc, None
            if result:
                return result
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what} "
                             f"(last error: {last_error!r})\n" + self.tails())

    def api(self, method: str, path: str, **kwargs: Any):
        """Call the public REST API (all-admins auth manager: no token needed)."""
        import httpx

        response = httpx.request(method, f"{self.api_url}/api/v2{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()


def _tail(path: Path, chars: int) -> str:
    text = path.read_text(errors="replace") if path.exists() else "(no log)"
    return f"----- {path} -----\n{text[-chars:]}\n"


def _task_errors(path: Path) -> str:
    """The errors of a task attempt log (JSON lines), with the exception type and message."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            event = json.loads(line)
            if isinstance(event, dict) and event.get("level") in ("error", "critical"):
                found.append(str(event.get("event")))
                found += [f"  {d.get('exc_type')}: {str(d.get('exc_value'))[:1500]}"
                          for d in event.get("error_detail") or [] if isinstance(d, dict)]
    return f"----- {path} (errors) -----\n" + "\n".join(found) + "\n" if found else ""


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _stop_group(proc: subprocess.Popen, grace: float) -> None:
    _signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(proc, signal.SIGKILL)
        proc.wait(timeout=5)
