"""The alerting core stays free of Airflow, and of slack-sdk until a message is sent."""

from __future__ import annotations

import subprocess
import sys

from modelwatch.alerting.families import FAMILIES
from modelwatch.paths import runbooks_dir


def test_alerting_imports_neither_airflow_nor_slack_sdk() -> None:
    code = (
        "import sys\n"
        "import modelwatch.alerting, modelwatch.alerting.commands, modelwatch.alerts\n"
        "from modelwatch.alerting.slack import SlackHook\n"
        "SlackHook(token='x')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'slack_sdk'))\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_named_runbook_exists() -> None:
    named = {f.runbook for f in FAMILIES.values() if f.runbook}
    missing = sorted(n for n in named if not (runbooks_dir() / n).is_file())
    assert not missing, f"families name runbooks that are not in include/runbooks: {missing}"
