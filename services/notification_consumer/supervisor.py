"""Keeps the batch loop alive: an unexpected exception restarts it (fresh Kafka clients);
too many restarts in a row exit the process non-zero for its supervisor. Never silent."""

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from notification_consumer import metrics

if TYPE_CHECKING:
    from notification_consumer.loop import NotificationConsumer

log = logging.getLogger(__name__)
HEALTHY_RUN_S = 60.0  # a loop that ran this long before crashing starts the count again
EXIT_CODE = 70  # EX_SOFTWARE


async def supervise(consumer: "NotificationConsumer") -> None:
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
            consumer.connected = False
            await consumer.offsets.stop()
            await consumer.link.stop()
            if crashes > consumer.settings.max_loop_restarts:
                log.critical("consumer loop keeps crashing; exiting for the supervisor")
                consumer.exit_process(EXIT_CODE)
                return
            await asyncio.sleep(min(2.0**crashes * consumer.settings.backoff_initial_s, 30.0))
            consumer.state.clear("loop")
