"""report.html of the demo run in a real headless Chromium (Debian's chromium + chromedriver,
driven by Selenium): every section and its plots render, the console stays clean, and
HTML inside a rejected document is shown as text, never run.

Skipped, with the reason, when no Chromium/chromedriver is installed (`make browser`
installs them on Debian as root; CI does)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from curator.report import SECTIONS, write_report

BROWSERS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVERS = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
HOSTILE_TEXT = ('<script>document.title="pwned";window.__pwned=1</script>'
                '<img src=x onerror="window.__pwned=2"><b>not bold</b>')


def _find(candidates: tuple[str, ...], name: str) -> str | None:
    return next((p for p in candidates if os.access(p, os.X_OK)), None) or shutil.which(name)


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[test]')")
    binary, driver_path = _find(BROWSERS, "chromium"), _find(DRIVERS, "chromedriver")
    if not binary or not driver_path:
        pytest.skip("no headless Chromium: install Debian's chromium and chromium-driver (`make browser` as root)")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,2400", "--no-first-run"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def console_errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def open_all_details(driver) -> None:
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")


def test_demo_report_renders_every_section_and_plot(demo_run, browser, tmp_path):
    from selenium.webdriver.common.by import By

    m, _, _ = demo_run
    report = m.run_dir / "report.html"
    browser.get(report.as_uri())
    assert browser.title == f"curator report: {m.run}"
    for key, title in SECTIONS.items():
        section = browser.find_element(By.ID, key)
        assert section.is_displayed(), key
        assert section.find_element(By.TAG_NAME, "h2").text == title
        assert section.size["height"] > 40, key
    # plots: SVGs laid out with a real size, bars with a real height, threshold lines drawn
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('svg.plot')].map(s => {const r = s.getBoundingClientRect();"
        " return [s.closest('section').id, r.width, r.height,"
        " [...s.querySelectorAll('rect.bar')].filter(b => b.getBBox().height > 0).length,"
        " s.querySelectorAll('line.threshold').length]})")
    by_section = {}
    for section, w, h, bars, lines in sizes:
        assert w > 100 and h > 100
        by_section.setdefault(section, []).append((bars, lines))
    assert {"funnel", "scores", "languages", "dedup", "mixture"} <= set(by_section)
    assert all(bars > 0 for plots in by_section.values() for bars, _ in plots)
    assert all(lines >= 1 for _, lines in by_section["scores"])  # every demo score has a threshold
    shards = browser.find_element(By.ID, "shards").text
    assert "512" in shards and "2,048" in shards
    open_all_details(browser)
    rejected = browser.find_element(By.ID, "rejected").text
    assert "gopher_quality.word_count" in rejected and "gopher_words = " in rejected
    assert console_errors(browser) == []
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    keep = os.environ.get("CURATOR_SCREENSHOT_DIR")
    if keep:  # to look at it
        shutil.copy(shot, Path(keep) / "report.png")


def test_html_in_a_rejected_document_is_shown_not_run(demo_run, browser, tmp_path):
    from selenium.webdriver.common.by import By

    m, _, _ = demo_run
    run = tmp_path / m.run
    shutil.copytree(m.run_dir, run, ignore=shutil.ignore_patterns("*.bin", "*.idx"))
    sample = run / "rejected" / "gopher_quality.word_count.jsonl"
    docs = [json.loads(line) for line in sample.read_text().splitlines()]
    docs[0]["text"] = HOSTILE_TEXT + "\n" + docs[0]["text"]
    docs[0]["url"] = 'https://x.example/"><script>window.__pwned=3</script>'
    sample.write_text("".join(json.dumps(d) + "\n" for d in docs))
    report = write_report(run)

    browser.get(report.as_uri())
    open_all_details(browser)
    assert browser.title == f"curator report: {m.run}"
    assert browser.execute_script("return typeof window.__pwned") == "undefined"
    assert browser.execute_script("return document.scripts.length") == 0
    assert browser.execute_script("return document.querySelectorAll('img').length") == 0
    assert browser.execute_script(
        "return [...document.querySelectorAll('b')].filter(b => b.textContent === 'not bold').length") == 0
    texts = [p.text for p in browser.find_elements(By.CSS_SELECTOR, "#rejected pre.text")]
    assert any(HOSTILE_TEXT in t for t in texts)  # shown, as the characters it is made of
    assert '<script>window.__pwned=3</script>' in browser.find_element(By.ID, "rejected").text
    assert console_errors(browser) == []
    browser.save_screenshot(str(tmp_path / "rejected.png"))
    keep = os.environ.get("CURATOR_SCREENSHOT_DIR")
    if keep:
        browser.execute_script("document.querySelector(\"details[data-reason='gopher_quality.word_count']\").scrollIntoView()")
        browser.save_screenshot(str(Path(keep) / "rejected.png"))
