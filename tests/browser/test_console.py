"""The operator console in a real browser: the overview follows lag live, a payment's lineage
matches Kafka, a dead letter is replayed once with an audit row, and keys keep data hidden."""

from collections.abc import Callable
from typing import Any, TypeVar

import asyncpg
import httpx
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser.conftest import Stack, running_stack, screenshot
from tests.support import payment, producer, read_topic, unique, wait_until

S = "notification_consumer"
T = TypeVar("T")


def until(driver: webdriver.Chrome, check: Callable[[webdriver.Chrome], T | None],
          timeout: float = 30, what: str = "page state") -> T:
    # The live block is replaced on every sample: an element found a moment ago may be gone.
    result = WebDriverWait(driver, timeout, poll_frequency=0.2,
                           ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: check(d), message=f"timed out waiting for {what}")
    assert result is not None
    return result


def text_of(driver: webdriver.Chrome, element_id: str) -> str:
    return str(driver.find_element(By.ID, element_id).text)


async def db(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("+asyncpg", ""))


async def processed(stack: Stack, event_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        async with httpx.AsyncClient(base_url=stack.consumer.url, timeout=5) as c:
            r = await c.get(f"/events/{event_id}")
        body: dict[str, Any] = r.json()
        return body if r.status_code == 200 else None

    return await wait_until(check, 30, interval=0.2, what=f"event {event_id} processed")


async def test_overview_lag_rises_while_commits_are_held_and_returns_to_zero(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    browser.get(f"{stack.consumer.url}/console/")
    until(browser, lambda d: text_of(d, "total-lag") == "0", what="an initial lag of 0")
    page = browser.find_element(By.ID, "live")  # the same element throughout: no reload
    conn = await db(stack.database_url)
    try:
        # Holding the offsets table makes every batch wait before it commits: events keep
        # arriving, nothing is committed, so lag must rise on the page (live, over SSE).
        tx = conn.transaction()
        await tx.start()
        await conn.execute(f"LOCK TABLE {S}.consumer_offsets IN EXCLUSIVE MODE")
        async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as api:
            for _ in range(20):
                assert (await api.post("/payments", json=payment())).status_code == 202
        until(browser, lambda d: int(text_of(d, "total-lag")) >= 20, what="lag >= 20")
        assert browser.find_element(By.ID, "live") == page
        screenshot(browser, "overview-lag")
        await tx.commit()
    finally:
        await conn.close()
    until(browser, lambda d: text_of(d, "total-lag") == "0", what="lag back to 0")
    lags = until(browser, lambda d: [e.text for e in d.find_elements(
        By.CSS_SELECTOR, "#partitions td.lag")], what="partition rows")
    assert set(lags) == {"0"}
    assert browser.find_element(By.ID, "live") == page
    until(browser, lambda d: text_of(d, "ready-consumer") == "consumer ready")
    until(browser, lambda d: text_of(d, "ready-api") == "API ready")
    screenshot(browser, "overview")


async def test_lineage_of_a_posted_payment_shows_every_step_where_kafka_has_it(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    key = unique("order")
    async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as api:
        accepted = (await api.post("/payments", json=payment(amount="9.99"),
                                   headers={"Idempotency-Key": key})).json()
    event_id = accepted["event_id"]
    await processed(stack, event_id)
    browser.get(f"{stack.consumer.url}/console/payments")
    browser.find_element(By.NAME, "idempotency_key").send_keys(key)
    browser.find_element(By.NAME, "idempotency_key").submit()
    until(browser, lambda d: event_id in d.find_element(By.TAG_NAME, "h1").text,
          what="the search to show the lineage")
    assert key not in browser.current_url  # a POST: nothing typed lands in the URL
    steps = {li.get_attribute("data-step"): li.get_attribute("class")
             for li in browser.find_elements(By.CSS_SELECTOR, "#lineage li")}
    assert set(steps) == {"received", "recorded", "published", "consumed", "notification"}
    assert set(steps.values()) == {"done"}
    assert len(browser.find_elements(By.CSS_SELECTOR, "#lineage li[data-step=notification]")) == 2
    records = [r for r in await read_topic(stack.topic, 10_000, timeout=5)
               if event_id.encode() in r.value]
    assert len(records) == 1
    assert int(text_of(browser, "kafka-partition")) == records[0].partition
    assert int(text_of(browser, "kafka-offset")) == records[0].offset
    trace = text_of(browser, "trace-id")
    assert len(trace) == 32 and all(li.text.endswith(f"trace {trace}") for li in
                                    browser.find_elements(By.CSS_SELECTOR, "#lineage li"))
    screenshot(browser, "payment-lineage")
    async with httpx.AsyncClient(base_url=stack.consumer.url, timeout=10) as c:
        chain = (await c.get(f"/lineage/{event_id}")).json()
    assert chain["kafka"]["offset"] == records[0].offset and chain["trace_id"] == trace

    browser.get(f"{stack.consumer.url}/console/consumers")
    members = browser.find_elements(By.CSS_SELECTOR, "#members tbody tr")
    assert len(members) == 1 and "this replica" in members[0].text
    assert int(text_of(browser, "generation")) >= 1
    screenshot(browser, "consumers")


async def test_dead_letter_bulk_replay_dry_run_then_once_with_audit(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    """Poison stays poison, so the letter replayed here is a valid payment that failed for a
    reason fixed since: a database trigger refuses its payer (a bug), then is dropped."""
    payer = unique("acct_refused")
    conn = await db(stack.database_url)
    trigger = f"refuse_{payer.replace('-', '_')}"
    await conn.execute(f"""
        CREATE FUNCTION {S}.{trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.payer_id = '{payer}' THEN RAISE EXCEPTION 'refused by a bug'; END IF;
        RETURN NEW; END $$;
        CREATE TRIGGER {trigger} BEFORE INSERT ON {S}.processed_events
        FOR EACH ROW EXECUTE FUNCTION {S}.{trigger}();""")
    try:
        async with producer() as p:
            await p.send_and_wait(stack.topic, value=b'{"not": json', key=b"poison-key")
        async with httpx.AsyncClient(base_url=stack.api.url, timeout=10) as api:
            event_id = (await api.post("/payments", json=payment(payer=payer))).json()[
                "event_id"]
        browser.get(f"{stack.consumer.url}/console/dead-letters?topic={stack.topic}")

        def two_letters(d: webdriver.Chrome) -> bool:
            d.refresh()
            return len(d.find_elements(By.CSS_SELECTOR, "#letters tr[data-letter]")) == 2

        until(browser, two_letters, 60, what="the poison and the refused payment listed")
        screenshot(browser, "dead-letters")
        poison = browser.find_element(By.XPATH, "//tr[@data-letter][td[3]!='processing_failed']")
        poison.find_element(By.TAG_NAME, "a").click()
        assert '{"not": json' in text_of(browser, "value")
        assert stack.topic in text_of(browser, "provenance")
        screenshot(browser, "dead-letter-detail")

        browser.get(f"{stack.consumer.url}/console/dead-letters?topic={stack.topic}")
        Select(browser.find_element(By.NAME, "reason")).select_by_value("processing_failed")
        browser.find_element(By.ID, "dry-run").click()
        until(browser, lambda d: text_of(d, "dry-new") == "1", what="dry run: 1 new")
        assert text_of(browser, "dry-applied") == text_of(browser, "dry-replayed") == "0"
        screenshot(browser, "dead-letters-dry-run")

        await conn.execute(f"DROP TRIGGER {trigger} ON {S}.processed_events")  # the fix
        browser.find_element(By.NAME, "why").send_keys("bug fixed: payer refused by trigger")
        browser.find_element(By.ID, "replay").click()
        until(browser, lambda d: text_of(d, "replayed-count") == "1", what="1 replayed")
        await processed(stack, event_id)
        assert await conn.fetchval(
            f"SELECT count(*) FROM {S}.processed_events WHERE event_id = $1::uuid",
            event_id) == 1
        assert await conn.fetchval(
            f"SELECT count(*) FROM {S}.notifications WHERE event_id = $1::uuid", event_id) == 2
        audit = await conn.fetchrow(
            f"SELECT * FROM {S}.replay_audit WHERE reason = $1",
            "bug fixed: payer refused by trigger")
        assert audit is not None and audit["action"] == "bulk_replay"
        assert (audit["selected"], audit["replayed"], audit["failed"]) == (1, 1, 0)
        assert audit["actor_scope"] == "public" and audit["filters"]

        # Again: nothing new; the letter is replayed already, nothing is published twice.
        browser.get(f"{stack.consumer.url}/console/dead-letters?topic={stack.topic}"
                    "&reason=processing_failed&dry_run=1")
        assert text_of(browser, "dry-new") == "0" and text_of(browser, "dry-replayed") == "1"
        replays = [r for r in await read_topic(stack.topic, 10_000, timeout=5)
                   if event_id.encode() in r.value]
        # The original only: the refused payment parked its payer's key, so its replay was
        # applied from the park (no Kafka round trip); applied once, as counted above.
        assert len(replays) == 1
    finally:
        await conn.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {S}.processed_events")
        await conn.execute(f"DROP FUNCTION IF EXISTS {S}.{trigger}()")
        await conn.close()


async def test_with_api_keys_the_console_shows_a_login_form_and_never_data(
    browser: webdriver.Chrome, database_url: str
) -> None:
    async with running_stack(database_url, API_KEYS="console-key",
                             ADMIN_API_KEYS="admin-key") as locked:
        base = f"{locked.consumer.url}/console"
        browser.delete_all_cookies()
        for path in ("/", "/dead-letters", "/consumers", "/payments",
                     "/payments/00000000-0000-0000-0000-000000000000", "/dead-letters/1"):
            browser.get(base + path)
            assert browser.current_url == f"{base}/login", path
            assert browser.find_elements(By.ID, "login")
            for data in ("live", "total-lag", "partitions", "letters", "members", "lineage"):
                assert not browser.find_elements(By.ID, data), (path, data)
        screenshot(browser, "login")
        async with httpx.AsyncClient(base_url=base, timeout=5) as raw:
            assert (await raw.get("/stream")).status_code == 401
            replay = await raw.post("/dead-letters/replay", data={"why": "x"})
            assert replay.status_code == 303 and replay.headers["location"].endswith("/login")
        browser.find_element(By.NAME, "key").send_keys("wrong-key")
        browser.find_element(By.ID, "login").submit()
        until(browser, lambda d: d.find_elements(By.ID, "login-error"), what="refused")
        assert not browser.find_elements(By.ID, "live")
        browser.find_element(By.NAME, "key").send_keys("console-key")
        browser.find_element(By.ID, "login").submit()
        until(browser, lambda d: d.find_elements(By.ID, "live"), what="the overview")
        [cookie] = browser.get_cookies()
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
        assert "console-key" not in cookie["value"]
        # A reader key sees data but may not replay.
        browser.get(f"{base}/dead-letters?dry_run=1")
        assert not browser.find_elements(By.ID, "replay-form")
