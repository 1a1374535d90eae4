"""What the console reads from the transaction API, over HTTP at API_URL: its readiness, its
outbox backlog (from its /metrics), and its half of a payment's lineage."""

import logging
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service_kit.errors import UpstreamUnavailable

log = logging.getLogger(__name__)
TIMEOUT_S = 2.0
MAX_METRICS_BYTES = 4_000_000


class ApiUnavailable(UpstreamUnavailable):
    """The API could not be asked (down, refused our key, answered nonsense)."""


class ApiClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT_S,
                                           follow_redirects=False)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def overview(self) -> dict[str, Any]:
        """{"ready": bool|None, "outbox_backlog": float|None, "outbox_oldest_s": ..., "error"}"""
        result: dict[str, Any] = {"ready": None, "outbox_backlog": None,
                                  "outbox_oldest_s": None, "error": None}
        try:
            ready = await self._client().get("/readyz")
            result["ready"] = ready.status_code == 200
            metrics = await self._client().get("/metrics")
            if metrics.status_code == 200 and len(metrics.content) < MAX_METRICS_BYTES:
                for family in text_string_to_metric_families(metrics.text):
                    value = sum(s.value for s in family.samples)
                    if family.name == "outbox_backlog_events":
                        result["outbox_backlog"] = value
                    elif family.name == "outbox_oldest_unpublished_age_seconds":
                        result["outbox_oldest_s"] = value
        except (httpx.HTTPError, ValueError) as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"[:200]
        return result

    async def lineage(self, path: str, key: str | None,
                      params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """The API's half; None when the API says 404 (unknown, or not this key's payment)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        try:
            response = await self._client().get(path, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"{type(exc).__name__}: {exc}"[:200]) from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ApiUnavailable(f"the API answered {response.status_code}")
        body: dict[str, Any] = response.json()
        return body
