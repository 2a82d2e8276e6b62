"""One error body for the whole API: {"error": {"code", "message", "details"}}.

`message` is French unless the client's Accept-Language prefers English. Every code
the API can answer has its message in the `api` catalogue (server/locale/<lang>/
LC_MESSAGES/api.po, server/core/catalogue.py), in every language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.core import catalogue
from server.core.validation_fr import problem

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str  # French unless Accept-Language prefers English
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# Declared on every API route, so the OpenAPI document shows the one error body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "Malformed request body (not JSON, not UTF-8)"),
        (401, "Not authenticated"),
        (403, "Not allowed"),
        (404, "Not found (or not visible to the caller)"),
        (409, "Conflicts with existing data or the delivery's state"),
        (413, "Request body too large"),
        (422, "Invalid input; the message says why"),
        (429, "Too many failed logins"),
    )
}


@dataclass(frozen=True)
class Both:
    """A message parameter in both languages (the error body picks the caller's)."""

    fr: str
    en: str

    def __str__(self) -> str:
        return self.fr


class ApiError(Exception):
    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params


def invalid(fr: str, en: str) -> ApiError:
    """A 422 `validation_error` whose reason is given in both languages: a rule of the
    domain refusing what the schema alone cannot check."""
    return ApiError(422, "validation_error", detail=Both(fr, en))


def conflict(fr: str, en: str) -> ApiError:
    """A 409 `conflict` with what it conflicts with, in both languages."""
    return ApiError(409, "conflict", detail=Both(fr, en))


def require_period(start: datetime, end: datetime | None) -> None:
    """Refuse (422) a period [start, end) that does not end after it starts (`end` None:
    still running)."""
    if end is not None and end <= start:
        raise invalid("la fin doit être après le début", "end must be after start")


def language(request: Request, default: str) -> str:
    """The first language of the catalogues in Accept-Language (quality values honoured),
    else `default`."""
    header = request.headers.get("accept-language", "")
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower()[:2]
        if primary in catalogue.LANGUAGES and quality > 0:
            choices.append((-quality, index, primary))
    return min(choices)[2] if choices else default


def message(code: str, lang: str, params: dict[str, Any]) -> str:
    texts = catalogue.words("api", lang)
    template = texts.get(code) or texts["internal_error"]
    params = {
        k: (v.en if lang == "en" else v.fr) if isinstance(v, Both) else v for k, v in params.items()
    }
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def error_response(
    request: Request, status: int, code: str, details: Any = None, **params: Any
) -> JSONResponse:
    default = getattr(request.app.state, "default_language", "fr")
    body: dict[str, Any] = {
        "code": code,
        "message": message(code, language(request, default), params),
    }
    if details is not None:
        body["details"] = details
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 429 and isinstance(params.get("seconds"), int):
        headers = {"Retry-After": str(params["seconds"])}  # a login's wait (domain/sessions.py)
    return JSONResponse({"error": body}, status_code=status, headers=headers)


_HTTP_CODES = {
    400: "invalid_json",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
}


def _validation_details(exc: RequestValidationError, lang: str) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors()[:20]:  # a hostile body could produce thousands
        details.append(
            {
                "field": ".".join(str(part) for part in error.get("loc", ())),
                "problem": problem(error, lang)[:300],
                "type": error.get("type"),
            }
        )
    return details


def install(app: FastAPI) -> None:
    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(request, exc.status, exc.code, **exc.params)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "validation_error")
        return error_response(request, exc.status_code, code, detail=str(exc.detail)[:300])

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = language(request, request.app.state.default_language)
        details = _validation_details(exc, lang)
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(request, 422, "invalid_json", details=details)
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:3])
        return error_response(request, 422, "validation_error", details=details, detail=summary)

    async def unexpected(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal_error")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)
