"""One error body for the whole API: {"error": {"code", "message", "details"}}.

`message` is in the reader's language (French, Dutch or English: `?lang=`, the pages'
choice, the signed-in user's stored one, else Accept-Language, else the site's default;
server/core/languages.py), its reason too (a `Phrase` of the catalogue, not a text). Every
code the API can answer has its message in the `api` catalogue
(server/locale/<lang>/LC_MESSAGES/api.po, server/core/catalogue.py), in every language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from server.core import catalogue, numbers
from server.core.validation_fr import problem

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str  # in the reader's language (fr, nl, en): server/core/languages.py
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
class Phrase:
    """A message of the `api` catalogue's `detail` context (a refusal's reason, what a
    conflict names) with its parameters: the error body, and a page showing the refusal,
    write it in the reader's language (`message`). A parameter may itself be a Phrase, a
    tuple of them (joined by « ; »), a `Figure`, a `Names` or a `Value`."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


def phrase(key: str, **params: Any) -> Phrase:
    return Phrase(key, params)


@dataclass(frozen=True)
class Figure:
    """A number written in the reader's language (server/core/numbers.py: « 5,4 » / "5.4"),
    with `digits` decimals, or (None) as many as it has."""

    value: float | None
    digits: int | None = None


@dataclass(frozen=True)
class Names:
    """A name given in each language by data, not by the catalogue (a product category's
    name in alerts/profiles.toml): language -> name, French always there."""

    by_language: Mapping[str, str]


@dataclass(frozen=True)
class Value:
    """A stored value (a state, a role, an organisation's kind) by the name the pages give
    it in the reader's language (the `pages` catalogue, context `value`), not its code."""

    code: str


def value_name(code: str, lang: str) -> str:
    """A stored value's name in `lang` (a code without a name: as it is)."""
    return catalogue.words("pages", lang, "value").get(code, code)


class ApiError(Exception):
    def __init__(self, status: int, code: str, **params: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.params = params


def invalid(key: str, **params: Any) -> ApiError:
    """A 422 `validation_error` whose reason is the `detail` message `key` with `params`:
    a rule of the domain refusing what the schema alone cannot check."""
    return ApiError(422, "validation_error", detail=Phrase(key, params))


def conflict(key: str, **params: Any) -> ApiError:
    """A 409 `conflict` with what it conflicts with: the `detail` message `key`."""
    return ApiError(409, "conflict", detail=Phrase(key, params))


def require_period(start: datetime, end: datetime | None) -> None:
    """Refuse (422) a period [start, end) that does not end after it starts (`end` None:
    still running)."""
    if end is not None and end <= start:
        raise invalid("end_before_start")


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


def _written(value: Any, lang: str) -> Any:
    """A parameter as the reader reads it: phrases, names and stored values in `lang`,
    figures with its decimal sign; anything else as it is."""
    if isinstance(value, Phrase):
        template = catalogue.words("api", lang, "detail").get(value.key, value.key)
        return _filled(template, _written_params(value.params, lang))
    if isinstance(value, tuple) and all(isinstance(v, Phrase) for v in value):
        return "; ".join(_written(v, lang) for v in value)
    if isinstance(value, Figure):
        return numbers.decimal(value.value, lang, value.digits)
    if isinstance(value, Names):
        return value.by_language.get(lang) or value.by_language["fr"]
    if isinstance(value, Value):
        return value_name(value.code, lang)
    return value


def _written_params(params: Mapping[str, Any], lang: str) -> dict[str, Any]:
    return {name: _written(v, lang) for name, v in params.items()}


def _filled(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def message(code: str, lang: str, params: Mapping[str, Any]) -> str:
    """The error `code`'s message in `lang`, its parameters written in `lang` too."""
    texts = catalogue.words("api", lang)
    template = texts.get(code) or texts["internal_error"]
    return _filled(template, _written_params(params, lang))


def accepted_language(request: Request) -> str:
    """Accept-Language, else the site's default: the reader's language when nothing else
    says it (`install`'s default)."""
    return language(request, getattr(request.app.state, "default_language", "fr"))


def error_response(
    status: int, code: str, lang: str, details: Any = None, **params: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message(code, lang, params)}
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


def install(app: FastAPI, reader: Callable[[Request], str] = accepted_language) -> None:
    """The API's error handlers; `reader` says a request's language (server/core/
    languages.py `reader_language`: the pages' choice first). It may read the database: it
    runs in the thread pool, as a route would."""

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        lang = await run_in_threadpool(reader, request)
        return error_response(exc.status, exc.code, lang, **exc.params)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "validation_error")
        lang = await run_in_threadpool(reader, request)
        return error_response(exc.status_code, code, lang, detail=str(exc.detail)[:300])

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        lang = await run_in_threadpool(reader, request)
        details = _validation_details(exc, lang)
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(422, "invalid_json", lang, details=details)
        summary = "; ".join(f"{d['field']}: {d['problem']}" for d in details[:3])
        return error_response(422, "validation_error", lang, details=details, detail=summary)

    async def unexpected(request: Request, _exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # Not `reader`: what failed may be the database it would read.
        return error_response(500, "internal_error", accepted_language(request))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(Exception, unexpected)
