"""Console pages for parked keys (admin only): the list with its totals, a letter's dry run,
and the two releases, discard with a reason or replay (optionally corrected). The releases
are the REST endpoints' own functions (dead_letters/release.py through lock_letter/discard,
and rest.replay_one); this module only reads forms and renders the outcome."""

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from notification_consumer.console import letters
from notification_consumer.console.forms import FormRefused, read_form
from notification_consumer.console.rest import replay_one
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
from notification_consumer.dead_letters.release import discard
from notification_consumer.dead_letters.replay import lock_letter
from notification_consumer.http.parking_schemas import MAX_REASON_CHARS
from notification_consumer.store import parked_reads
from notification_consumer.store.reads import reading_errors
from notification_consumer.store.text import safe_text
from service_kit.errors import ServiceError

router = APIRouter(prefix="/console/parked", include_in_schema=False)
LetterId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PAGE = 50
MAX_CORRECTED_CHARS = 65_536  # the REST body's bound (ReplayRequest.corrected_value)
# A corrected value of MAX_CORRECTED_CHARS, each character percent-encoded (up to 12 bytes
# for a 4-byte UTF-8 character), plus the other fields.
FORM_BYTES = MAX_CORRECTED_CHARS * 12 + 16 * 1024


def _message(request: Request, console: Console, session: Session | None, status: int,
             title: str, message: str) -> Response:
    return render(request, console, "message.html", session, status_code=status,
                  title=title, message=message, back="/console/parked")


def _not_admin(request: Request, console: Console, session: Session) -> Response | None:
    if session.caller.admin:
        return None
    return _message(request, console, session, 403, "Refused", "Parked keys need an admin key "
                    "(ADMIN_API_KEYS): they hold anyone's payments.")


def _gate(request: Request, console: Console
          ) -> tuple[Session | None, str | None, Response | None]:
    """An admin's session (and a new session id in open mode), or the refusal."""
    session, sid = open_session(request, console)
    if session is None:
        return None, None, login_redirect()
    return session, sid, _not_admin(request, console, session)


def _page(request: Request, console: Console, session: Session, sid: str | None,
          template: str, status: int = 200, **context: object) -> Response:
    response = render(request, console, template, session, status_code=status, **context)
    if sid is not None:
        set_session_cookie(response, request, sid)
    return response


