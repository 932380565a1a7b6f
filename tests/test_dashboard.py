"""The dashboard in headless Chromium (Debian ``chromium`` + ``chromium-driver``, driven by selenium)
against a service fed by a replay: the incident appears, charts are drawn, new data shows up live.

A screenshot is kept in ``tests/artifacts/dashboard.png``. Without the browser the test is skipped
on a developer machine and fails in CI (``CI`` set), where it must run.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from service.api.embed import ServiceThread
from service.app import Service
from service.clock import SimulatedClock
from service.config import load_config
from service.domain import Mention
from service.replay import replay
from tests.test_api import START, TOKEN, synthetic_mentions, write_config

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
PAGE_TIMEOUT = 20


def _browser() -> object:
    if CHROMIUM is None or DRIVER is None:
        message = "headless Chromium needed: apt-get install chromium chromium-driver"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1800", "--disable-extensions", "--no-first-run"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=DriverService(executable_path=DRIVER))
    driver.set_page_load_timeout(PAGE_TIMEOUT)
    driver.set_script_timeout(PAGE_TIMEOUT)
    return driver


@pytest.fixture
def fed_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceThread]:
    for name in ("CRISISWATCH_INGEST_TOKEN", "CRISISWATCH_STORE", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    clock = SimulatedClock(START)
    service = Service(load_config(write_config(tmp_path)), clock=clock, notifiers={})
    # the replay runs through the service itself (ingest + ticks), stopping while the incident is open
    result = replay(synthetic_mentions(), service, clock, step=timedelta(minutes=5),  # type: ignore[arg-type]
                    tail=timedelta(minutes=20))
    assert result.alerts and service.store.open_incident("acme") is not None
    with ServiceThread(service) as thread:
        yield thread


@pytest.mark.timeout(180)
def test_dashboard_shows_the_incident_and_refreshes_live(fed_service: ServiceThread) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url = fed_service.url
    incident = httpx.get(f"{url}/api/incidents?state=open").json()[0]
    driver = _browser()
    try:
        driver.get(f"{url}/?refresh=1")  # type: ignore[attr-defined]
        wait = WebDriverWait(driver, PAGE_TIMEOUT)
        card = wait.until(ec.visibility_of_element_located(
            (By.CSS_SELECTOR, f'#open-incidents [data-incident-id="{incident["id"]}"]')))
        assert "acme" in card.text and incident["severity"] in card.text.lower()
        assert "firing" in card.find_element(By.CSS_SELECTOR, "ol.timeline").text
        brand = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '#brands [data-brand="acme"]')))
        assert len(brand.find_elements(By.CSS_SELECTOR, "svg.volume rect")) > 50  # one bar per 5-minute bucket
        assert brand.find_elements(By.CSS_SELECTOR, "svg.volume polygon.band"), "baseline band drawn"
        assert brand.find_elements(By.CSS_SELECTOR, f'svg.volume line.marker[data-incident-id="{incident["id"]}"]')
        assert driver.find_elements(By.CSS_SELECTOR,  # type: ignore[attr-defined]
                                    f'#recent-incidents tr[data-incident-id="{incident["id"]}"]')
        # live: a mention of a new brand pushed through the API appears without reloading the page
        mention = Mention(id="live-1", published_at=START + timedelta(hours=7), text="Globex news", brand="globex")
        pushed = httpx.post(f"{url}/v1/mentions", content=json.dumps([mention.to_record()]),
                            headers={"Authorization": f"Bearer {TOKEN}"})
        assert pushed.status_code == 202, pushed.text
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, '#brands [data-brand="globex"]')))
        driver.find_element(By.CSS_SELECTOR, '.range button[data-range="7d"]').click()  # type: ignore[attr-defined]
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#brands [data-brand="acme"] svg.volume rect'))
                   in range(1, 60))  # hourly bars over 7 days
        status = driver.find_element(By.ID, "status")  # type: ignore[attr-defined]
        assert status.get_attribute("data-state") == "ok", status.text
        ARTIFACTS.mkdir(exist_ok=True)
        driver.find_element(By.CSS_SELECTOR, '.range button[data-range="24h"]').click()  # type: ignore[attr-defined]
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, '#brands [data-brand="acme"] svg.volume rect'))
                   > 50)
        assert driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))  # type: ignore[attr-defined]
    finally:
        driver.quit()  # type: ignore[attr-defined]


def test_series_points_band_and_hourly_aggregation() -> None:
    from service.api.dashboard import series_points
    from service.domain import Bucket

    five = timedelta(minutes=5)
    buckets = [Bucket(brand="acme", start=START + i * five, count=10 + i, negative=i) for i in range(24)]
    points = series_points(buckets, start=START - timedelta(hours=1), end=START + timedelta(hours=2),
                           step=timedelta(hours=1), bucket=five, expected=lambda at: 10.0, dispersion=0.1)
    assert [p["count"] for p in points] == [0, sum(range(10, 22)), sum(range(22, 34))]
    assert "expected" not in points[0], "no band before the brand's first bucket"
    assert points[0]["negative_share"] is None
    assert points[1]["negative_share"] == round(sum(range(12)) / sum(range(10, 22)), 4)
    sd = (12 * (10 + 0.1 * 100)) ** 0.5  # twelve 5-minute buckets, negative-binomial variance each
    assert points[1]["expected"] == 120.0
    assert points[1]["low"] == round(120 - 2 * sd, 3) and points[1]["high"] == round(120 + 2 * sd, 3)
