"""Drift benchmark: modelwatch's in-warehouse drift path against Evidently and NannyML, same data.

    .venv/bin/python benchmarks/drift_vs_peers.py                  # 100k and 1M rows, 3 repeats
    .venv/bin/python benchmarks/drift_vs_peers.py --sizes 100k --repeats 1   # quick check

One workload per size N is generated once (25 features: 20 numeric of varied shapes, 5
categorical, one with 5,000 categories) and written to Parquet: a reference window of N rows and
a current window of N rows in two variants, "nodrift" (same distributions, another seed) and
"drift" (the same current rows with 3 numeric features shifted and 1 categorical mix changed).
Every tool reads those files.

Each measured run is a fresh subprocess, so its peak RSS (``os.wait4`` rusage of that child) is
the tool's own. Peers run in ``benchmarks/.venv`` (created here from requirements-peers.txt when
missing; never in the project's venv); modelwatch runs in this interpreter's venv through its
runner steps on a DuckDB file warehouse. Raw numbers go to ``benchmarks/results/<date>.json``,
a Markdown table to stdout and ``benchmarks/results/<date>.md``; docs/benchmarks.md holds the
recorded reading.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
PEER_VENV = BENCH / ".venv"
PEER_PYTHON = PEER_VENV / "bin" / "python"
PEERS = BENCH / "peers"
RESULTS = BENCH / "results"

MODEL_NAME = "drift_bench"
REFERENCE_DAY = datetime(2026, 1, 1)
CURRENT_DAY = REFERENCE_DAY + timedelta(days=1)
VARIANTS = ("nodrift", "drift")
TOOLS = ("modelwatch", "modelwatch-pg", "evidently", "nannyml", "nannyml-10chunks",
         "numpy-floor", "duckdb-floor")
MODELWATCH_TOOLS = ("modelwatch", "modelwatch-pg")
FLOOR_TOOLS = ("numpy-floor", "duckdb-floor")  # benchmarks/floors.py
PROJECT_VENV_TOOLS = MODELWATCH_TOOLS + FLOOR_TOOLS
WAREHOUSE_TOOLS = (*MODELWATCH_TOOLS, "duckdb-floor")
PG_ADMIN_URL = os.environ.get("MODELWATCH_BENCH_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SEED = 20261126  # reference = SEED, current = SEED + 1, drift transforms = SEED + 2

# The 20 numeric features and how each is drawn. Shapes vary on purpose: skewed, heavy-tailed,
# bounded, U-shaped, bimodal, integer counts with ties, zero-inflated, point masses.
NUMERIC = (
    "amount",              # lognormal(3, 1)                               DRIFT: log-spread x1.25
    "account_age_days",    # exponential, mean 400
    "tx_count_24h",        # Poisson(3), integer ties                      DRIFT: Poisson(3.45)
    "avg_amount_30d",      # gamma(2, 30)
    "distance_km",         # lognormal(2, 1.5), very long right tail
    "minutes_since_last",  # exponential, mean 60
    "device_risk",         # beta(2, 5)
    "ip_risk",             # beta(0.5, 0.5), U-shaped
    "velocity_1h",         # Poisson(0.5), mostly zeros
    "merchant_risk",       # uniform(0, 1)
    "card_age_days",       # integer uniform 0..3650
    "failed_logins_7d",    # 90 % zeros, else geometric(0.4)
    "session_seconds",     # 120 + 30 * Student t(3), heavy tails both sides
    "basket_items",        # geometric(0.3), integer
    "credit_utilization",  # beta(2, 2)
    "hour_of_day",         # integer 0..23, bimodal (lunch and evening)
    "income",              # normal(50000, 15000)                          DRIFT: mean +0.5 sd
    "temperature",         # mixture of normal(5, 3) and normal(22, 4)
    "balance",             # normal(0, 1) with 5 % exact zeros
    "response_ms",         # Weibull(1.5) * 200
)
# Categorical features: (name, number of categories). merchant_id has the long tail.
CATEGORICAL = (("channel", 3), ("device_type", 5), ("country", 40), ("merchant_category", 20),
               ("merchant_id", 5000))
DRIFTED = {
    "income": "mean shifted by +0.5 standard deviation (large)",
    "amount": "log-scale spread x1.25, same median (moderate)",
    "tx_count_24h": "Poisson mean 3 -> 3.45, +15 % (small)",
    "channel": "mix web/app/pos 55/30/15 % -> 40/30/30 % (moderate)",
}
CHANNELS = ("web", "app", "pos")
DEVICES = ("ios", "android", "windows", "mac", "linux")


# --------------------------------------------------------------------------------------------
# Workload
# --------------------------------------------------------------------------------------------

def _zipf_p(k: int, s: float, offset: float = 1.0):
    import numpy as np

    p = 1.0 / (np.arange(k) + offset) ** s
    return p / p.sum()


def _category_probs() -> dict[str, object]:
    import numpy as np

    return {
        "channel": np.array([0.55, 0.30, 0.15]),
        "device_type": np.array([0.35, 0.40, 0.15, 0.07, 0.03]),
        "country": _zipf_p(40, 1.2),
        "merchant_category": 0.85 ** np.arange(20) / (0.85 ** np.arange(20)).sum(),
        "merchant_id": _zipf_p(5000, 1.1, offset=10.0),
    }


def _draw_window(rng, n: int) -> dict[str, object]:
    """One window of n rows: numeric columns as float/int arrays, categoricals as int codes."""
    import numpy as np

    cols: dict[str, object] = {
        "amount": rng.lognormal(3.0, 1.0, n),
        "account_age_days": rng.exponential(400.0, n),
        "tx_count_24h": rng.poisson(3.0, n),
        "avg_amount_30d": rng.gamma(2.0, 30.0, n),
        "distance_km": rng.lognormal(2.0, 1.5, n),
        "minutes_since_last": rng.exponential(60.0, n),
        "device_risk": rng.beta(2.0, 5.0, n),
        "ip_risk": rng.beta(0.5, 0.5, n),
        "velocity_1h": rng.poisson(0.5, n),
        "merchant_risk": rng.uniform(0.0, 1.0, n),
        "card_age_days": rng.integers(0, 3651, n),
        "failed_logins_7d": np.where(rng.random(n) < 0.9, 0, rng.geometric(0.4, n)),
        "session_seconds": 120.0 + 30.0 * rng.standard_t(3.0, n),
        "basket_items": rng.geometric(0.3, n),
        "credit_utilization": rng.beta(2.0, 2.0, n),
        "hour_of_day": np.where(rng.random(n) < 0.4, rng.normal(12.5, 1.5, n),
                                rng.normal(19.5, 2.0, n)).round().clip(0, 23).astype(np.int64),
        "income": rng.normal(50_000.0, 15_000.0, n),
        "temperature": np.where(rng.random(n) < 0.5, rng.normal(5.0, 3.0, n),
                                rng.normal(22.0, 4.0, n)),
        "balance": np.where(rng.random(n) < 0.05, 0.0, rng.normal(0.0, 1.0, n)),
        "response_ms": 200.0 * rng.weibull(1.5, n),
    }
    for name, p in _category_probs().items():
        cols[name] = rng.choice(len(p), size=n, p=p).astype(np.int32)
    cols["_noise"] = rng.normal(0.0, 1.0, n)
    return cols


def _apply_drift(cols: dict[str, object], rng) -> dict[str, object]:
    """The drift variant: the no-drift rows with exactly the DRIFTED changes, nothing else."""
    import numpy as np

    out = dict(cols)
    out["income"] = cols["income"] + 0.5 * 15_000.0
    out["amount"] = np.exp(3.0 + (np.log(cols["amount"]) - 3.0) * 1.25)
    out["tx_count_24h"] = cols["tx_count_24h"] + rng.poisson(0.45, len(cols["income"]))
    # web -> pos for 15/55 of the web rows: 55/30/15 becomes 40/30/30 exactly in expectation.
    channel = cols["channel"].copy()
    move = (channel == 0) & (rng.random(channel.size) < 0.15 / 0.55)
    channel[move] = 2
    out["channel"] = channel
    return out


def _score(cols: dict[str, object]):
    """The model's score, a function of a few features, so it moves when they do."""
    import numpy as np

    z = (-2.5 + 0.6 * (np.log(cols["amount"]) - 3.0) + 2.0 * (cols["device_risk"] - 0.29)
         + 1.2 * (cols["ip_risk"] - 0.5) + 0.15 * (cols["tx_count_24h"] - 3.0)
         + 0.5 * cols["_noise"])
    return 1.0 / (1.0 + np.exp(-z))