@router.get("")
async def parked_page(request: Request, console: ConsoleDep,
                      cursor: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    session, sid, refused = _gate(request, console)
    if refused is not None or session is None:
        return refused or login_redirect()
    group, topic = console.settings.kafka_group_id, console.settings.kafka_topic
    try:
        page = await parked_reads.list_parked(console.engine, group, topic, PAGE, cursor)
        async with reading_errors(), console.engine.connect() as conn:
            totals = await parked_reads.totals(conn, group, topic)
    except ServiceError as exc:
        return _page(request, console, session, sid, "message.html", exc.status,
                     title="Not shown", message=exc.detail(), back="/console/parked")
    return _page(request, console, session, sid, "parked.html", totals=totals,
                 rows=page["items"], next_cursor=page["next_cursor"])


@router.get("/{letter_id}")
async def dry_run_page(request: Request, console: ConsoleDep, letter_id: LetterId) -> Response:
    """What a discard or a replay of the letter would do; changes nothing."""
    session, sid, refused = _gate(request, console)
    if refused is not None or session is None:
        return refused or login_redirect()
    try:
        preview = await parked_reads.release_preview(
            console.engine, console.settings.kafka_group_id, console.settings.kafka_topic,
            letter_id)
        async with reading_errors(), console.engine.connect() as conn:
            row = await letters.get_letter(conn, letter_id)
    except ServiceError as exc:
        return _page(request, console, session, sid, "message.html", exc.status,
                     title="No dry run", message=exc.detail(), back="/console/parked")
    value = bytes(row["value"] or b"") if row else b""
    try:
        prefill = value.decode("utf-8") if len(value) <= MAX_CORRECTED_CHARS else ""
    except UnicodeDecodeError:
        prefill = ""
    return _page(request, console, session, sid, "parked_letter.html", p=preview, row=row,
                 prefill=prefill, max_reason=MAX_REASON_CHARS,
                 max_corrected=MAX_CORRECTED_CHARS)


async def _admin_form(request: Request, console: Console
                      ) -> tuple[Session | None, dict[str, str], Response | None]:
    """The session and the form of an admin's POST from our own page, or the refusal."""
    session = current(request, console)
    if session is None:
        return None, {}, login_redirect()
    try:
        form = await read_form(request, FORM_BYTES)
    except FormRefused as exc:
        return session, {}, _message(request, console, session, exc.status, "Refused", str(exc))
    if not form_allowed(request, session, form.get("csrf")):
        return session, form, _message(
            request, console, session, 403, "Refused", "The form expired or came from "
            "elsewhere (CSRF check failed). Reload the page and try again.")
    return session, form, _not_admin(request, console, session)


def _reason(form: dict[str, str], name: str) -> str | None:
    reason = form.get(name, "").strip()
    return safe_text(reason, MAX_REASON_CHARS) if 0 < len(reason) <= MAX_REASON_CHARS else None


async def _reasoned(request: Request, console: Console, field: str, verb: str
                    ) -> tuple[Session, dict[str, str], str] | Response:
    """An admin's form with a valid CSRF token and a reason for the audit trail, or the
    page that says why not."""
    session, form, refused = await _admin_form(request, console)
    if refused is not None or session is None:
        return refused or login_redirect()
    reason = _reason(form, field)
    if reason is None:
        return _message(request, console, session, 422, "A reason is required",
                        f"Say why the letter is {verb}, in 1 to {MAX_REASON_CHARS} "
                        "characters; it goes into the audit trail.")
    return session, form, reason


@router.post("/{letter_id}/discard")
async def discard_letter(request: Request, console: ConsoleDep,
                         letter_id: LetterId) -> Response:
    checked = await _reasoned(request, console, "reason", "discarded")
    if isinstance(checked, Response):
        return checked
    session, _, reason = checked
    try:
        async with reading_errors(), console.engine.begin() as conn:
            letter = await lock_letter(conn, letter_id, console.settings.kafka_group_id,
                                       console.settings.kafka_topic)
            done = await discard(conn, letter, session.caller.actor, reason)
    except ServiceError as exc:
        return _message(request, console, session, exc.status, "Not discarded", exc.detail())
    return render(request, console, "released.html", session, action="discard",
                  letter_id=letter_id, already=done.already, park=done.released)


@router.post("/{letter_id}/replay")
async def replay_letter(request: Request, console: ConsoleDep,
                        letter_id: LetterId) -> Response:
    checked = await _reasoned(request, console, "why", "replayed")
    if isinstance(checked, Response):
        return checked
    session, form, why = checked
    text = form.get("corrected_value", "").strip()
    corrected = None
    if text:
        if len(text) > MAX_CORRECTED_CHARS:
            return _message(request, console, session, 422, "Corrected value too long",
                            f"At most {MAX_CORRECTED_CHARS:,} characters.")
        try:
            # The console is stricter than the REST body: a payment is a JSON object, and
            # anything else would only be dead-lettered (and park the key) again.
            if not isinstance(orjson.loads(text), dict):
                raise ValueError("not an object")
        except ValueError:
            return _message(request, console, session, 422, "Not replayed",
                            "The corrected value is not a JSON object; nothing was changed.")
        corrected = text.encode("utf-8")
    try:
        outcome = await replay_one(console, letter_id, session.caller.actor,
                                   why + (" (corrected)" if corrected else ""), corrected)
    except ServiceError as exc:
        return _message(request, console, session, exc.status, "Not replayed", exc.detail())
    return render(request, console, "released.html", session, action="replay",
                  letter_id=letter_id, already=outcome.already_replayed, outcome=outcome,
                  corrected=corrected is not None)
