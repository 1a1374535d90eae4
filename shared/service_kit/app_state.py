"""Dependencies that hand a request what the composition root built once and left on
`app.state`. They are `async def`: FastAPI runs a plain `def` dependency in a thread pool, a
thread hop per request for an attribute read."""

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from fastapi import Request

T = TypeVar("T")


def app_state(name: str, kind: type[T]) -> Callable[[Request], Coroutine[Any, Any, T]]:
    """A dependency returning `app.state.<name>`, typed as `kind` (unit tests may leave a fake
    there, so the type is not checked at run time)."""

    async def dependency(request: Request) -> T:
        return cast(T, getattr(request.app.state, name))

    dependency.__name__ = f"get_{name}"
    return dependency
