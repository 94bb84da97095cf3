"""The Monitoring UI in a real browser: Airflow's API server with the plugin, Debian's chromium.

Starts ``airflow api-server`` on a free loopback port (SimpleAuthManager with a known password,
SQLite metadata DB), seeds a warehouse, logs in through Airflow's login page, then opens the
overview, the DAG's Monitoring tab and a run's Monitoring tab inside Airflow's own UI and asserts
what is in their frames; an anonymous request to the plugin is refused. Screenshots go to
``test-output/ui/`` (gitignored) so a failing run can be looked at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from modelwatch.demo import scenario
from tests.conftest import PROJECT, in_ci
from tests.integration.airflow_stack import free_port
from tests.ui_seed import ROLLBACK_DAY, seed_ui_warehouse

pytestmark = pytest.mark.airflow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "mw-browser-test"
DAG = "monitor_fraud_demo"
SHOTS = PROJECT / "test-output" / "ui"


def _require_browser() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        message = f"playwright is not installed ({exc}): run `make install`"
    else:
        if Path(CHROMIUM).exists():
            return
        message = "chromium not found: `apt-get install chromium` (.ci/run does it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    _require_browser()
    tmp = tmp_path_factory.mktemp("ui-browser")
    mp = pytest.MonkeyPatch()
    mp.setenv("MODELWATCH_HOME", str(tmp / "home"))
    seeded = seed_ui_warehouse(f"duckdb:///{tmp / 'warehouse.duckdb'}", tmp, mp)
    home = tmp / "airflow"
    home.mkdir()
    (home / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_HOME"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": url,
        "AIRFLOW__API__WORKERS": "1",
        "MODELWATCH_HOME": str(tmp / "home"),
        "MODELWATCH_MONITORS_DIR": str(seeded.monitors_dir),
        "MODELWATCH_WAREHOUSE_URL": seeded.url,
    })

    def airflow(*args: str, timeout: float = 180) -> None:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=env, cwd=home,
                              capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"airflow {args}: {done.stdout[-2000:]}{done.stderr[-3000:]}"

    airflow("db", "migrate")
    airflow("dags", "reserialize")
    run_id = seeded.run_ids[ROLLBACK_DAY]
    airflow("dags", "trigger", DAG, "--run-id", run_id)
    log = open(home / "api-server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "airflow", "api-server"], env=env, cwd=home,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, (home / "api-server.log").read_text()[-4000:]
            try:
                urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2)
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError("api-server did not start:\n"
                                         + (home / "api-server.log").read_text()[-4000:]) from None
                time.sleep(0.5)
        yield url, seeded, run_id
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        mp.undo()


def _status(url: str, headers: dict | None = None) -> int:
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}),
                                      timeout=10).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_plugin_routes_refuse_anonymous_requests(api_server) -> None:
    url, _, run_id = api_server
    for path in ("/modelwatch/", f"/modelwatch/dags/{DAG}", f"/modelwatch/dags/{DAG}/runs/{run_id}",
                 f"/modelwatch/dags/{DAG}/runs/{run_id}/report"):
        assert _status(url + path) in (401, 403), path
    token = _token(url)
    assert _status(f"{url}/modelwatch/dags/{DAG}", {"Authorization": f"Bearer {token}"}) == 200
    assert _status(f"{url}/modelwatch/dags/{DAG}", {"Authorization": "Bearer not-a-token"}) in (401, 403)


def _token(url: str) -> str:
    request = urllib.request.Request(
        f"{url}/auth/token", data=json.dumps({"username": "admin", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    return json.loads(urllib.request.urlopen(request, timeout=10).read())["access_token"]


def test_monitoring_pages_in_the_airflow_ui(api_server) -> None:
    from playwright.sync_api import sync_playwright

    url, seeded, run_id = api_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/auth/login", wait_until="networkidle")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda u: "/auth/login" not in u, timeout=30_000)
            assert any(c["name"] == "_token" for c in page.context.cookies())

            # Overview, from the nav entry's route
            page.goto(f"{url}/plugin/model-monitoring", wait_until="networkidle")
            frame = _plugin_frame(page, "/modelwatch/")
            frame.wait_for_selector("table#models tr[data-dag]")
            assert frame.locator(f'tr[data-dag="{DAG}"] a').first.get_attribute("href").endswith(
                f"/dags/{DAG}")
            page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

            # The DAG's Monitoring tab: the heatmap with the shift from day 20, charts, timeline
            page.goto(f"{url}/dags/{DAG}/plugin/monitoring", wait_until="networkidle")
            frame = _plugin_frame(page, f"/modelwatch/dags/{DAG}")
            frame.wait_for_selector("svg.heatmap rect.cell")
            day20 = scenario.day_of(20).isoformat()
            alerted = frame.locator(f'rect.cell[data-window="{day20}"][data-status="alert"]')
            assert sorted(alerted.evaluate_all("els => els.map(e => e.dataset.feature)")) == sorted(
                scenario.SHIFTED_FEATURES)
            assert frame.locator("circle.mark").count() == 1
            assert frame.locator("svg.line-chart").count() >= 2
            assert frame.locator('svg.timeline .event.registry[data-label^="rollback"]').count() == 1
            frame.locator(f'rect.cell[data-window="{day20}"][data-feature="device_risk"]').click()
            frame.wait_for_selector('#hist .hist[data-feature="device_risk"] rect.bar.current',
                                    state="attached")
            assert frame.locator("#hist rect.bar.reference").count() == frame.locator(
                "#hist rect.bar.current").count() >= 5
            page.screenshot(path=str(SHOTS / "model_tab.png"), full_page=True)

            # A run's Monitoring tab: the checks table, the decision and the report link
            page.goto(f"{url}/dags/{DAG}/runs/{run_id}/plugin/monitoring-run",
                      wait_until="networkidle")
            frame = _plugin_frame(page, f"/modelwatch/dags/{DAG}/runs/")
            frame.wait_for_selector("table#checks tbody tr.check")
            assert frame.locator("table#checks tbody tr.check").count() > 50
            assert frame.locator("#decision").inner_text().startswith("Decision:")
            report_href = frame.locator("#link-report").get_attribute("href")
            frame.locator("table#checks th", has_text="value").click()  # sortable
            page.screenshot(path=str(SHOTS / "run_tab.png"), full_page=True)

            report = page.context.request.get(url + report_href)
            assert report.status == 200 and "svg" in report.text()
        except Exception:
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
            (SHOTS / "failure.html").write_text("\n\n".join(
                f"<!-- {f.url} -->\n{f.content()}" for f in page.frames))
            raise
        finally:
            browser.close()


def _plugin_frame(page, path_part: str):
    """The iframe Airflow renders for an external view, once it has loaded our page."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for frame in page.frames:
            if frame != page.main_frame and urlparse(frame.url).path.startswith(path_part):
                return frame
        page.wait_for_timeout(250)
    raise AssertionError(f"no frame with {path_part}; frames: {[f.url for f in page.frames]}")
