"""stop_in_order: a step that hangs or fails is named, and every later step still runs."""

import asyncio
from collections.abc import Awaitable, Callable

from service_kit.lifecycle import stop_in_order


async def test_a_hanging_and_a_failing_step_do_not_stop_the_rest() -> None:
    ran: list[str] = []

    async def hangs() -> None:
        ran.append("hangs")
        await asyncio.Event().wait()

    async def fails() -> None:
        ran.append("fails")
        raise RuntimeError("broken")

    async def fine() -> None:
        ran.append("fine")

    failed = await stop_in_order([("hangs", hangs), ("fails", fails), ("fine", fine)],
                                 timeout_s=0.05)
    assert failed == ["hangs", "fails"]
    assert ran == ["hangs", "fails", "fine"]


async def test_steps_run_in_the_order_given() -> None:
    ran: list[int] = []

    def step(n: int) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await asyncio.sleep(0.001 * (3 - n))
            ran.append(n)
        return run

    assert await stop_in_order([(str(n), step(n)) for n in range(3)]) == []
    assert ran == [0, 1, 2]