def _write_parquet(cols: dict[str, object], path: Path) -> None:
    """Numeric columns as they are, category codes turned into strings by DuckDB, one file."""
    import duckdb
    import pandas as pd

    frame = pd.DataFrame({k: v for k, v in cols.items() if k != "_noise"})
    frame["score"] = _score(cols)
    labels = {
        "channel": "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "][channel + 1]",
        "device_type": "[" + ", ".join(f"'{c}'" for c in DEVICES) + "][device_type + 1]",
        "country": "'c' || lpad(CAST(country AS VARCHAR), 2, '0')",
        "merchant_category": "'mcc' || lpad(CAST(merchant_category AS VARCHAR), 2, '0')",
        "merchant_id": "'m' || lpad(CAST(merchant_id AS VARCHAR), 5, '0')",
    }
    select = [*NUMERIC, *(f"{labels[name]} AS {name}" for name, _ in CATEGORICAL), "score"]
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        con.execute(f"COPY (SELECT {', '.join(select)} FROM frame) TO '{path}' (FORMAT parquet)")
    finally:
        con.close()


def write_workload(folder: Path, n: int) -> dict:
    """Write ref/cur_nodrift/cur_drift Parquet files and workload.json; return the spec."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    reference = _draw_window(np.random.default_rng(SEED), n)
    _write_parquet(reference, folder / "reference.parquet")
    del reference
    current = _draw_window(np.random.default_rng(SEED + 1), n)
    _write_parquet(current, folder / "current_nodrift.parquet")
    _write_parquet(_apply_drift(current, np.random.default_rng(SEED + 2)),
                   folder / "current_drift.parquet")
    spec = {
        "n": n,
        "seeds": {"reference": SEED, "current": SEED + 1, "drift": SEED + 2},
        "numeric": list(NUMERIC),
        "categorical": [name for name, _ in CATEGORICAL],
        "cardinality": dict(CATEGORICAL),
        "drifted": DRIFTED,
        "files": {"reference": "reference.parquet", "nodrift": "current_nodrift.parquet",
                  "drift": "current_drift.parquet"},
        "generate_s": round(time.perf_counter() - started, 3),
        "parquet_mb": {p.name: round(p.stat().st_size / 2**20, 1) for p in folder.glob("*.parquet")},
    }
    (folder / "workload.json").write_text(json.dumps(spec, indent=2))
    return spec


# --------------------------------------------------------------------------------------------
# modelwatch (runs in the project's venv, as child processes of this script)
# --------------------------------------------------------------------------------------------

def load_warehouse(data_dir: Path, variant: str, db: Path) -> dict:
    """The user's warehouse already holding data: reference rows on day 1, current on day 2."""
    import duckdb

    spec = json.loads((data_dir / "workload.json").read_text())
    n = spec["n"]
    features = ", ".join([*spec["numeric"], *spec["categorical"]])

    def part(path: Path, day: datetime, id_offset: int) -> str:
        return (
            f"SELECT file_row_number + {id_offset} AS request_id, "
            f"TIMESTAMP '{day:%Y-%m-%d}' + to_microseconds(file_row_number * 86400000000 // {n}) "
            f"AS event_ts, '{MODEL_NAME}' AS model_name, 'v1' AS model_version, score, {features} "
            f"FROM read_parquet('{path}', file_row_number = true)"
        )

    db.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(db))
    try:
        con.execute(
            "CREATE TABLE predictions AS "
            + part(data_dir / spec["files"]["reference"], REFERENCE_DAY, 0)
            + " UNION ALL "
            + part(data_dir / spec["files"][variant], CURRENT_DAY, n)
        )
        rows = con.execute("SELECT count(*) FROM predictions").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {"load_s": time.perf_counter() - started, "rows": rows,
            "db_mb": round(db.stat().st_size / 2**20, 1)}


