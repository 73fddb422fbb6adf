"""One JSON error shape for every failure the HTTP API reports, and the one place errors become statuses.

Every error body is ``{"error": {"status": 404, "code": "not_found", "message": "...", "details": [...]}}``
where `message` says what to change. Library errors (`foundation.errors`) are mapped by `status_for`;
request validation, unknown routes, auth, size and rate limits use the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from recassist.foundation.errors import (
    BackendError,
    ConfigError,
    DataFormatError,
    FilterError,
    InputError,
    LLMError,
    LLMTimeoutError,
    NotFoundError,
    RecassistError,
    StateMismatchError,
    StoreError,
    UnknownDomainError,
    UnknownItemError,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("recassist.api")

# Most specific first: the first class an error is an instance of decides. StateMismatchError is an
# InputError for the CLI (the operator must run a command), but to an API caller the server is not ready.
_STATUS_BY_ERROR: tuple[tuple[type[Exception], int, str], ...] = (
    (NotFoundError, 404, "not_found"),
    (UnknownItemError, 404, "unknown_item"),
    (FilterError, 422, "invalid_filter"),
    (UnknownDomainError, 422, "unknown_domain"),
    (DataFormatError, 422, "invalid_data"),
    (StateMismatchError, 503, "not_prepared"),
    (ConfigError, 500, "server_misconfigured"),
    (InputError, 400, "invalid_input"),
    (LLMTimeoutError, 504, "llm_timeout"),
    (LLMError, 503, "llm_unavailable"),
    (StoreError, 503, "store_unavailable"),
    (BackendError, 503, "backend_unavailable"),
    (RecassistError, 500, "internal_error"),
)

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    loc: str = Field(description="Where in the request, e.g. 'body.k'.")
    message: str


class ErrorInfo(BaseModel):
    status: int
    code: str = Field(description="Stable machine-readable code, e.g. 'not_found', 'rate_limited'.")
    message: str = Field(description="What went wrong and what to change.")
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorBody(BaseModel):
    error: ErrorInfo


class ApiError(Exception):
    """Raised by the edge (auth, limits) to answer with the shared error shape."""

    def __init__(self, status: int, message: str, *, code: str | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers
        self.code = code or _CODE_BY_STATUS.get(status, "error")


def status_for(exc: Exception) -> tuple[int, str]:
    """(HTTP status, code) for a library error; 500 for anything unexpected."""
    for cls, status, code in _STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, code
    return 500, "internal_error"


def error_payload(status: int, code: str, message: str, details: list[ErrorDetail] | None = None) -> dict:
    return ErrorBody(error=ErrorInfo(status=status, code=code, message=message, details=details or [])).model_dump()


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    details: list[ErrorDetail] | None = None,
    headers: dict | None = None,
) -> JSONResponse:
    return JSONResponse(error_payload(status, code, message, details), status_code=status, headers=headers)


# Responses every /v1 route can give, for the OpenAPI docs.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorBody, "description": d}
    for s, d in (
        (400, "The input cannot be used; the message says what to change."),
        (401, "Missing or wrong API key (when keys are configured)."),
        (404, "Unknown user profile, item or entry."),
        (413, "Request body larger than RECASSIST_API_MAX_BODY_BYTES."),
        (422, "Request does not match the schema (unknown field, wrong type, out of range)."),
        (429, "Rate limit for this key exceeded; see Retry-After."),
        (503, "A backend (LLM, vector store, profile store) failed, or the server is not prepared."),
    )
}


def _validation_details(exc: RequestValidationError) -> list[ErrorDetail]:
    details = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        msg = err.get("msg", "invalid")
        if err.get("type") == "extra_forbidden":
            msg = "unknown field; remove it (see /docs for the accepted fields)"
        details.append(ErrorDetail(loc=loc, message=msg))
    return details


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through the shared shape."""

    @app.exception_handler(RecassistError)
    async def _library_error(request: Request, exc: RecassistError) -> JSONResponse:
        status, code = status_for(exc)
        if status >= 500:
            log.warning("%s %s -> %d %s: %s", request.method, request.url.path, status, code, exc)
        return error_response(status, code, str(exc))

    @app.exception_handler(ApiError)
    async def _edge_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        summary = "; ".join(f"{d.loc}: {d.message}" for d in details[:5])
        return error_response(422, "invalid_request", f"request does not match the schema: {summary}", details=details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        code = _CODE_BY_STATUS.get(exc.status_code, "error")
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Internals stay in the server log; the caller gets a stable, non-revealing message.
        log.exception("unhandled error in %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal server error; the server log has the details")
