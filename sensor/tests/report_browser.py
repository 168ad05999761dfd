#!/usr/bin/env python3
"""Opens an OT Witness report in headless Debian Chromium and prints what it finds, as JSON.

Usage: report_browser.py REPORT.html SCREENSHOT.png

It loads the page from file://, collects the browser console (any message of level SEVERE is an
error), reads every chart's bars (series and data-count), clicks the "frame" header of the
writes-needing-attention table twice and records the column before and after, reads the
summary cards, checks that no script injected from the evidence ran, and writes a full-page
screenshot. It asserts nothing itself: the Rust test compares the figures with ground truth.
"""

import json
import shutil
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def driver(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--user-data-dir=" + profile,
        "--window-size=1400,1000",
    ]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def column(browser, table_id, index):
    return browser.execute_script(
        """
        const rows = document.getElementById(arguments[0]).tBodies[0].rows;
        return Array.from(rows).map(r => r.cells[arguments[1]].textContent.trim());
        """,
        table_id,
        index,
    )


def main():
    page, screenshot = sys.argv[1], sys.argv[2]
    profile = tempfile.mkdtemp(prefix="otw-chromium-")
    browser = driver(profile)
    try:
        browser.get("file://" + page)
        result = {"title": browser.title}

        result["charts"] = browser.execute_script(
            """
            const out = {};
            for (const svg of document.querySelectorAll('figure.chart svg')) {
              const series = {};
              for (const bar of svg.querySelectorAll('rect.bar')) {
                const name = bar.getAttribute('data-series');
                series[name] = (series[name] || 0) + Number(bar.getAttribute('data-count'));
                if (bar.getBBox().height <= 0 || bar.getBBox().width <= 0) {
                  series['!empty-bar'] = (series['!empty-bar'] || 0) + 1;
                }
              }
              out[svg.id] = series;
            }
            return out;
            """
        )
        result["cards"] = browser.execute_script(
            """
            const out = {};
            for (const card of document.querySelectorAll('section .card')) {
              const section = card.closest('section').id;
              const key = card.querySelector('.k').textContent;
              out[section + '/' + key] = card.querySelector('.v').textContent;
            }
            return out;
            """
        )
        result["verdict"] = browser.find_element(By.ID, "verdict").text
        result["attention_rows"] = len(column(browser, "attention-table", 0))
        result["input_hashes"] = column(browser, "inputs", 1)

        # Sort the writes needing attention by frame: click once (ascending), then again.
        headers = browser.find_elements(By.CSS_SELECTOR, "#attention-table thead th")
        frame_index = [h.text.strip() for h in headers].index("frame")
        result["frames_before"] = column(browser, "attention-table", frame_index)
        headers[frame_index].click()
        result["frames_ascending"] = column(browser, "attention-table", frame_index)
        headers[frame_index].click()
        result["frames_descending"] = column(browser, "attention-table", frame_index)
        result["aria_sort"] = headers[frame_index].get_attribute("aria-sort")

        # Filtering hides rows that do not match.
        box = browser.find_element(By.CSS_SELECTOR, "input.filter[data-table=attention-table]")
        box.send_keys("unattributed")
        result["filtered_visible"] = browser.execute_script(
            """
            return Array.from(document.getElementById('attention-table').tBodies[0].rows)
              .filter(r => !r.hidden).length;
            """
        )

        result["injected"] = browser.execute_script(
            "return [window.__otw_pwned === true,"
            " document.querySelectorAll('img[src=x], script:not(:last-of-type)').length];"
        )
        result["console"] = [
            {"level": e["level"], "message": e["message"]} for e in browser.get_log("browser")
        ]

        height = browser.execute_script("return document.documentElement.scrollHeight")
        browser.set_window_size(1400, min(max(int(height), 1000), 16000))
        browser.save_screenshot(screenshot)
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
