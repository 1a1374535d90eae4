"""Parked keys in a real browser: the overview counts them and shows lag in time, the parked
page links the letter, the dry run changes nothing, and a discard typed into the form
releases the payer's parked payments in order."""

from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.conftest import Stack, screenshot
from tests.browser.test_console import text_of, until
from tests.faults.parking_support import applied_order, letter_id, parked_scenario, released
from tests.integration.console_forms import rows


async def test_a_parked_key_is_shown_dry_run_then_discarded_from_the_form(
    browser: webdriver.Chrome, stack: Stack
) -> None:
    url, topic, group = stack.database_url, stack.topic, stack.group
    scenario = await parked_scenario(url, topic, group)
    letter = await letter_id(url, topic, group)

    browser.get(f"{stack.consumer.url}/console/")
    until(browser, lambda d: text_of(d, "parked") == "1 / 3", what="1 parked key, 3 records")
    # Records were parked while the partition was still being read: a later sample says 0.
    until(browser, lambda d: (text_of(d, "oldest-unprocessed"), text_of(d, "drain")) ==
          ("0 s", "0 s"), what="no lag left, in time")
    browser.find_element(By.LINK_TEXT, "Parked keys").click()
    until(browser, lambda d: d.find_elements(By.ID, "parked-totals"), what="the parked page")
    assert (text_of(browser, "parked-keys"), text_of(browser, "parked-records")) == ("1", "3")
    [row] = browser.find_elements(By.CSS_SELECTOR, "#parked tr[data-park]")
    assert row.find_element(By.CSS_SELECTOR, "td.records").text == "3"
    link = row.find_element(By.CSS_SELECTOR, "a.letter").get_attribute("href")
    assert link is not None and link.endswith(f"/console/dead-letters/{letter}")
    screenshot(browser, "parked-keys")

    before = await rows(url, topic, group)
    row.find_element(By.CSS_SELECTOR, "a.dry-run").click()
    until(browser, lambda d: d.find_elements(By.ID, "dry-result"), what="the dry run")
    assert text_of(browser, "dry-records") == "3"
    assert "release the key" in text_of(browser, "dry-discard")
    assert await rows(url, topic, group) == before  # the dry run changed nothing
    screenshot(browser, "parked-dry-run")

    browser.find_element(By.NAME, "reason").send_keys("amount -5: refunded by hand")
    browser.find_element(By.ID, "discard").click()
    until(browser, lambda d: d.find_elements(By.ID, "release-result"), what="the outcome")
    assert text_of(browser, "released-records") == "3"
    await released(url, topic, group, 54)
    e1, _, e3, e4, e5 = scenario.ids
    assert await applied_order(url, scenario.ids) == [e1, e3, e4, e5]
    browser.get(f"{stack.consumer.url}/console/parked")
    assert text_of(browser, "parked-keys") == "0"
