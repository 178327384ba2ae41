"""The report in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``, installed by
``make system-deps``) opens index.html offline; every required figure must be an image that decoded
(``naturalWidth > 0``), the console must stay free of errors, and a full-page screenshot is saved.

Selenium gets the driver's path explicitly, so Selenium Manager never tries to download a browser or a driver.
The screenshot goes to the test's tmp_path, and also to ``$SEQARENA_ARTIFACTS`` when that is set (CI artifacts).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from seqarena.report import FIGURE_IDS

CHROMEDRIVER = Path("/usr/bin/chromedriver")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


pytestmark = pytest.mark.skipif(
    _chromium() is None or not CHROMEDRIVER.exists(),
    reason="headless Chromium is missing: install the Debian packages chromium and chromium-driver "
           "(`make system-deps` does it as root)",
)


@pytest.fixture(scope="module")
def driver():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[test])")
    options = webdriver.ChromeOptions()
    options.binary_location = _chromium()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    d = webdriver.Chrome(service=service, options=options)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def test_report_opens_offline_with_every_figure_decoded(driver, built, tmp_path):
    from selenium.webdriver.common.by import By

    driver.get(built.index.resolve().as_uri())
    assert driver.title == "seqarena report"
    for fid in FIGURE_IDS:
        img = driver.find_element(By.ID, fid)
        assert img.tag_name == "img", fid
        width = driver.execute_script("return arguments[0].complete ? arguments[0].naturalWidth : 0;", img)
        assert width > 0, f"figure {fid} did not decode"
    # each claim row links to an evidence section that exists
    links = driver.find_elements(By.CSS_SELECTOR, "table.claims a[href^='#evidence-']")
    assert links
    for a in links:
        assert driver.find_elements(By.ID, a.get_attribute("href").split("#", 1)[1])
    severe = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    assert severe == [], severe

    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 100, 16000))
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("SEQARENA_ARTIFACTS"):
        target = Path(os.environ["SEQARENA_ARTIFACTS"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, target / "report-screenshot.png")
