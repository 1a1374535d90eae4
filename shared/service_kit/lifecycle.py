"""Stopping a service's parts in order, each within a bound.

A part whose stop never returns (a Kafka client waiting on a coordinator that is gone, a task
that swallowed its cancellation) must not keep the process alive past its orchestrator's
grace period, nor keep the parts after it from releasing their connections and locks. So each
step gets its own timeout; a step that fails or overruns is logged and the next one runs.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

log = logging.getLogger(__name__)
STOP_STEP_TIMEOUT_S = 15.0

Step = tuple[str, Callable[[], Awaitable[object]]]


async def stop_in_order(steps: Sequence[Step], timeout_s: float = STOP_STEP_TIMEOUT_S) -> list[str]:
    """Run every step, in order, each bounded by `timeout_s`; the names of those that failed."""
    failed: list[str] = []
    for name, step in steps:
        try:
            async with asyncio.timeout(timeout_s):
                await step()
        except TimeoutError:
            failed.append(name)
            log.error("stop step timed out", extra={"step": name, "timeout_s": timeout_s})
        except Exception as exc:  # noqa: BLE001 - the remaining steps still have to run
            failed.append(name)
            log.error("stop step failed", extra={"step": name, "error": repr(exc)})
    return failed
