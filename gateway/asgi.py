"""The ASGI fast lane: API product calls skip Django's middleware stack.

Every ``/v1/…`` call to an API product (and the unmetered twin under ``/v1/_baseline/``) is
served by ``gateway.proxy.gateway_call`` straight from the ASGI scope, not through the
middleware the portal's pages need (sessions, CSRF, messages, allauth, the active
organization, CSP…): those are sync-only, so Django would run them on a thread of their own
for every request, and none of them has anything to do for an API key call. Measured in
docs/performance.md (bench/bench_proxy.py).

What the lane keeps from Django: the request object (``ASGIHandler.create_request``, with its
body spooled like Django does it), the response writer (``ASGIHandler.send_response``,
streaming included) and the answers of ``portal.middleware.ApiErrorMiddleware`` for failures:
Redis unavailable → 503 problem+json, anything else → 500 problem+json (logged with its
traceback), and the request id (``X-Request-Id``, in the log context while the call is served;
the access line is the gateway's own, ``gateway.requests.access_logged``). ``request_started`` /
``request_finished`` are not sent: a warm call touches no database connection, and a cold one
closes the connection its thread opened (``gateway.proxy._admit_on_thread``).

``/v1/auth/token`` and ``/v1/keys/verify`` (they read the database) and everything else take
Django's full path, as does any server that speaks WSGI (the lane is ASGI only).
"""

from __future__ import annotations

import logging
import time
from contextlib import closing
from typing import cast

from asgiref.sync import ThreadSensitiveContext
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest
from django.http.response import HttpResponseBase

from gateway.proxy import gateway_call
from gateway.requests import access_logged
from gateway.views import BASELINE_PREFIX, gateway_call_unmetered
from portal.logs import REQUEST_ID_HEADER, request_id_from, request_id_var
from portal.middleware import log_unavailable, unavailable_response
from portal.problems import problem_body, problem_http_response
from portal.redis import redis_unavailable

log = logging.getLogger("django.request")

DJANGO_PATHS = ("/v1/auth/token", "/v1/keys/verify")


def in_fast_lane(path: str) -> bool:
    return path.startswith("/v1/") and path not in DJANGO_PATHS


class GatewayFastLane:
    """Wraps the portal's ASGI application (``portal/asgi.py``)."""

    def __init__(self, django: ASGIHandler, *, baseline: bool = False) -> None:
        self.django = django
        self.baseline = baseline

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not in_fast_lane(scope["path"]):
            await self.django(scope, receive, send)
            return
        try:
            body_file = await self.django.read_body(receive)
        except RequestAborted:  # the client went away before sending its body
            return
        with closing(body_file):
            request, error = self.django.create_request(scope, body_file)
            if request is None:
                await self.django.send_response(cast(HttpResponseBase, error), send)
                return
            # As Django does per request: what must run on a thread runs on this request's own
            # (created only if needed), never queued behind another request's (a stalled Redis).
            async with ThreadSensitiveContext():
                response = await self._serve(request)
            await self.django.send_response(response, send)

    async def _serve(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        request_id = request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        request.request_id = request_id  # type: ignore[attr-defined]  # gateway.requests.request_id_of
        token = request_id_var.set(request_id)
        try:
            if self.baseline and request.path.startswith(BASELINE_PREFIX + "/"):
                return await gateway_call_unmetered(request)
            return await gateway_call(request)
        except Exception as exc:
            if redis_unavailable(exc):
                log_unavailable(request, exc)
                response = unavailable_response()
            else:
                log.exception("Internal Server Error: %s", request.path, extra={"status_code": 500, "request": request})
                response = problem_http_response(
                    problem_body("error", "Something went wrong on our side; retry later.")
                )
            response[REQUEST_ID_HEADER] = request_id
            access_logged(request, request_id, started, response.status_code, None)
            return response
        finally:
            request_id_var.reset(token)
