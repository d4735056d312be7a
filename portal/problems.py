"""RFC 9457 problem details: the one registry of problem types, and the one way to answer with them.

Every problem type the API can return is registered here once — slug, status, title and a
sentence saying when it happens. The hot path, the DRF exception handler, the OpenAPI schema
and the ``/docs/problems/`` page all read this registry, so a title cannot drift between the
answer a client gets and the documentation that describes it.

Services raise ``Problem`` subclasses (domain errors); a subclass registers its own type when
it is defined. DRF's own exceptions are mapped too, so every API error has the same shape:
``type``, ``title``, ``status``, ``detail`` and extension members such as ``errors`` or
``retry_after``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from rest_framework import exceptions
from rest_framework.response import Response

PROBLEM_CONTENT_TYPE = "application/problem+json"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str
    description: str


PROBLEM_TYPES: dict[str, ProblemType] = {}


def problem_type_register(slug: str, status: int, title: str, description: str = "") -> ProblemType:
    """Register a problem type; registering the same slug again must agree on status and title."""
    known = PROBLEM_TYPES.get(slug)
    if known is not None:
        if (known.status, known.title) != (status, title):
            raise ValueError(f"problem type {slug!r} registered twice with different status or title")
        if description and not known.description:
            PROBLEM_TYPES[slug] = ProblemType(slug, status, title, description)
        return PROBLEM_TYPES[slug]
    PROBLEM_TYPES[slug] = ProblemType(slug, status, title, description)
    return PROBLEM_TYPES[slug]


for _slug, _status, _title, _description in (
    ("bad-request", 400, "Bad request", "The request could not be processed as sent."),
    (
        "malformed-request",
        400,
        "Malformed request body",
        "The body is not valid JSON (or not the declared content type).",
    ),
    (
        "validation-error",
        400,
        "Your request is not valid",
        "One or more fields are invalid; `errors` maps each field to its messages.",
    ),
    (
        "unprocessable",
        422,
        "Unprocessable request",
        "The request is well-formed but cannot be carried out (e.g. an unknown recipient).",
    ),
    (
        "unauthenticated",
        401,
        "Authentication required",
        "No credential was sent. Send `X-API-Key: <key>` or `Authorization: Bearer <key or JWT>`.",
    ),
    ("invalid-credentials", 401, "Invalid credentials", "The key or JWT is unknown, revoked, expired or malformed."),
    (
        "forbidden",
        403,
        "Forbidden",
        "The credential is valid but may not perform this operation (scope, role or account state).",
    ),
    ("not-found", 404, "Not found", "The resource does not exist or belongs to another organization."),
    ("method-not-allowed", 405, "Method not allowed", "The path exists but not with this HTTP method."),
    ("not-acceptable", 406, "Not acceptable", "The `Accept` header asks for a representation we cannot produce."),
    ("conflict", 409, "Conflict", "The request conflicts with the current state (e.g. a duplicate)."),
    (
        "payload-too-large",
        413,
        "Payload too large",
        "The request body is larger than the server accepts (`max_bytes`).",
    ),
    ("unsupported-media-type", 415, "Unsupported media type", "Send JSON with `Content-Type: application/json`."),
    (
        "rate-limited",
        429,
        "Rate limit exceeded",
        "Too many requests in the current second or minute. Wait `Retry-After` seconds.",
    ),
    (
        "quota-exceeded",
        429,
        "Monthly quota exceeded",
        "The plan's monthly quota is used up. Upgrade, or wait for the next period.",
    ),
    ("throttled", 429, "Too many requests", "Too many requests; wait `Retry-After` seconds."),
    ("error", 500, "Error", "Something went wrong on our side; retry later and quote `X-Request-Id`."),
    ("bad-gateway", 502, "Bad gateway", "The upstream API could not be reached or gave an invalid answer."),
    (
        "temporarily-unavailable",
        503,
        "Temporarily unavailable",
        "A dependency is briefly unavailable (e.g. plan limits being refreshed). Retry after `Retry-After` seconds.",
    ),
    (
        "gateway-timeout",
        504,
        "The upstream API timed out",
        "The upstream API did not connect or answer within the API's timeouts.",
    ),
):
    problem_type_register(_slug, _status, _title, _description)


def problem_type_uri(slug: str) -> str:
    return f"{settings.SITE_URL}/docs/problems/#{slug}"


def problem_body(slug: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    """The JSON body of a registered problem type (status and title come from the registry)."""
    kind = PROBLEM_TYPES[slug]
    body = {"type": problem_type_uri(slug), "title": kind.title, "status": kind.status, "detail": detail or kind.title}
    body.update(extra)
    return body


def problem_http_response(body: dict[str, Any], *, headers: dict[str, str] | None = None) -> HttpResponse:
    """A plain Django response (for code paths outside DRF, e.g. the gateway hot path)."""
    response = HttpResponse(json.dumps(body), status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class Problem(Exception):
    """A domain error with an HTTP meaning. Subclass per kind; raise with a specific detail.

    A subclass registers its problem type when defined: its docstring is the description
    shown on the problems page.
    """

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        problem_type_register(cls.slug, cls.status, cls.title, " ".join((cls.__doc__ or "").split()))

    def __init__(self, detail: str = "", *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return problem_body(self.slug, self.detail, **self.extra)


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


DRF_PROBLEM_SLUGS: dict[type[exceptions.APIException], str] = {
    exceptions.ValidationError: "validation-error",
    exceptions.ParseError: "malformed-request",
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "invalid-credentials",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.NotAcceptable: "not-acceptable",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.Throttled: "throttled",
}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every API error becomes problem+json."""
    # Function-level on purpose: importing rest_framework.views loads the DEFAULT_AUTHENTICATION
    # and DEFAULT_PERMISSION classes (accounts.authentication, accounts.permissions), which raise
    # Problems from this module; at module level that is an import cycle through DRF's settings.
    from rest_framework.views import exception_handler as drf_exception_handler  # noqa: PLC0415

    if isinstance(exc, Problem):
        problem_response = Response(exc.as_dict(), status=exc.status, headers=exc.headers)
        problem_response.content_type = PROBLEM_CONTENT_TYPE
        return problem_response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling (and logging) take it
    slug = next((DRF_PROBLEM_SLUGS[k] for k in type(exc).__mro__ if k in DRF_PROBLEM_SLUGS), "error")
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        detail = "One or more fields are invalid; see `errors`."
    else:
        data = response.data
        detail = str(data.get("detail", "")) if isinstance(data, dict) else str(data)
    # drf-stubs leave out Throttled.wait (set in its __init__).
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        extra["retry_after"] = int(wait)
    body = problem_body(slug, detail, **extra)
    body["status"] = response.status_code
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
