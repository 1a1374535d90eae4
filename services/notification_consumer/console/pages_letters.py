"""Console pages for dead letters: filtered list, one letter in full, dry run, bulk replay."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from notification_consumer.console import letters
from notification_consumer.console.runtime import Console, ConsoleDep
from notification_consumer.console.sessions import Session
from notification_consumer.console.web import (
    current,
    form_allowed,
    login_redirect,
    open_session,
    render,
    set_session_cookie,
)
from notification_consumer.dead_letters import bulk
from notification_consumer.dead_letters.stored import display, stored_headers

router = APIRouter(prefix="/console/dead-letters", include_in_schema=False)
Text = Annotated[str | None, Query(max_length=200)]


def _filter(reason: str | None, since: str | None, until: str | None, account: str | None,
            topic: str | None) -> letters.LetterFilter:
    """Raises ValueError with a message fit for the page."""
    def when(value: str | None, name: str) -> datetime | None:
        if not value:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{name}: use a date and time like 2026-11-26T12:00") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)  # as shown

    for value in (reason, account, topic):
        if value and "\x00" in value:
            raise ValueError("filters cannot contain NUL characters")
    return letters.LetterFilter(reason or None, when(since, "since"), when(until, "until"),
                                account or None, topic or None)


def _admin_only(request: Request, console: Console, session: Session) -> Response:
    return render(request, console, "message.html", session, status_code=403,
                  title="Refused", message="Dead letters hold anyone's bytes: they need an "
                                           "admin key (ADMIN_API_KEYS).")


@router.get("")
async def list_page(request: Request, console: ConsoleDep, reason: Text = None,
                    since: Text = None, until: Text = None, account: Text = None,
                    topic: Text = None) -> Response:
    session, sid = open_session(request, console)
    if session is None:
        return login_redirect()
    if not session.caller.sees_dead_letters:
        return _admin_only(request, console, session)
    form = {"reason": reason or "", "since": since or "", "until": until or "",
            "account": account or "", "topic": topic or ""}
    error, rows, dry, audit, reasons = None, [], None, [], []
    try:
        f = _filter(reason, since, until, account, topic)
    except ValueError as exc:
        error, f = str(exc), None
    async with console.engine.connect() as conn:
        reasons = await letters.reasons(conn)
        audit = await bulk.recent_audit(conn)
        if f is not None:
            rows = await letters.list_letters(conn, f)
            if request.query_params.get("dry_run"):
                dry = await letters.dry_run(conn, f, console.settings.kafka_group_id,
                                            console.settings.kafka_topic)
    response = render(request, console, "dead_letters.html", session, rows=rows, form=form,
                      error=error, dry=dry, audit=audit, reasons=reasons)
    if sid is not None:
        set_session_cookie(response, request, sid)
    return response


@router.get("/{letter_id}")
async def letter_page(request: Request, console: ConsoleDep,
                      letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> Response:
    session, _ = open_session(request, console)
    if session is None:
        return login_redirect()
    if not session.caller.sees_dead_letters:
        return _admin_only(request, console, session)
    async with console.engine.connect() as conn:
        row = await letters.get_letter(conn, letter_id)
    if row is None:
        return render(request, console, "dead_letter.html", session, status_code=404, row=None)
    headers = [(name, display(value, 2000))
               for name, value in stored_headers(row["header_keys"], row["header_values"])]
    return render(request, console, "dead_letter.html", session, row=row, headers=headers,
                  value=display(row["value"]), key=display(row["key"], 500))


@router.post("/replay")
async def replay(request: Request, console: ConsoleDep,
                 csrf: Annotated[str, Form(max_length=200)] = "",
                 why: Annotated[str, Form(max_length=500)] = "",
                 reason: Annotated[str, Form(max_length=200)] = "",
                 since: Annotated[str, Form(max_length=200)] = "",
                 until: Annotated[str, Form(max_length=200)] = "",
                 account: Annotated[str, Form(max_length=200)] = "",
                 topic: Annotated[str, Form(max_length=200)] = "") -> Response:
    session = current(request, console)
    if session is None:
        return login_redirect()
    if not form_allowed(request, session, csrf):
        return render(request, console, "message.html", session, status_code=403,
                      title="Refused", message="The form expired or came from elsewhere "
                      "(CSRF check failed). Reload the page and try again.")
    if not session.caller.admin:
        return render(request, console, "message.html", session, status_code=403,
                      title="Refused", message="Replaying needs an admin key (ADMIN_API_KEYS).")
    if not why.strip():
        return render(request, console, "message.html", session, status_code=422,
                      title="A reason is required", message="Say why you replay these letters;"
                      " it goes into the audit trail.")
    try:
        f = _filter(reason, since, until, account, topic)
    except (ValueError, ValidationError) as exc:
        return render(request, console, "message.html", session, status_code=422,
                      title="Bad filter", message=str(exc))
    result = await bulk.bulk_replay(console.replayer, f, session.caller.actor, why.strip(),
                                    console.settings.replay_rate_per_s)
    return render(request, console, "replayed.html", session, result=result)
