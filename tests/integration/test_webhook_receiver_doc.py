"""The receiver in docs/webhooks.md, run as written: its code block is loaded from the doc,
served on 127.0.0.1, subscribed, and must verify and record every delivery."""

import importlib.util
import re
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import consumer_app, free_port, in_process, unique, wait_until
from tests.webhook_receiver import serving
from tests.webhooks_support import (
    FAST,
    delete_subscriptions,
    deliveries,
    notification_ids,
    produce_for,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def doc_receiver(tmp_path: Path) -> Path:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- doc-receiver -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "docs/webhooks.md lost its receiver example"
    path = tmp_path / "receiver.py"
    path.write_text(match.group(1), encoding="utf-8")
    return path


async def test_the_documented_receiver_verifies_every_delivery(
    database_url: str, topics: tuple[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    main, dlq = topics
    account = unique("acct")
    port = free_port()
    async with in_process(consumer_app(database_url, main, dlq, **FAST)) as consumer:
        created = await consumer.post("/webhooks", json={
            "url": f"http://127.0.0.1:{port}/hooks", "account_id": account})
        sub = created.json()
        try:
            monkeypatch.setenv("WEBHOOK_SECRET", sub["secret"])
            spec = importlib.util.spec_from_file_location("doc_receiver", doc_receiver(tmp_path))
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            monkeypatch.setitem(sys.modules, "doc_receiver", module)
            spec.loader.exec_module(module)
            seen: dict[str, Any] = module.seen
            async with serving(module.app, port):
                await produce_for(main, account, 4)

                async def delivered() -> list[dict[str, Any]] | None:
                    rows = await deliveries(database_url, sub["id"])
                    ok = len(rows) == 4 and all(r["state"] == "delivered" for r in rows)
                    return rows if ok else None

                rows = await wait_until(delivered, 90, what="4 deliveries")
            assert set(seen) == {r["webhook_id"] for r in rows}
            ids = await notification_ids(database_url, account)
            assert sorted(n["id"] for n in seen.values()) == ids
        finally:
            await delete_subscriptions(database_url, [sub["id"]])


async def test_the_documented_receiver_rejects_a_wrong_signature(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEBHOOK_SECRET", "whsec_" + "A" * 43 + "=")
    spec = importlib.util.spec_from_file_location("doc_receiver_2", doc_receiver(tmp_path))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "doc_receiver_2", module)
    spec.loader.exec_module(module)
    async with serving(module.app) as base, httpx.AsyncClient(base_url=base) as client:
        response = await client.post("/hooks", content=b"{}", headers={
            "webhook-id": "msg_x", "webhook-timestamp": str(int(time.time())),
            "webhook-signature": "v1,AAAA"})
    assert response.status_code == 400 and module.seen == {}
