"""ruff (with Airflow's AIR3 rules) is part of the test run, so style drift fails CI."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import PROJECT


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    done = subprocess.run([ruff, "check", "plugins", "dags", "tests"], cwd=PROJECT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
