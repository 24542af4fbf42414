"""Take the README's and docs/site.md's screenshot (``docs/img/site.png``) of a published site page.

Headless Debian Chromium driven by Selenium (``apt-get install chromium chromium-driver``;
``pip install selenium``, in the ``dev`` extra), the page opened from disk as a reader of a clone would.

Usage: python scripts/screenshot_site.py [--page leaderboards/site/digits.html] [-o docs/img/site.png]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def screenshot(page: Path, out: Path, width: int = 1700, height: int = 1000) -> Path:
    """Open ``page`` in headless Chromium at ``width`` × ``height`` and save what the window shows to ``out``."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        sys.exit("no Chromium: install it with `apt-get install chromium chromium-driver`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS + (f"--window-size={width},{height}",):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get(page.resolve().as_uri())
        driver.execute_script("return document.readyState")
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--page", type=Path, default=ROOT / "leaderboards" / "site" / "digits.html")
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "img" / "site.png")
    args = parser.parse_args()
    if not args.page.exists():
        sys.exit(f"{args.page} does not exist: run scripts/publish_leaderboards.py first")
    print(f"wrote {screenshot(args.page, args.out)}")


if __name__ == "__main__":
    main()
