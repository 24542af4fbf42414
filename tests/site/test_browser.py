"""The site in a real browser: headless Chromium (Debian's ``chromium`` + ``chromium-driver``, driven by Selenium)
against a site generated from a tiny run and served from 127.0.0.1. Skipped, with the reason, only where no
Chromium is installed (``.ci/run`` installs it)."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from runs import HOSTILE, full_grid, hostile_run  # type: ignore[import-not-found]

from mmbench.leaderboard.board import build
from mmbench.leaderboard.report.html_site import write_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[dev]')")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("no Chromium: install Debian's chromium and chromium-driver (.ci/run does)", allow_module_level=True)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site of a toy run and of a run with hostile component names, served on 127.0.0.1."""
    root = tmp_path_factory.mktemp("site")
    write_site([build(full_grid(root / "runs" / "toy"))], root / "site")
    write_site([build(hostile_run(root / "runs" / "hostile"))], root / "site" / "hostile")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Quiet, directory=str(root / "site")))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.add_argument("--window-size=1400,1000")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def open_page(driver: Any, url: str) -> None:
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get_log("performance")
    driver.get(url)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def rows(driver: Any, table: str = "configs") -> list[Any]:
    return [r for r in driver.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr") if r.is_displayed()]


def column(driver: Any, header: str) -> int:
    heads = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "#configs thead th")]
    return next(i for i, h in enumerate(heads) if h.startswith(header))


def test_rows_render_and_a_header_click_sorts(driver: Any, server: str) -> None:
    open_page(driver, server + "toy.html")
    assert len(rows(driver)) == 13
    i = column(driver, "Δm%")
    header = driver.find_elements(By.CSS_SELECTOR, "#configs thead th")[i]

    def values() -> list[float | None]:
        out = [r.find_elements(By.TAG_NAME, "td")[i].get_attribute("data-v") for r in rows(driver)]
        return [float(v) if v else None for v in out]

    header.click()
    up = values()
    numbers = [v for v in up if v is not None]
    assert len(numbers) == 6 and numbers == sorted(numbers) and up[:6] == numbers  # missing values last
    header.click()
    down = [v for v in values() if v is not None]
    assert down == sorted(numbers, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"


def test_filters_hide_rows_and_the_split_toggle_switches_scores(driver: Any, server: str) -> None:
    open_page(driver, server + "toy.html")
    Select(driver.find_element(By.CSS_SELECTOR, '.controls[data-for="configs"] select[data-filter="family"]')
           ).select_by_value("mt-cm")
    shown = rows(driver)
    assert len(shown) == 3 and {r.get_attribute("data-family") for r in shown} == {"mt-cm"}
    box = driver.find_element(By.CSS_SELECTOR, '.controls[data-for="configs"] input[data-filter="component"]')
    box.send_keys("uw")
    assert [r.get_attribute("data-family") for r in rows(driver)] == ["mt-cm"]
    assert "1 of 13 rows" in driver.find_element(By.CSS_SELECTOR, '.controls[data-for="configs"] .count').text
    cell = rows(driver)[0].find_element(By.CSS_SELECTOR, "td.num[data-test]")
    assert cell.find_element(By.CLASS_NAME, "s-test").is_displayed()
    driver.find_element(By.CSS_SELECTOR, 'input[name="split"][value="val"]').click()
    assert cell.find_element(By.CLASS_NAME, "s-val").is_displayed()
    assert not cell.find_element(By.CLASS_NAME, "s-test").is_displayed()


def test_plots_render_with_their_points(driver: Any, server: str) -> None:
    open_page(driver, server + "toy.html")
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plot-tradeoff .scatterlayer .point"))
    points = driver.find_elements(By.CSS_SELECTOR, "#plot-tradeoff .scatterlayer .point")
    assert len(points) >= 6 + 3  # six multitask configurations, three baselines (and the front)
    assert driver.execute_script("return document.getElementById('plot-delta').data[0].x.length") == 6
    assert driver.find_elements(By.CSS_SELECTOR, "#plot-profiles .scatterlayer .trace")


def test_the_index_filters_by_dataset(driver: Any, server: str) -> None:
    open_page(driver, server + "index.html")
    assert len(rows(driver, "all")) == 13
    Select(driver.find_element(By.CSS_SELECTOR, 'select[data-filter="dataset"]')).select_by_value("toy")
    assert len(rows(driver, "all")) == 13
    driver.find_element(By.LINK_TEXT, "toy").click()
    WebDriverWait(driver, 30).until(lambda d: d.current_url.endswith("toy.html"))


def test_no_console_errors_and_no_requests_off_the_site(driver: Any, server: str) -> None:
    for page in ("index.html", "toy.html", "hostile/toy.html"):
        open_page(driver, server + page)
        WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".plotly-graph-div, #all"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        urls = [json.loads(e["message"])["message"]["params"]["request"]["url"]
                for e in driver.get_log("performance")
                if json.loads(e["message"])["message"]["method"] == "Network.requestWillBeSent"]
        assert urls and server + page in urls
        # the site's own files; data: URLs and the browser's own chrome:// pages are no network requests
        assert not [u for u in urls if not u.startswith((server, "data:", "chrome:"))], urls


def test_hostile_names_render_as_text(driver: Any, server: str) -> None:
    open_page(driver, server + "hostile/toy.html")
    assert driver.execute_script("return window.pwned === undefined")
    assert HOSTILE in driver.find_element(By.ID, "configs").text
    assert HOSTILE in driver.find_element(By.ID, "failed").text
