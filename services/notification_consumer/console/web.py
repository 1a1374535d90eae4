"""What every console page shares: the session guard, rendering with safe headers, forms."""

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from notification_consumer.console.runtime import TEMPLATES, Console
from notification_consumer.console.sessions import COOKIE, Session, csrf_ok

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" makes Chrome send Origin: null
    "Cache-Control": "no-store",
}


def set_session_cookie(response: Response, request: Request, sid: str) -> None:
    response.set_cookie(COOKIE, sid, httponly=True, samesite="strict", path="/console",
                        secure=request.url.scheme == "https", max_age=8 * 3600)


def current(request: Request, console: Console) -> Session | None:
    return console.sessions.get(request.cookies.get(COOKIE))


def login_redirect() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303, headers=SECURITY_HEADERS)


def render(request: Request, console: Console, template: str, session: Session | None,
           status_code: int = 200, **context: Any) -> Response:
    response = TEMPLATES.TemplateResponse(request, template, {
        "session": session, "auth": console.keys.enabled, **context},
        status_code=status_code, headers=SECURITY_HEADERS)
    return response


def open_session(request: Request, console: Console) -> tuple[Session | None, str | None]:
    """The caller's session; in open mode (no keys) one is made on first visit, because the
    replay forms need a CSRF token tied to something."""
    session = current(request, console)
    if session is not None or console.keys.enabled:
        return session, None
    caller = console.keys.for_header(None)
    assert caller is not None  # open mode
    sid, session = console.sessions.create(caller, None)
    return session, sid


def same_origin(request: Request) -> bool:
    """A form POST must come from our own pages (besides the CSRF token and the cookie's
    SameSite=Strict): an Origin header, when sent, must be this host."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


def form_allowed(request: Request, session: Session, token: str | None) -> bool:
    return same_origin(request) and csrf_ok(session, token)
