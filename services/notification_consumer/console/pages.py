"""Console pages: login, overview (+ its live stream), payment lineage, consumers."""

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from notification_consumer.console import consumer_state, overview
from notification_consumer.console.api_client import ApiUnavailable
from notification_consumer.console.lineage import compose
from notification_consumer.console.runtime import TEMPLATES, Console, ConsoleDep
from notification_consumer.console.sessions import COOKIE
from notification_consumer.console.web import (
    SECURITY_HEADERS,
    current,
    form_allowed,
    login_redirect,
    open_session,
    render,
    same_origin,
    set_session_cookie,
)
from notification_consumer.store.reads import list_events
from payment_events.events import ACCOUNT_ID_PATTERN
from service_kit.errors import QuotaExceeded

router = APIRouter(prefix="/console", include_in_schema=False)
MAX_STREAMS = 20
_streams = asyncio.Semaphore(MAX_STREAMS)


def _page(request: Request, console: Console, template: str, status_code: int = 200,
          **context: object) -> Response:
    session, sid = open_session(request, console)
    if session is None:
        return login_redirect()
    response = render(request, console, template, session, status_code, **context)
    if sid is not None:
        set_session_cookie(response, request, sid)
    return response


@router.get("/login")
async def login_form(request: Request, console: ConsoleDep) -> Response:
    return render(request, console, "login.html", None, error=None)


@router.post("/login")
async def login(request: Request, console: ConsoleDep,
                key: Annotated[str, Form(max_length=1000)] = "") -> Response:
    caller = console.keys.for_key(key)
    if caller is None or not same_origin(request):
        return render(request, console, "login.html", None, status_code=401,
                      error="That key is not valid here.")
    sid, _ = console.sessions.create(caller, key.strip() if console.keys.enabled else None)
    response = RedirectResponse("/console/", status_code=303, headers=SECURITY_HEADERS)
    set_session_cookie(response, request, sid)
    return response


@router.post("/logout")
async def logout(request: Request, console: ConsoleDep) -> Response:
    console.sessions.end(request.cookies.get(COOKIE))
    response = login_redirect()
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/")
async def overview_page(request: Request, console: ConsoleDep) -> Response:
    data = overview.view(list(console.sampler.samples))
    return _page(request, console, "overview.html", o=data)


@router.get("/stream")
async def overview_stream(request: Request, console: ConsoleDep) -> Response:
    """Server-sent events: the overview's live block, re-rendered on every new sample."""
    session = current(request, console)
    if session is None:
        return Response(status_code=401)
    if _streams.locked():
        return Response(status_code=503, headers={"Retry-After": "10"})
    try:
        release = console.streams.take(session.caller.quota_key)
    except QuotaExceeded as exc:
        return Response(status_code=429, headers={"Retry-After": str(exc.retry_after_s)})

    async def events() -> AsyncIterator[str]:
        try:
            async with _streams:
                started = time.monotonic()
                template = TEMPLATES.get_template("_overview_live.html")
                while time.monotonic() - started < console.stream_max_duration_s:
                    if await request.is_disconnected() or current(request, console) is None:
                        return
                    sample = await console.sampler.next_sample(15.0)
                    if sample is None:
                        yield ": keep-alive\n\n"
                        continue
                    html = template.render(o=overview.view(list(console.sampler.samples)))
                    yield "event: overview\n" + "".join(
                        f"data: {line}\n" for line in html.splitlines()) + "\n"
        finally:
            release()

    # The background task also gives the quota back when the stream never started.
    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={**SECURITY_HEADERS, "X-Accel-Buffering": "no"},
                             background=BackgroundTask(release))


@router.get("/payments")
async def search(request: Request, console: ConsoleDep,
                 event_id: Annotated[str | None, Query(max_length=64)] = None,
                 account: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    session, _ = open_session(request, console)
    if session is None:
        return login_redirect()
    error, events = None, None
    if event_id:
        try:
            return RedirectResponse(f"/console/payments/{UUID(event_id.strip())}",
                                    status_code=303, headers=SECURITY_HEADERS)
        except ValueError:
            error = "That is not an event id (a UUID)."
    elif account:
        if not re.fullmatch(ACCOUNT_ID_PATTERN, account):
            error = "That is not an account id."
        else:
            # A key sees the payments it accepted (ce_ownerscope); an admin key sees all.
            scope = session.caller.scope
            events = (await list_events(console.engine, account, 50, None, scope))["items"]
    return _page(request, console, "search.html", error=error, events=events,
                 account=account or "")


@router.post("/payments")
async def search_by_idempotency_key(
    request: Request, console: ConsoleDep,
    idempotency_key: Annotated[str, Form(max_length=255)] = "",
    api_key: Annotated[str, Form(max_length=1000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A POST, so that an API key typed here never lands in a URL, a log or the history.
    The lineage is fetched with that key (the payment is visible only to its own key)."""
    session = current(request, console)
    if session is None:
        return login_redirect()
    if not form_allowed(request, session, csrf):
        return _page(request, console, "search.html", 403, events=None, account="",
                     error="The form expired (CSRF check failed); reload and try again.")
    key = api_key.strip() or session.key
    error = None
    try:
        found = await console.api.lineage("/lineage", key,
                                          {"idempotency_key": idempotency_key.strip()})
        if found is not None:
            typed = console.keys.for_key(api_key) if api_key.strip() else None
            chain = await compose(console.engine, console.api, UUID(found["event_id"]), key,
                                  console.keys.enabled, typed or session.caller)
            return _page(request, console, "payment.html", chain=chain, error=None,
                         event_id=found["event_id"])
        error = "No payment with that Idempotency-Key for that API key."
    except ApiUnavailable as exc:
        error = f"The transaction API could not be asked: {exc}"
    return _page(request, console, "search.html", 404, error=error, events=None, account="")


@router.get("/payments/{event_id}")
async def payment(request: Request, console: ConsoleDep, event_id: UUID) -> Response:
    session, _ = open_session(request, console)
    if session is None:
        return login_redirect()
    error, chain = None, None
    try:
        chain = await compose(console.engine, console.api, event_id, session.key,
                              console.keys.enabled, session.caller)
    except ApiUnavailable as exc:
        error = f"The transaction API could not be asked: {exc}"
    status = 404 if chain is None and error is None else 200
    return _page(request, console, "payment.html", status, chain=chain, error=error,
                 event_id=str(event_id))


@router.get("/consumers")
async def consumers(request: Request, console: ConsoleDep) -> Response:
    if open_session(request, console)[0] is None:
        return login_redirect()
    group = await console.group.describe()
    me = console.ingest.membership()
    return _page(request, console, "consumers.html", g=group, me=me,
                 health=consumer_state.health(console.ingest))
