"""The dashboard in headless Chromium (Debian's, driven by Playwright): it renders its charts and tables
for an admin, refuses anyone else, and its CSV export holds the same figures (a screenshot is kept on
failure)."""

from __future__ import annotations

import csv
import io
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from .support import Collector, request

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _events(user: str, language: str, shown: int, accepted: int) -> list[dict[str, Any]]:
    now = int(time.time() * 1000)
    base = {"user": user, "repository": "billing", "language": language, "engine": "embedded", "version": "0.1.0"}
    out: list[dict[str, Any]] = []
    for i in range(shown):
        completion = uuid.uuid4().hex
        out.append({**base, "id": uuid.uuid4().hex, "kind": "suggested", "ts_ms": now - 1000 + i,
                    "timings_ms": {"total": 3.0 + i, "engine": 2.0}})
        out.append({**base, "id": uuid.uuid4().hex, "kind": "shown", "ts_ms": now - 900 + i,
                    "completion_id": completion})
        if i < accepted:
            out.append({**base, "id": uuid.uuid4().hex, "kind": "accepted", "ts_ms": now - 800 + i,
                        "completion_id": completion, "accepted_length": 10, "splice_chars": 10})
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: run scripts/install-collector-deps (CI runs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_dashboard_renders_charts_and_tables_for_admins(collector: Collector, browser: Browser,
                                                            tmp_path: Path) -> None:
    batch = _events("ana", "python", shown=40, accepted=12) + _events("ben", "go", shown=5, accepted=4)
    status, reply = request(collector.url + "/v1/events", collector.ingest_token, "POST", {"events": batch})
    assert status == 200, reply
    page = browser.new_page(extra_http_headers={"Authorization": f"Bearer {collector.admin_token}"})
    try:
        response = page.goto(collector.url + "/dashboard?days=7")
        assert response is not None and response.status == 200
        assert page.locator("svg.chart").count() >= 6  # over time, and one per grouping
        assert page.locator("svg.chart rect").count() >= 2  # a bar per language at least
        language = page.locator("#table-language")
        assert "python" in language.inner_text() and "go" in language.inner_text()
        python_row = language.locator("tr", has_text="python").inner_text()
        assert "30.0% (n=40)" in python_row and "too few" not in python_row
        go_row = language.locator("tr", has_text="go").inner_text()
        assert "80.0% (n=5) (too few to trust)" in go_row
        assert page.locator("#table-latency tr").count() >= 3
        with page.expect_download() as download:
            page.locator("#table-language + a").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert {r["key"]: float(r["acceptance_rate"]) for r in rows} == {"go": 0.8, "python": 0.3}
    except BaseException:
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
        raise
    finally:
        page.close()


def test_the_dashboard_is_for_admins_only(collector: Collector, browser: Browser) -> None:
    page = browser.new_page()
    try:
        response = page.goto(collector.url + "/dashboard")
        assert response is not None and response.status == 401
        wrong = browser.new_page(extra_http_headers={"Authorization": f"Bearer {collector.ingest_token}"})
        assert (wrong.goto(collector.url + "/dashboard") or pytest.fail("no response")).status == 401
        wrong.close()
        # The login form sets the cookie a browser needs.
        page.goto(collector.url + "/login")
        page.fill("input[name=token]", collector.admin_token)
        page.click("button")
        page.wait_for_url("**/dashboard")
        assert page.locator("h1").inner_text().startswith("Splice adoption")
    finally:
        page.close()
