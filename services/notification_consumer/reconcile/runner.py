"""Runs reconciliation: on request (GET /reconcile, a pure read) and periodically over a
recent window in the background, which alone sets the reconcile_* metrics."""

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from prometheus_client import Counter, Gauge, Histogram
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.ingest.lag import LagWindow
from notification_consumer.reconcile.late import LateMinutes
from notification_consumer.reconcile.report import Report, reconcile
from notification_consumer.reconcile.settings import ReconcileSettings
from notification_consumer.reconcile.sources import ApiBuckets
from notification_consumer.store.reads import reading_errors
from service_kit.auth import ApiKeys, required_scope
from service_kit.errors import TookTooLong
from service_kit.periodic import Periodic
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA
from service_kit.windows import Instant, parse_window

log = logging.getLogger(__name__)

MISSING = Gauge("reconcile_missing_events",
                "Accepted payments neither processed, dead-lettered nor in flight (last run)")
DUPLICATES = Gauge("reconcile_duplicate_effects", "Effects written more than once (last run)")
MISMATCHED = Gauge("reconcile_mismatched_events",
                   "Processed with a payload other than the one accepted (last run)")
LAST_SUCCESS = Gauge("reconcile_last_success_timestamp_seconds",
                     "When the background reconciliation last completed")
FAILURES = Counter("reconcile_failures_total", "Background reconciliations that failed")
DURATION = Histogram("reconcile_duration_seconds", "Time for one reconciliation",
                     buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
LONGEST = timedelta(days=7)


class Reconciler:
    def __init__(self, settings: ReconcileSettings, engine: AsyncEngine, lag: LagWindow,
                 api_keys: SecretStr | None = None) -> None:
        """`api_keys` (API_KEYS): the first is sent when API_KEY is empty."""
        self.settings = settings
        self.engine = engine
        self.lag = lag
        fallback = api_keys.get_secret_value().split(",") if api_keys else []
        self.api_key = settings.api_key.get_secret_value() or next(
            (k.strip() for k in fallback if k.strip()), None) or None
        self.api = ApiBuckets(settings.api_url, self.api_key)
        self.late = LateMinutes(lambda: self.api,
                                timedelta(seconds=settings.reconcile_window_s),
                                settings.reconcile_late_minutes_per_run)
        self._background = Periodic("reconciler", settings.reconcile_interval_s,
                                    self.reconcile_recent, _reconcile_failed)

    def settle(self) -> timedelta:
        lag_s = max((self.lag.lag_seconds(p) for p in list(self.lag.samples)), default=0.0)
        return timedelta(seconds=self.settings.reconcile_grace_s + lag_s)

    async def run(self, since: datetime, until: datetime) -> Report:
        started = time.perf_counter()
        report = await asyncio.wait_for(
            reconcile(self.engine, self.api, since, until, now=datetime.now(UTC),
                      settle=self.settle()), self.settings.reconcile_timeout_s)
        DURATION.observe(time.perf_counter() - started)
        return report

    def start(self) -> None:
        if self.settings.reconcile_interval_s > 0:  # 0: on request only
            self._background.start()

    async def stop(self) -> None:
        await self._background.stop()
        await self.api.close()

    async def reconcile_recent(self) -> None:
        """The background run over the recent window, and the older minutes that received a
        late publish (late.py): the only writer of the gauges."""
        until = datetime.now(UTC)
        since = until - timedelta(seconds=self.settings.reconcile_window_s)
        report = await self.run(since, until)
        await self.late.find(until)
        late = await self.late.check(since, until, self.run)
        missing, duplicates, mismatched = self.late.totals()
        MISSING.set(report.missing + missing)
        DUPLICATES.set(report.duplicates + duplicates)
        MISMATCHED.set(report.mismatched + mismatched)
        LAST_SUCCESS.set(time.time())
        for unbalanced in (r for r in (report, *late) if not r.balanced):
            log.error("books do not balance", extra=unbalanced.as_dict())


def _reconcile_failed(exc: Exception) -> None:
    FAILURES.inc()
    log.warning("reconciliation failed", extra={"error": repr(exc)[:300]})


router = APIRouter(tags=["operations"])


@router.get("/reconcile", responses={c: PROBLEM_RESPONSE_SCHEMA for c in (400, 401, 503, 504)},
            summary="Accepted vs processed, dead-lettered, in flight, missing, duplicated")
async def reconcile_window(request: Request, since: Instant = None, until: Instant = None,
                           authorization: Annotated[str | None, Header()] = None
                           ) -> dict[str, Any]:
    keys: ApiKeys = request.app.state.context.api_keys
    required_scope(keys, authorization)  # the report names event ids: any valid key may ask
    start, end = parse_window(since, until, default=timedelta(hours=1), longest=LONGEST)
    reconciler: Reconciler = request.app.state.reconciler
    async with reading_errors():
        try:
            report = await reconciler.run(start, end)
        except TimeoutError as exc:
            raise TookTooLong("reconciliation took too long") from exc
    return report.as_dict()
