"""Exponential, capped, jittered waits between retries."""

import asyncio
import random


class Backoff:
    def __init__(self, initial: float, cap: float) -> None:
        self.initial, self.cap, self.current = initial, cap, initial

    async def sleep(self) -> None:
        await asyncio.sleep(self.current * random.uniform(0.5, 1.0))
        self.current = min(self.current * 2, self.cap)

    def reset(self) -> None:
        self.current = self.initial
