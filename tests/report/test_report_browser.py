"""The HTML report rendered by a real browser: Debian's Chromium, headless, driven by Selenium.

Skipped when ``/usr/bin/chromium`` or ``/usr/bin/chromedriver`` is missing, unless ``BONDPREMIA_REQUIRE_BROWSER=1``
(set by ``.ci/run``), which turns the skip into a failure. The driver path is given explicitly, so Selenium Manager
never downloads a browser or a driver.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bondpremia.report import REPORT_SECTIONS, write_report
from bondpremia.report.html import KNOWN_FILES

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH = 1280

EXPECTED_TITLES = {
    "trace-audit": "TRACE cleaning audit",
    "bond-returns": "Bond returns",
    "coverage": "Characteristic coverage",
    "ipca": "IPCA",
    "sorts": "Portfolio sorts",
    "treasury": "Treasury risk premia",
    "strategy": "Strategy",
}


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the Python package selenium (pip install -e '.[dev]')")
    if not missing:
        return
    message = f"headless browser test needs {', '.join(missing)}: apt-get install chromium chromium-driver"
    if os.environ.get("BONDPREMIA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"BONDPREMIA_REQUIRE_BROWSER=1 but {message}", pytrace=False)
    pytest.skip(message)


def _decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def _assert_not_blank(image: np.ndarray, what: str) -> None:
    """A screenshot shows something: more than 1% non-white pixels and more than a handful of distinct colours."""
    assert image.size, f"{what}: empty screenshot"
    ink = (image < 245).any(axis=2).mean()
    packed = (image[..., 0].astype(np.uint32) << 16) | (image[..., 1].astype(np.uint32) << 8) | image[..., 2]
    colours = len(np.unique(packed))
    assert ink > 0.01, f"{what}: only {ink:.2%} non-white pixels"
    assert colours > 8, f"{what}: only {colours} distinct colours"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, run_builder: Callable[[Path], Path]) -> Iterator[dict[str, Any]]:
    """The report of a run directory with every file type, opened in headless Chromium at 1280 px width."""
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    tmp = tmp_path_factory.mktemp("browser")
    run = run_builder(tmp / "run")
    for pattern in KNOWN_FILES:
        assert list(run.rglob(pattern)), f"the test run directory lacks {pattern}"
    assert list(run.rglob("sort_returns_*.csv"))
    report = write_report(run, tmp / "report.html")

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},1000",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(report.as_uri())
        yield {"driver": driver, "run": run, "html": report.read_text(encoding="utf-8"), "dir": tmp}
    finally:
        driver.quit()


def test_title_and_headings(page: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    driver = page["driver"]
    assert tuple(EXPECTED_TITLES) == REPORT_SECTIONS
    assert driver.title == f"bondpremia research report: {page['run'].name}"
    for sid, title in EXPECTED_TITLES.items():
        heading = driver.find_element(By.CSS_SELECTOR, f"h2#{sid}")
        assert heading.is_displayed(), sid
        assert heading.text == title
        link = driver.find_element(By.CSS_SELECTOR, f'nav.toc a[href="#{sid}"]')
        assert link.text == title
    sections = driver.find_elements(By.CSS_SELECTOR, "section.report-section")
    assert [s.find_element(By.TAG_NAME, "h2").get_attribute("id") for s in sections] == list(REPORT_SECTIONS)


def test_images_decoded(page: dict[str, Any]) -> None:
    images = page["driver"].execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight, "
        "i.getBoundingClientRect().width]);")
    assert len(images) == page["html"].count("<img ") > 0
    for alt, complete, natural_w, natural_h, shown_w in images:
        assert complete and natural_w > 0 and natural_h > 0, f"image {alt!r} did not decode"
        assert shown_w > 0, f"image {alt!r} not laid out"


def test_screenshots(page: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    driver, out = page["driver"], page["dir"]
    height = driver.execute_script(
        "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);")
    driver.set_window_size(WIDTH, height + 200)
    full = out / "report.png"
    assert driver.save_screenshot(str(full))
    page_image = _decode(full.read_bytes())
    assert page_image.shape[0] >= height, "the full-page screenshot does not cover the page"
    _assert_not_blank(page_image, "full page")

    sections = driver.find_elements(By.CSS_SELECTOR, "section.report-section")
    assert len(sections) == len(REPORT_SECTIONS)
    for section in sections:
        sid = section.find_element(By.TAG_NAME, "h2").get_attribute("id")
        rect = section.rect
        assert rect["width"] > 0 and rect["height"] > 0, f"section {sid} has no rendered size"
        png = section.screenshot_as_png
        (out / f"section-{sid}.png").write_bytes(png)
        image = _decode(png)
        _assert_not_blank(image, f"section {sid}")
        h, w = image.shape[:2]
        assert abs(w - rect["width"]) <= 2 and abs(h - rect["height"]) <= 2, (sid, (w, h), rect)
        # the same region of the full-page screenshot shows the section too
        top, left = int(rect["y"]), int(rect["x"])
        crop = page_image[top: top + int(rect["height"]), left: left + int(rect["width"])]
        _assert_not_blank(crop, f"section {sid} in the full-page screenshot")
