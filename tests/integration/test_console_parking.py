"""The console's parked-keys page on the real stack: admin only, every action behind a dry
run, a CSRF token and a reason; hostile forms change no row; a discard releases the payer's
parked payments in order, a corrected replay applies the letter's payment first."""

import httpx

from tests.faults.parking_support import (
    applied_order,
    letter_id,
    parked_scenario,
    released,
)
from tests.integration.console_forms import KEYS, READER, audit_rows, csrf_of, logged_in, rows
from tests.support import consumer_app, in_process, unique

FAST = {"release_poll_s": 0.1, "console_sample_interval_s": 0.5, "lag_sample_interval_s": 0.5}


async def _refused(client: httpx.AsyncClient, path: str, status: int, **data: str) -> str:
    answer = await client.post(path, data=data)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    return answer.text


async def test_only_an_admin_sees_parked_keys_and_hostile_forms_change_nothing(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    app = consumer_app(database_url, main, dlq, group, **KEYS, **FAST)
    async with in_process(app) as anonymous:
        scenario = await parked_scenario(database_url, main, group)
        letter = await letter_id(database_url, main, group)
        before = await rows(database_url, main, group)
        base = f"/console/parked/{letter}"

        # No session: the login page, for reads and actions alike.
        for path in ("/console/parked", base):
            answer = await anonymous.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/console/login"
        answer = await anonymous.post(f"{base}/discard", data={"reason": "x"})
        assert answer.status_code == 303

        # A reader key: refused, even with its own valid CSRF token.
        reader = await logged_in(app, READER)
        assert (await reader.get("/console/parked")).status_code == 403
        assert (await reader.get(base)).status_code == 403
        assert "Parked keys" not in (await reader.get("/console/")).text  # no nav link
        token = csrf_of((await reader.get("/console/payments")).text)
        await _refused(reader, f"{base}/discard", 403, csrf=token, reason="reader tries")
        await _refused(reader, f"{base}/replay", 403, csrf=token, why="reader tries")

        admin = await logged_in(app, KEYS["admin_api_keys"])
        listing = await admin.get("/console/parked")
        assert listing.status_code == 200
        assert 'id="parked-keys">1<' in listing.text and 'id="parked-records">3<' in listing.text
        assert f'href="/console/dead-letters/{letter}"' in listing.text
        assert f'href="/console/parked/{letter}"' in listing.text
        dry = await admin.get(base)
        assert dry.status_code == 200 and 'id="dry-records">3<' in dry.text
        assert "release the key: apply its 3 parked records" in dry.text
        csrf = csrf_of(dry.text)

        # CSRF: absent, forged, or a form posted from another origin.
        await _refused(admin, f"{base}/discard", 403, reason="no token")
        await _refused(admin, f"{base}/discard", 403, csrf="forged", reason="forged")
        answer = await admin.post(f"{base}/discard", data={"csrf": csrf, "reason": "x"},
                                  headers={"Origin": "https://evil.example"})
        assert answer.status_code == 403
        # Reasons: missing, blank, too long; a huge one and a body over MAX_BODY_BYTES are 413.
        await _refused(admin, f"{base}/discard", 422, csrf=csrf)
        await _refused(admin, f"{base}/discard", 422, csrf=csrf, reason="   ")
        await _refused(admin, f"{base}/discard", 422, csrf=csrf, reason="r" * 501)
        await _refused(admin, f"{base}/discard", 413, csrf=csrf, reason="\x00" * 100_000)
        await _refused(admin, f"{base}/replay", 413, csrf=csrf, why="w",
                       corrected_value="{" * 1_000_000)
        answer = await admin.post(f"{base}/discard", json={"csrf": csrf, "reason": "json"})
        assert answer.status_code == 415
        # A corrected value that is not a JSON object; no reason for a replay.
        for bad in ("{not json", '{"amount": "1.25"', "[1, 2]", "\"text\""):
            text = await _refused(admin, f"{base}/replay", 422, csrf=csrf, why="fix",
                                  corrected_value=bad)
            assert "nothing was changed" in text
        surrogate = await admin.post(  # a UTF-16 surrogate encoded as UTF-8: not text
            f"{base}/replay", content=f"csrf={csrf}&why=x&corrected_value=%ED%A0%80",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert surrogate.status_code == 422
        await _refused(admin, f"{base}/replay", 422, csrf=csrf, corrected_value="{}")
        # Ids that are no letter, or no number.
        for path in ("/console/parked/0", "/console/parked/-1", "/console/parked/abc",
                     f"/console/parked/{2**63}"):
            assert (await admin.get(path)).status_code == 422, path
        assert (await admin.get("/console/parked/999999999")).status_code == 404
        await _refused(admin, "/console/parked/999999999/discard", 404, csrf=csrf,
                       reason="no such letter")
        assert (await admin.get("/console/parked?cursor=bogus")).status_code == 400

        assert await rows(database_url, main, group) == before  # nothing above changed a row
        # A replay of no letter is refused too; like the REST call, it leaves a failed
        # attempt in the audit trail, and nothing else.
        await _refused(admin, "/console/parked/999999999/replay", 404, csrf=csrf, why="none")
        assert await rows(database_url, main, group) == {**before, "audit": before["audit"] + 1}

        done = await admin.post(f"{base}/discard",
                                data={"csrf": csrf, "reason": "amount -5; refunded by hand"})
        assert done.status_code == 200, done.text
        assert 'id="released-records">3<' in done.text
        await released(database_url, main, group, 54)
        after = await admin.get(base)
        assert "nothing (already discarded)" in after.text and "discard-form" not in after.text
        for client in (reader, admin):
            await client.aclose()
    e1, _, e3, e4, e5 = scenario.ids
    assert await applied_order(database_url, scenario.ids) == [e1, e3, e4, e5]
    [audit] = await audit_rows(database_url, letter)
    assert audit["action"] == "discard" and audit["reason"] == "amount -5; refunded by hand"
    assert audit["actor_scope"] not in ("", "open", KEYS["admin_api_keys"])


async def test_a_corrected_replay_from_the_console_applies_it_first_then_the_parked_ones(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    group = unique("group")
    app = consumer_app(database_url, main, dlq, group, **FAST)  # open mode: everyone admin
    async with in_process(app) as client:
        scenario = await parked_scenario(database_url, main, group)
        letter = await letter_id(database_url, main, group)
        dry = await client.get(f"/console/parked/{letter}")  # opens the session
        assert dry.status_code == 200 and "then the 3 parked records" in dry.text
        corrected = scenario.payer[1][1].decode()  # the payment as it should have been
        done = await client.post(f"/console/parked/{letter}/replay", data={
            "csrf": csrf_of(dry.text), "why": "amount fixed", "corrected_value": corrected})
        assert done.status_code == 200, done.text
        assert "is replayed (corrected)" in done.text
        await released(database_url, main, group, 55)
    assert await applied_order(database_url, scenario.ids) == scenario.ids
    [audit] = await audit_rows(database_url, letter)
    assert audit["action"] == "replay" and audit["reason"] == "amount fixed (corrected)"
    assert (audit["selected"], audit["replayed"]) == (1, 1)
