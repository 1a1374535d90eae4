"""service_kit.periodic: the step runs on its interval, survives its own failures, and stops
when asked."""

import asyncio

from service_kit.periodic import Periodic


async def test_a_failing_step_is_reported_and_the_next_one_still_runs() -> None:
    steps: list[int] = []
    errors: list[Exception] = []
    third = asyncio.Event()

    async def step() -> None:
        steps.append(len(steps))
        if len(steps) == 1:
            raise RuntimeError("first step fails")
        if len(steps) == 3:
            third.set()

    periodic = Periodic("test", 0.01, step, errors.append, first_at_once=True)
    periodic.start()
    await asyncio.wait_for(third.wait(), 5)
    await periodic.stop()
    assert [type(e) for e in errors] == [RuntimeError]
    count = len(steps)
    await asyncio.sleep(0.05)
    assert len(steps) == count, "a stopped task ran again"


async def test_the_first_step_waits_one_interval_unless_asked_not_to() -> None:
    ran: list[str] = []

    async def step() -> None:
        ran.append("step")

    later = Periodic("later", 30.0, step, lambda exc: None)
    at_once = Periodic("at-once", 30.0, step, lambda exc: None, first_at_once=True)
    later.start()
    at_once.start()
    await asyncio.sleep(0.05)
    await later.stop()
    await at_once.stop()
    assert ran == ["step"]
