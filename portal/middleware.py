"""API calls are answered in problem+json whatever went wrong, never with an HTML error page.

For ``/api/…`` and ``/v1/…``:

* Redis unreachable, hung or still loading after a restart (``portal.redis.REDIS_UNAVAILABLE``)
  → ``503 temporarily-unavailable`` with ``Retry-After``: the client should simply retry, and
  nothing was counted or charged.
* A body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` → ``413 payload-too-large``.
* Anything else unhandled → ``500 error`` (still logged with its traceback by Django).

An exception raised in a view reaches ``process_exception``. One raised in another middleware
(a session read when Redis is down) never does: Django turns it into its HTML error page at
that layer. So a ``got_request_exception`` receiver notes the exception on the request, and this
middleware — the outermost — replaces the HTML page on the way out.
"""

from __future__ import annotations

import logging
import sys
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse

from portal.problems import problem_body, problem_http_response
from portal.redis import redis_unavailable

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/v1/")
RETRY_AFTER = 2  # seconds: about one Redis connect + read timeout


def _note_exception(sender, request: HttpRequest | None = None, **kwargs) -> None:
    if request is not None:
        request._unhandled_exception = sys.exc_info()[1]


got_request_exception.connect(_note_exception, dispatch_uid="portal.middleware.note_exception")


def unavailable_response() -> HttpResponse:
    body = problem_body(
        "temporarily-unavailable",
        f"A service this API depends on is briefly unavailable; retry in {RETRY_AFTER} seconds.",
        retry_after=RETRY_AFTER,
    )
    response = problem_http_response(body, headers={"Retry-After": str(RETRY_AFTER)})
    response._has_been_logged = True  # logged by _log_unavailable, once per 10 s, not once per request
    return response


def too_large_response() -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = problem_body("payload-too-large", f"The request body is larger than {limit:,} bytes.", max_bytes=limit)
    return problem_http_response(body)


def _too_large(request: HttpRequest) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is not None and length > limit


_GENERIC = {400: "bad-request", 403: "forbidden", 404: "not-found", 405: "method-not-allowed"}


_logged = {"at": 0.0, "quiet": 0}


def log_unavailable(request: HttpRequest, exc: Exception) -> None:
    """One warning per 10 s per process, with the count of those left out: an outage under
    traffic must not turn into a logging flood."""
    now = time.monotonic()
    if now - _logged["at"] < 10:
        _logged["quiet"] += 1
        return
    log.warning(
        "Redis unavailable on %s %s: %s (%d more 503s since the last warning)",
        request.method,
        request.path,
        exc,
        _logged["quiet"],
    )
    _logged["at"], _logged["quiet"] = now, 0


class ApiErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not request.path.startswith(API_PREFIXES):
            return response
        if not response.get("Content-Type", "").startswith("text/html"):
            return response  # already JSON / problem+json (or a deliberate non-HTML body)
        problem = self._problem_for(request, response)
        # Django logged the page it rendered (with the traceback); don't log the replacement again.
        problem._has_been_logged = getattr(response, "_has_been_logged", False)
        return problem

    @staticmethod
    def _problem_for(request: HttpRequest, response: HttpResponse) -> HttpResponse:
        exc = getattr(request, "_unhandled_exception", None)
        if exc is not None and redis_unavailable(exc):
            return unavailable_response()
        if response.status_code == 400 and _too_large(request):
            return too_large_response()
        if response.status_code >= 500:
            return problem_http_response(problem_body("error", "Something went wrong on our side; retry later."))
        body = problem_body(_GENERIC.get(response.status_code, "bad-request"))
        body["status"] = response.status_code
        return problem_http_response(body)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIXES):
            return None
        if redis_unavailable(exception):
            log_unavailable(request, exception)
            return unavailable_response()
        if isinstance(exception, RequestDataTooBig):
            return too_large_response()
        return None
