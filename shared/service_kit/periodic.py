"""A step repeated every few seconds for as long as the service runs, in one background task:
started by the lifespan, cancelled when it stops. A step that fails is reported and the next
one comes at its usual time: background work must not die of one bad moment."""

import asyncio
from collections.abc import Awaitable, Callable


class Periodic:
    def __init__(self, name: str, interval_s: float, step: Callable[[], Awaitable[None]],
                 on_error: Callable[[Exception], None], *, first_at_once: bool = False) -> None:
        """`first_at_once`: the first step runs on start, else one interval after it."""
        self.name = name
        self.interval_s = interval_s
        self._step = step
        self._on_error = on_error
        self._first_at_once = first_at_once
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        if not self._first_at_once:
            await asyncio.sleep(self.interval_s)
        while True:
            try:
                await self._step()
            except Exception as exc:  # noqa: BLE001 - reported; the next step tries again
                self._on_error(exc)
            await asyncio.sleep(self.interval_s)
