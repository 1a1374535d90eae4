"""A real browser (Debian's chromium, driven by Selenium through chromedriver) against the
services running as processes, with a fresh topic pair, group and the test database."""

import contextlib
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service as DriverService

from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics
from tests.processes import Service
from tests.support import BOOTSTRAP, unique

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
# Committed screenshots (docs/console/) are refreshed only when asked, so that a test run
# leaves the working tree clean; otherwise they land next to the test logs.
SHOTS = ROOT / "docs" / "console" if os.environ.get("UPDATE_SCREENSHOTS") else \
    ROOT / ".local" / "test-logs" / "screenshots"


@dataclass
class Stack:
    api: Service
    consumer: Service
    topic: str
    dlq: str
    group: str
    database_url: str


def missing_browser() -> str | None:
    """Why these tests cannot run here, or None when they can."""
    missing = [name for name, path in (("chromium", CHROMIUM), ("chromedriver", CHROMEDRIVER))
               if not path]
    if not missing:
        return None
    return (f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver "
            "(`make browser` as root, or apt-get install chromium chromium-driver), or set "
            "CHROMIUM and CHROMEDRIVER to the binaries")


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture: no services are started for a test that cannot run.
    reason = missing_browser()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    assert CHROMIUM and CHROMEDRIVER  # pytest_runtest_setup skipped the tests otherwise
    profile = tempfile.mkdtemp(prefix="paystream-chromium-")
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1280,1000",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=DriverService(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


@contextlib.asynccontextmanager
async def running_stack(database_url: str, **consumer_env: str) -> AsyncIterator[Stack]:
    topic = unique("console.transactions")
    dlq, group = f"{topic}.dlq", unique("console-group")
    settings = KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP)
    await ensure_topics(settings, [topic, dlq], 3)
    common = {"DATABASE_URL": database_url, "KAFKA_TOPIC": topic, "LOG_LEVEL": "WARNING"}
    api = Service("transaction-api", common).start()
    consumer = Service("notification-consumer", {
        **common, "KAFKA_DLQ_TOPIC": dlq, "KAFKA_GROUP_ID": group, "API_URL": api.url,
        "CONSOLE_SAMPLE_INTERVAL_S": "0.5", "LAG_SAMPLE_INTERVAL_S": "1",
        "BATCH_WAIT_MS": "50", **consumer_env}).start()
    try:
        await api.ready()
        await consumer.ready()
        yield Stack(api, consumer, topic, dlq, group, database_url)
    finally:
        await consumer.terminate()
        await api.terminate()
        with contextlib.suppress(Exception):
            await delete_topics(settings, [topic, dlq])


@pytest.fixture(scope="module")
async def stack(database_url: str) -> AsyncIterator[Stack]:
    async with running_stack(database_url) as running:
        yield running
