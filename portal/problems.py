"""RFC 9457 problem details: one place that turns errors into ``application/problem+json``.

Services raise ``Problem`` subclasses (domain errors); DRF's own exceptions are mapped too,
so every API error has the same shape: ``type``, ``title``, ``status``, ``detail`` and
extension members such as ``errors`` or ``retry_after``.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"


def problem_type_uri(slug: str) -> str:
    return f"{settings.SITE_URL}/docs/problems/#{slug}"


class Problem(Exception):
    """A domain error with an HTTP meaning. Subclass per kind; raise with a specific detail."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(self, detail: str = "", *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra

    def as_dict(self) -> dict[str, Any]:
        return problem_body(status=self.status, slug=self.slug, title=self.title, detail=self.detail, **self.extra)


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


def problem_body(*, status: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    body = {"type": problem_type_uri(slug), "title": title, "status": status, "detail": detail}
    body.update(extra)
    return body


def problem_http_response(body: dict[str, Any], *, headers: dict[str, str] | None = None) -> HttpResponse:
    """A plain Django response (for code paths outside DRF, e.g. the gateway hot path)."""
    response = HttpResponse(json.dumps(body), status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


_DRF_SLUGS = {
    exceptions.ValidationError: ("validation-error", "Your request is not valid"),
    exceptions.ParseError: ("malformed-request", "Malformed request body"),
    exceptions.NotAuthenticated: ("unauthenticated", "Authentication required"),
    exceptions.AuthenticationFailed: ("invalid-credentials", "Invalid credentials"),
    exceptions.PermissionDenied: ("forbidden", "Forbidden"),
    exceptions.NotFound: ("not-found", "Not found"),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not-acceptable", "Not acceptable"),
    exceptions.UnsupportedMediaType: ("unsupported-media-type", "Unsupported media type"),
    exceptions.Throttled: ("throttled", "Too many requests"),
}


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF ``EXCEPTION_HANDLER``: every API error becomes problem+json."""
    if isinstance(exc, Problem):
        response = Response(exc.as_dict(), status=exc.status, headers=exc.headers)
        response.content_type = PROBLEM_CONTENT_TYPE
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handling (and logging) take it
    slug, title = "error", "Error"
    for klass in type(exc).__mro__:
        if klass in _DRF_SLUGS:
            slug, title = _DRF_SLUGS[klass]
            break
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        extra["errors"] = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        detail = "One or more fields are invalid; see `errors`."
    else:
        data = response.data
        detail = str(data.get("detail", title)) if isinstance(data, dict) else str(data)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        extra["retry_after"] = int(exc.wait)
    response.data = problem_body(status=response.status_code, slug=slug, title=title, detail=detail, **extra)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response
