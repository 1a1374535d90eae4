"""RFC 9457 problem details: every error either service returns is `application/problem+json`."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from service_kit.errors import DependencyUnavailable, ServiceError
from service_kit.responses import JsonResponse

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Problem(Exception):
    """Raised anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        type_: str = "about:blank",
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.field = field
        self.errors = errors
        self.headers = headers
        self.type = type_


def problem_response(problem: Problem, instance: str | None = None) -> JsonResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": _TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
    }
    if instance:
        body["instance"] = instance
    if problem.field:
        body["field"] = problem.field
    if problem.errors:
        body["errors"] = problem.errors
    return JsonResponse(
        body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def validation_problem(errors: list[Any], status: int = 422) -> Problem:
    """Pydantic errors -> one problem naming the first field, listing all of them."""
    items = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
        items.append({"field": ".".join(loc) or None, "detail": str(err.get("msg", "invalid"))})
    first = items[0] if items else {"field": None, "detail": "invalid request"}
    where = f"{first['field']}: " if first["field"] else ""
    return Problem(status, f"{where}{first['detail']}", field=first["field"], errors=items)


def service_problem(exc: ServiceError) -> Problem:
    """Our error -> the problem document the client sees: the class says the status, type,
    field and Retry-After (service_kit.errors); nothing internal is in it."""
    return Problem(exc.status, exc.detail(), field=exc.field, headers=exc.headers() or None,
                   type_=exc.problem_type)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JsonResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_http(request: Request, exc: Exception) -> JsonResponse:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else _TITLES.get(exc.status_code, "")
        return problem_response(
            Problem(exc.status_code, detail, headers=dict(exc.headers or {})), request.url.path
        )

    async def on_validation(request: Request, exc: Exception) -> JsonResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(validation_problem(list(exc.errors()), 422), request.url.path)

    async def on_service_error(request: Request, exc: Exception) -> JsonResponse:
        assert isinstance(exc, ServiceError)
        if isinstance(exc, DependencyUnavailable):
            log.warning("dependency unavailable", extra={"path": request.url.path,
                                                         "error": repr(exc.__cause__ or exc)})
        return problem_response(service_problem(exc), request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JsonResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(Problem(500, "internal error"), request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ServiceError, on_service_error)
    app.add_exception_handler(Exception, on_unexpected)


PROBLEM_RESPONSE_SCHEMA: dict[str, Any] = {
    "description": "An RFC 9457 problem document",
    "content": {
        PROBLEM_JSON: {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "field": {"type": ["string", "null"]},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            }
        }
    },
}


def document_problems(app: FastAPI) -> None:
    """Make the OpenAPI document say what we send: FastAPI documents its validation errors
    (422) as application/json; ours are problem+json like every other error."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    responses = operation.get("responses", {})
                    if "422" in responses:
                        responses["422"] = PROBLEM_RESPONSE_SCHEMA
            components = schema.get("components", {}).get("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
