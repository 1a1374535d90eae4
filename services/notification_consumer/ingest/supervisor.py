"""Keeps the batch loop alive: an unexpected exception restarts it (fresh Kafka clients);
too many restarts in a row exit the process non-zero for its supervisor. Never silent."""

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

from notification_consumer import metrics
from notification_consumer.ingest.health import HealthState

log = logging.getLogger(__name__)
HEALTHY_RUN_S = 60.0  # a loop that ran this long before crashing starts the count again
EXIT_CODE = 70  # EX_SOFTWARE


class Supervised(Protocol):
    """What the supervisor needs of the loop it keeps alive."""

    stopping: asyncio.Event
    state: HealthState
    exit_process: Callable[[int], None]

    async def connect(self) -> bool: ...
    async def run(self) -> None: ...
    async def drop_clients(self) -> None: ...


async def supervise(consumer: Supervised, max_restarts: int, backoff_initial_s: float) -> None:
    crashes = 0
    while not consumer.stopping.is_set():
        started = time.monotonic()
        try:
            if not await consumer.connect():
                return
            await consumer.run()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            crashes = 1 if time.monotonic() - started > HEALTHY_RUN_S else crashes + 1
            metrics.LOOP_RESTARTS.inc()
            log.exception("consumer loop crashed", extra={"crashes": crashes})
            consumer.state.problem("loop", f"crashed: {exc!r}")
            await consumer.drop_clients()
            if crashes > max_restarts:
                log.critical("consumer loop keeps crashing; exiting for the supervisor")
                consumer.exit_process(EXIT_CODE)
                return
            await asyncio.sleep(min(2.0**crashes * backoff_initial_s, 30.0))
            consumer.state.clear("loop")