def _pg_type(duckdb_type: str) -> str:
    kind = duckdb_type.upper()
    if kind.startswith(("DOUBLE", "FLOAT", "DECIMAL", "REAL")):
        return "double precision"
    if kind.startswith(("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT")):
        return "bigint"
    if kind.startswith("TIMESTAMP"):
        return "timestamp"
    return "text"


def load_postgres(duck_db: Path, admin_url: str, database: str) -> dict:
    """The same ``predictions`` table in a fresh PostgreSQL database (COPY of a CSV export of the
    DuckDB warehouse), analysed, with an index on the window filter's column."""
    import duckdb
    import psycopg

    started = time.perf_counter()
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    con = duckdb.connect(str(duck_db), read_only=True)
    try:
        columns = con.execute("DESCRIBE predictions").fetchall()
        csv = duck_db.with_suffix(".csv")
        con.execute(f"COPY predictions TO '{csv}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    target = plain.rsplit("/", 1)[0] + f"/{database}"
    ddl = ", ".join(f'"{name}" {_pg_type(kind)}' for name, kind, *_ in columns)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE predictions ({ddl})")
        with conn.cursor().copy("COPY predictions FROM STDIN WITH (FORMAT csv, HEADER)") as copy, \
                csv.open("rb") as source:
            while chunk := source.read(1 << 20):
                copy.write(chunk)
        conn.execute("CREATE INDEX ON predictions (model_name, event_ts)")
        conn.execute("VACUUM ANALYZE predictions")
    csv.unlink(missing_ok=True)
    return {"load_s": time.perf_counter() - started, "database": database,
            "url": admin_url.rsplit("/", 1)[0] + f"/{database}"}


def drop_postgres(admin_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"),
                         autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def monitor_config(spec: dict):
    """The benchmark's monitor, built in code; every threshold is modelwatch's default."""
    from modelwatch.config.schema import MonitorConfig

    owner = {"team": "bench", "slack_channel": "#bench"}
    return MonitorConfig.model_validate({
        "model": {"name": MODEL_NAME, "task": "binary"},
        "owners": {layer: owner for layer in ("data", "model", "outcome", "infra")},
        "warehouse": {"url_env": "MODELWATCH_WAREHOUSE_URL"},
        "tables": {"predictions": "predictions"},
        "columns": {"request_id": "request_id", "event_ts": "event_ts", "model_name": "model_name",
                    "model_version": "model_version", "score": "score", "prediction": None},
        "features": [{"name": f, "kind": "numeric"} for f in spec["numeric"]]
        + [{"name": f, "kind": "categorical"} for f in spec["categorical"]],
        "schedule": {"cron": "@daily", "window": "1d", "start_date": REFERENCE_DAY.date()},
        "reference": {"start": REFERENCE_DAY, "end": CURRENT_DAY, "model_version": "v1"},
    })


def _source_digest(package: Path) -> str:
    """Which modelwatch was measured: a digest of its ``*.py`` files (the work tree moves)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def snapshot_modelwatch(work: Path) -> Path:
    """Copy plugins/modelwatch once, so every run of this benchmark measures the same code.

    Other people edit the work tree while a benchmark runs; the children put the copy first on
    ``PYTHONPATH`` (ahead of the editable install's path entry).
    """
    target = work / "modelwatch_src"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(PROJECT / "plugins" / "modelwatch", target / "modelwatch",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run_modelwatch(data_dir: Path, url: str, tool: str = "modelwatch") -> dict:
    """One measured modelwatch run: profile the reference, then check the current window.

    ``url`` is the warehouse: the DuckDB file (in this process) or the PostgreSQL database (the
    server does the work; its memory is not in this process's peak RSS).
    """
    from _common import rss_now_mb  # benchmarks/peers/_common.py, put on sys.path by __main__

    os.environ["MODELWATCH_WAREHOUSE_URL"] = url
    spec = json.loads((data_dir / "workload.json").read_text())
    started = time.perf_counter()
    from importlib.metadata import version

    import scipy.stats  # noqa: F401  modelwatch's KS imports it lazily; peers import it untimed too

    import modelwatch
    from modelwatch.runner import Window, step_profile, step_window_checks
    import_s = time.perf_counter() - started
    rss_import = rss_now_mb()

    cfg = monitor_config(spec)
    t0 = time.perf_counter()
    step_profile(cfg, rebuild=True)
    t1 = time.perf_counter()
    rows = step_window_checks(cfg, Window(CURRENT_DAY, CURRENT_DAY + timedelta(days=1)),
                              run_id="drift-benchmark")
    t2 = time.perf_counter()

    features = set(spec["numeric"]) | set(spec["categorical"])
    drift_rows = [r for r in rows if r.feature in features and r.layer == "data"
                  and r.check_name != "null_rate_increase"]
    scores = {}
    for r in drift_rows:
        scores.setdefault(r.feature, {})[r.check_name] = {
            "value": r.value, "threshold": r.threshold, "status": r.status}
    flagged = sorted(r.feature for r in drift_rows
                     if r.check_name == "psi" and r.status in ("warn", "alert"))
    flagged_any = sorted({r.feature for r in drift_rows if r.status in ("warn", "alert")})
    return {
        "tool": tool,
        "versions": {"modelwatch": version("modelwatch"), "duckdb": version("duckdb"),
                     "sqlalchemy": version("sqlalchemy"), "numpy": version("numpy"),
                     "source_sha256": _source_digest(Path(modelwatch.__file__).parent),
                     "source": str(Path(modelwatch.__file__).parent)},
        "method": "PSI, 10 reference-quantile bins (numeric) / top-50 + other (categorical); "
                  "warn >= 0.1, alert >= 0.25",
        "import_s": import_s,
        "rss_after_import_mb": rss_import,
        "phases": {"load_s": 0.0, "fit_s": t1 - t0, "window_s": t2 - t1},
        "flagged": flagged,
        "flagged_any_method": flagged_any,
        "alerted": sorted(r.feature for r in drift_rows
                          if r.check_name == "psi" and r.status == "alert"),
        "checks": sorted({r.check_name for r in drift_rows}),
        "scores": scores,
        "other_rows": [{"check": r.check_name, "feature": r.feature, "value": r.value,
                        "status": r.status} for r in rows if r not in drift_rows],
    }


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------

@dataclass
class ChildRun:
    ok: bool
    wall_s: float
    max_rss_mb: float
    result: dict | None
    error: str | None


def run_child(cmd: list[str], out: Path, log: Path, env: dict, timeout_s: float) -> ChildRun:
    """Run one measured child; its peak RSS is the ``VmHWM`` the child reports at its end
    (``_common.peak_rss_mb``), or, for a child that failed, ``os.wait4``'s ``ru_maxrss``, which
    is only an upper bound: Linux carries ``maxrss`` over fork and exec from this process."""
    out.unlink(missing_ok=True)
    with log.open("w") as sink:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=PROJECT)
        killer = threading.Timer(timeout_s, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux; a floor of the parent's peak (see below)
    if proc.returncode == 0 and out.exists():
        result = json.loads(out.read_text())
        # the child's own VmHWM: ru_maxrss survives fork + exec, so it is at least the parent's
        # peak (the parent generated the workload in memory), whatever the child used
        return ChildRun(True, wall, result.get("peak_rss_mb", rss_mb), result, None)
    tail = log.read_text(errors="replace").strip().splitlines()[-15:]
    reason = f"killed after {timeout_s:.0f} s" if proc.returncode == -9 else f"exit {proc.returncode}"
    return ChildRun(False, wall, rss_mb, None, reason + ": " + "\n".join(tail))


def _cpu_busy(seconds: float = 1.0) -> float:
    """Share of all cores busy over ``seconds`` (from /proc/stat): other people's load."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle + iowait
        return sum(fields[:8]) - idle, sum(fields[:8])
    busy0, total0 = sample()
    time.sleep(seconds)
    busy1, total1 = sample()
    return (busy1 - busy0) / max(total1 - total0, 1)


def wait_until_quiet(max_busy: float, patience_s: float) -> float:
    """Wait (at most ``patience_s``) until the machine is quiet; return the last busy share.

    The machine has 2 cores and other work may run on it; a run that starts while another
    process holds a core measures that process too. Every run records the share it started with.
    """
    deadline = time.monotonic() + patience_s
    busy = _cpu_busy()
    while busy > max_busy and time.monotonic() < deadline:
        time.sleep(2.0)
        busy = _cpu_busy()
    return busy


def ensure_peer_venv(reinstall: bool) -> str | None:
    """Create benchmarks/.venv from requirements-peers.txt if missing; return an error or None."""
    if reinstall and PEER_VENV.exists():
        shutil.rmtree(PEER_VENV)
    if PEER_PYTHON.exists():
        return None
    print(f"creating the peer venv {PEER_VENV} (once; takes about a minute)", flush=True)
    base = shutil.which("python3.11") or shutil.which("python3")
    try:
        subprocess.run([base, "-m", "venv", str(PEER_VENV)], check=True)
        pip = [str(PEER_PYTHON), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-r", str(BENCH / "requirements-peers.txt")], check=True)
    except (subprocess.CalledProcessError, TypeError) as exc:
        return f"could not create the peer venv: {exc}"
    return None


def child_env(work: Path) -> dict:
    env = {**os.environ, "NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1",
           "EVIDENTLY_DISABLE_TELEMETRY": "1", "MODELWATCH_HOME": str(work / "mw_home"),
           "PYTHONHASHSEED": "0"}
    env.pop("VIRTUAL_ENV", None)
    return env


def tool_command(tool: str, data_dir: Path, variant: str, url: str, out: Path) -> list[str]:
    if tool in MODELWATCH_TOOLS:
        return [sys.executable, str(Path(__file__).resolve()), "_modelwatch", "--data-dir",
                str(data_dir), "--url", url, "--tool", tool, "--out", str(out)]
    if tool in FLOOR_TOOLS:
        return [sys.executable, str(Path(__file__).resolve()), "_floor", "--data-dir",
                str(data_dir), "--url", url, "--tool", tool, "--variant", variant,
                "--out", str(out)]
    script = {"evidently": "evidently_drift.py", "nannyml": "nannyml_drift.py",
              "nannyml-10chunks": "nannyml_drift.py"}[tool]
    cmd = [str(PEER_PYTHON), str(PEERS / script), "--data-dir", str(data_dir), "--variant",
           variant, "--out", str(out)]
    if tool == "nannyml-10chunks":
        cmd += ["--chunks", "10"]
    return cmd


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def label(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1_000}k"


def machine() -> dict:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    return {"cores": os.cpu_count(), "ram_gib": round(mem_kb / 2**20, 1), "cpu": cpu,
            "os": platform.platform(), "python": platform.python_version()}


def _flags(flagged: set[str], truth: set[str], variant: str) -> dict:
    drift = variant == "drift"
    return {"flagged": sorted(flagged), "true_positives": sorted(flagged & truth),
            "missed": sorted(truth - flagged) if drift else [],
            "false_alarms": sorted(flagged - truth) if drift else sorted(flagged)}


def summarize(runs: list[dict], truth: set[str]) -> list[dict]:
    """Per tool and size: median phases over the successful runs, flags per variant."""
    rows = []
    keys = sorted({(r["tool"], r["n"]) for r in runs}, key=lambda k: (k[1], TOOLS.index(k[0])))
    for tool, n in keys:
        mine = [r for r in runs if r["tool"] == tool and r["n"] == n]
        good = [r for r in mine if r["ok"]]
        row: dict = {"tool": tool, "n": n, "runs": len(good), "errors": [r["error"] for r in mine
                                                                         if not r["ok"]]}
        if good:
            def med(key: str, runs_=good) -> float:
                return statistics.median(r["phases"][key] for r in runs_)
            row |= {"load_s": med("load_s"), "fit_s": med("fit_s"), "window_s": med("window_s"),
                    "total_s": med("total_s"), "child_wall_s": statistics.median(
                        r["wall_s"] for r in good),
                    "peak_rss_mb": max(r["max_rss_mb"] for r in good),
                    "import_s": statistics.median(r["import_s"] for r in good),
                    "max_cpu_busy_before": max(r.get("cpu_busy_before", 0.0) for r in good),
                    "runs_per_variant": {v: sum(r["variant"] == v for r in good) for v in VARIANTS}}
            for variant in VARIANTS:
                last = [r for r in good if r["variant"] == variant]
                if last:
                    row[variant] = _flags(set(last[-1]["flagged"]), truth, variant)
                    if "flagged_any_method" in last[-1]:
                        row[f"{variant}_any_method"] = _flags(
                            set(last[-1]["flagged_any_method"]), truth, variant)
        rows.append(row)
    return rows


def _names(columns: list[str]) -> str:
    return ", ".join(columns) if columns else "none"


def _flag_row(tool: str, size: str, nd: dict | None, dr: dict | None) -> str:
    nd_text = "—" if nd is None else f"{len(nd['flagged'])}/25"
    if nd and 0 < len(nd["flagged"]) <= 4:
        nd_text += f" ({_names(nd['flagged'])})"
    if dr is None:
        return f"| {tool} | {size} | {nd_text} | — | — | — |"
    false = dr["false_alarms"]
    false_text = f"{len(false)}" + (f" ({_names(false)})" if 0 < len(false) <= 4 else "")
    return (f"| {tool} | {size} | {nd_text} | {len(dr['true_positives'])}/4 "
            f"| {_names(dr['missed'])} | {false_text} |")


def markdown(summary: list[dict]) -> str:
    """Two tables: cost per tool and size, then which columns each tool flagged."""
    cost = [
        "| tool | N | runs | import (s, not counted) | load (s) | fit / profile (s, once) "
        "| per window (s) | total (s) | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    flags = [
        "| tool | N | no drift: flagged (all false alarms) | drift: true drifts caught (of 4) "
        "| drift: missed | drift: false alarms |",
        "|---|---|---|---|---|---|",
    ]
    for row in summary:
        size = label(row["n"])
        if not row["runs"]:
            error = row["errors"][0].splitlines()[-1][:160] if row["errors"] else "no run"
            cost.append(f"| {row['tool']} | {size} | 0 | failed: {error} ||||||")
            continue
        per_variant = row["runs_per_variant"]
        runs = "+".join(str(per_variant[v]) for v in VARIANTS)
        load = (f"({row['warehouse_load_s']:.2f})" if "warehouse_load_s" in row
                else f"{row['load_s']:.2f}")
        cost.append(
            f"| {row['tool']} | {size} | {runs} | {row['import_s']:.1f} | {load} "
            f"| {row['fit_s']:.2f} | {row['window_s']:.2f} | {row['total_s']:.2f} "
            f"| {row['peak_rss_mb']:,.0f} |"
        )
        flags.append(_flag_row(row["tool"], size, row.get("nodrift"), row.get("drift")))
        if "drift_any_method" in row:
            flags.append(_flag_row(f"{row['tool']}, any method", size,
                                   row.get("nodrift_any_method"), row.get("drift_any_method")))
    return "\n".join(cost) + "\n\n" + "\n".join(flags)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100k,1M", help="rows per window, e.g. 100k,1M")
    parser.add_argument("--repeats", type=int, default=3, help="runs per tool, size and variant")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"subset of {','.join(TOOLS)}")
    parser.add_argument("--single-run-above", type=float, default=60.0, metavar="SECONDS",
                        help="a tool whose first run of a variant takes longer (child wall time) "
                        "is not repeated there; keeps both sizes under 15 min")
    parser.add_argument("--timeout", type=float, default=900.0, help="kill a run after this long")
    parser.add_argument("--max-busy", type=float, default=0.15,
                        help="before each run wait until at most this share of the CPU is busy")
    parser.add_argument("--patience", type=float, default=60.0,
                        help="longest wait for a quiet machine before one run (seconds)")
    parser.add_argument("--patience-total", type=float, default=600.0,
                        help="longest total waiting for a quiet machine (seconds)")
    parser.add_argument("--work-dir", type=Path, help="data and warehouses (default: a temp dir, "
                        "removed at the end)")
    parser.add_argument("--reinstall-peers", action="store_true", help="recreate benchmarks/.venv")
    parser.add_argument("--tag", help="suffix of the results files (results/<date>-<tag>.json), "
                        "e.g. for a second invocation on other sizes the same day")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only print the tables of an earlier results file")
    args = parser.parse_args(argv)
    if args.render:
        print(markdown(json.loads(args.render.read_text())["summary"]))
        return 0

    sizes = [parse_size(s) for s in args.sizes.split(",")]
    tools = [t.strip() for t in args.tools.split(",")]
    unknown = sorted(set(tools) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tools {unknown}; known: {list(TOOLS)}")
    peer_error = None
    if any(t not in PROJECT_VENV_TOOLS for t in tools):
        peer_error = ensure_peer_venv(args.reinstall_peers)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="drift_vs_peers-"))
    work.mkdir(parents=True, exist_ok=True)
    env = child_env(work)
    if any(t in MODELWATCH_TOOLS for t in tools):
        env["PYTHONPATH"] = str(snapshot_modelwatch(work))
    pg_databases: list[str] = []
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y-%m-%d") + (f"-{args.tag}" if args.tag else "")
    report: dict = {"date": stamp, "machine": machine(), "sizes": sizes, "repeats": args.repeats,
                    "single_run_above_s": args.single_run_above, "tools": tools, "drifted": DRIFTED,
                    "workloads": {}, "warehouse_loads": [], "runs": [], "versions": {}}
    truth = set(DRIFTED)
    wait_budget = args.patience_total
    bench_started = time.perf_counter()
    try:
        for n in sizes:
            data_dir = work / f"data_{label(n)}"
            print(f"\n== N = {n:,}: writing the workload to {data_dir}", flush=True)
            report["workloads"][label(n)] = write_workload(data_dir, n)
            dbs: dict[tuple[str, str], str] = {}
            if any(t in WAREHOUSE_TOOLS for t in tools):
                for variant in VARIANTS:
                    duck = work / f"warehouse_{label(n)}_{variant}.duckdb"
                    dbs[("modelwatch", variant)] = f"duckdb:///{duck}"
                    out = work / "load.json"
                    run = run_child([sys.executable, str(Path(__file__).resolve()), "_load",
                                     "--data-dir", str(data_dir), "--variant", variant, "--db",
                                     str(duck), "--out", str(out)],
                                    out, work / "load.log", env, args.timeout)
                    entry = {"tool": "modelwatch", "n": n, "variant": variant, "ok": run.ok,
                             "error": run.error, **(run.result or {})}
                    report["warehouse_loads"].append(entry)
                    print(f"   warehouse load {variant}: "
                          f"{entry.get('load_s', float('nan')):.2f} s (not counted)", flush=True)
                    if "modelwatch-pg" not in tools:
                        continue
                    database = f"drift_bench_{label(n).lower()}_{variant}_{os.getpid()}"
                    pg_databases.append(database)
                    run = run_child([sys.executable, str(Path(__file__).resolve()), "_load_pg",
                                     "--data-dir", str(data_dir), "--db", str(duck),
                                     "--url", PG_ADMIN_URL, "--database", database,
                                     "--out", str(out)], out, work / "load_pg.log", env,
                                    args.timeout)
                    entry = {"tool": "modelwatch-pg", "n": n, "variant": variant, "ok": run.ok,
                             "error": run.error, **(run.result or {})}
                    report["warehouse_loads"].append(entry)
                    if run.ok:
                        dbs[("modelwatch-pg", variant)] = entry["url"]
                    print(f"   PostgreSQL load {variant}: "
                          f"{entry.get('load_s', float('nan')):.2f} s (not counted)"
                          + ("" if run.ok else f" FAILED: {run.error}"), flush=True)
            for tool in tools:
                repeats = args.repeats
                for variant in VARIANTS:
                    r = 0
                    while r < repeats:
                        r += 1
                        base = {"tool": tool, "n": n, "variant": variant, "repeat": r}
                        if tool not in PROJECT_VENV_TOOLS and peer_error:
                            report["runs"].append({**base, "ok": False, "error": peer_error})
                            break
                        out = work / "result.json"
                        log = work / f"{tool}_{label(n)}_{variant}_{r}.log"
                        warehouse = "modelwatch" if tool == "duckdb-floor" else tool
                        if tool in WAREHOUSE_TOOLS and (warehouse, variant) not in dbs:
                            report["runs"].append({**base, "ok": False,
                                                   "error": f"no {tool} warehouse"})
                            break
                        cmd = tool_command(tool, data_dir, variant,
                                           dbs.get((warehouse, variant), ""), out)
                        waited = time.monotonic()
                        busy = wait_until_quiet(args.max_busy, min(args.patience, wait_budget))
                        wait_budget = max(wait_budget - (time.monotonic() - waited), 0.0)
                        run = run_child(cmd, out, log, env, args.timeout)
                        entry = {**base, "ok": run.ok, "wall_s": run.wall_s,
                                 "cpu_busy_before": round(busy, 3),
                                 "max_rss_mb": run.max_rss_mb, "error": run.error}
                        if run.ok:
                            res = run.result
                            res["phases"]["total_s"] = sum(res["phases"].values())
                            report["versions"].setdefault(tool, res["versions"])
                            entry["versions"] = res["versions"]
                            entry |= {k: res[k] for k in res if k not in ("tool", "versions")}
                        report["runs"].append(entry)
                        status = (f"{entry['phases']['total_s']:7.2f} s, "
                                  f"{run.max_rss_mb:6.0f} MB, flagged {len(entry['flagged'])}"
                                  if run.ok else f"FAILED ({run.error.splitlines()[0]})")
                        print(f"   {tool:17s} {variant:8s} run {r}: {status}", flush=True)
                        if not run.ok:
                            break
                        if r == 1 and run.wall_s > args.single_run_above and repeats > 1:
                            print(f"   {tool} took {run.wall_s:.0f} s > {args.single_run_above:.0f}"
                                  f" s: one run per variant at N = {n:,}", flush=True)
                            repeats = 1
                            entry["single_run"] = True
    finally:
        report["benchmark_wall_s"] = time.perf_counter() - bench_started
        report["waited_for_quiet_s"] = args.patience_total - wait_budget
        report["summary"] = summarize([r for r in report["runs"] if "phases" in r or not r["ok"]],
                                      truth)
        for row in report["summary"]:
            loads = [w["load_s"] for w in report["warehouse_loads"]
                     if w.get("tool", "modelwatch") == row["tool"] and w["n"] == row["n"]
                     and w["ok"]]
            if loads:
                row["warehouse_load_s"] = statistics.median(loads)
        table = markdown(report["summary"])
        (RESULTS / f"{stamp}.json").write_text(json.dumps(report, indent=2, default=str))
        (RESULTS / f"{stamp}.md").write_text(table + "\n")
        for database in pg_databases:
            try:
                drop_postgres(PG_ADMIN_URL, database)
            except Exception as exc:  # the report matters more than the cleanup
                print(f"   could not drop {database}: {exc}", flush=True)
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + table)
    print(f"\nbenchmark wall time {report['benchmark_wall_s']:.0f} s (of which "
          f"{report['waited_for_quiet_s']:.0f} s waiting for a quiet CPU); raw numbers in "
          f"{RESULTS / (stamp + '.json')}")
    return 0


def _child_main(argv: list[str]) -> int:
    """Entry points of the modelwatch children (``_load`` and ``_modelwatch``)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["_load", "_load_pg", "_modelwatch", "_floor"])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--url")
    parser.add_argument("--database")
    parser.add_argument("--tool", default="modelwatch")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--variant", choices=VARIANTS)
    args = parser.parse_args(argv)
    if args.mode == "_load":
        result = load_warehouse(args.data_dir, args.variant, args.db)
    elif args.mode == "_load_pg":
        result = load_postgres(args.db, args.url, args.database)
    elif args.mode == "_floor":
        import floors  # benchmarks/floors.py, next to this file

        result = (floors.numpy_floor(args.data_dir, args.variant) if args.tool == "numpy-floor"
                  else floors.duckdb_floor(args.data_dir, args.url, f"{REFERENCE_DAY:%Y-%m-%d}",
                                           f"{CURRENT_DAY:%Y-%m-%d}",
                                           f"{CURRENT_DAY + timedelta(days=1):%Y-%m-%d}"))
    else:
        result = run_modelwatch(args.data_dir, args.url, args.tool)
    from _common import peak_rss_mb  # benchmarks/peers/_common.py, on sys.path (see __main__)

    args.out.write_text(json.dumps({**result, "peak_rss_mb": peak_rss_mb()}, default=str))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):
        sys.path[:0] = [str(PEERS), str(BENCH)]
        sys.exit(_child_main(sys.argv[1:]))
    sys.exit(main())
