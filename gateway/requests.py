"""The metered request: credential → key → scope → admission → validation → serve → record.

Deliberately a lean Django view, not a DRF view (measured in docs/performance.md): the
only I/O before the response is ONE Redis round trip (the admission script); the key is
served from process memory, the usage event is buffered and written by the recorder thread.
DRF serializers still validate the input so the OpenAPI schema and the behaviour agree.

Admission comes before parsing and validation: once authenticated, a malformed, oversized or
invalid request counts like any other (rate limits, quota, a usage event with 0 units), so
nobody can flood the API with bad requests outside their limits. Failed authentications are
counted per client address instead (``gateway.guard``).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from gateway.credentials import authenticate
from gateway.responses import (
    InvalidRequest,
    MalformedRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    ScopeForbidden,
    UnsupportedMediaType,
    problem_response,
    rate_limit_headers,
    refusal_response,
)
from plans.operations import meter_for
from portal.problems import PROBLEM_CONTENT_TYPE, Problem
from usage import limiter
from usage.events import usage_event_build
from usage.recorder import recorder

JSON = "application/json"
IDEMPOTENCY_TTL = 86_400
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(slots=True)
class Served:
    body: Any
    status: int = 200
    units: int | None = None  # for operations whose units are reported by the endpoint


def request_id_of(request: HttpRequest) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex


def validate(serializer_class, data) -> dict:
    if serializer_class is None:
        return {}
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidRequest("One or more fields are invalid; see `errors`.", errors=serializer.errors)
    return serializer.validated_data


def request_body(request: HttpRequest) -> bytes:
    """The raw body; a 413 problem when it is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""
    try:
        return request.body
    except RequestDataTooBig:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raise PayloadTooLarge(f"The request body is larger than {limit:,} bytes.", max_bytes=limit) from None


def json_decode(raw: bytes, content_type: str) -> Any:
    if not raw:
        return {}
    if content_type and not content_type.startswith("application/json"):
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise MalformedRequest("The request body is not valid JSON.") from None
    except RecursionError:
        raise MalformedRequest("The request body nests arrays or objects too deeply.") from None


def json_body(request: HttpRequest) -> Any:
    return json_decode(request_body(request), request.META.get("CONTENT_TYPE", ""))


def _fingerprint(request: HttpRequest, body: bytes) -> str:
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + body).hexdigest()[:32]


def _idempotency_key(request: HttpRequest) -> str | None:
    if request.method != "POST":
        return None
    value = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if value is None:
        return None
    if not 1 <= len(value) <= 255 or not value.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1–255 printable characters.")
    return value


def _replay(decision: limiter.Decision, request_id: str) -> HttpResponse:
    stored = json.loads(decision.extra)
    response = HttpResponse(stored["b"], status=stored["s"], content_type=JSON)
    response["X-Request-Id"] = request_id
    response["Idempotent-Replayed"] = "true"
    response["X-Usage-Units"] = "0"  # a replay is not charged again
    return response


def metered(operation_id: str, *, method: str, input_serializer=None, body: bool = False) -> Callable:
    """Wrap ``handler(request, data, key, **kwargs) -> Served`` as a metered, limited view."""

    def decorator(handler: Callable[..., Served]) -> Callable:
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            started = time.perf_counter()
            request_id = request_id_of(request)
            if request.method != method:
                return problem_response(MethodNotAllowed(f"Use {method}.").as_dict(), request_id, {"Allow": method})
            try:
                key = authenticate(request)
                if not key.allows(operation_id):
                    raise ScopeForbidden(f"This key may call only: {', '.join(key.scopes)}.", operation=operation_id)
                # What is wrong with the request itself is answered after admission: it counts.
                invalid: Problem | None = None
                raw_body, idem = b"", None
                try:
                    raw_body = request_body(request) if body else b""
                    idem = _idempotency_key(request)
                except Problem as problem:
                    invalid = problem
                fingerprint = _fingerprint(request, raw_body) if idem else ""
                decision = limiter.admit(
                    org_id=key.org_id, key_id=key.id, idem=idem, idem_scope=key.idem_scope, fingerprint=fingerprint
                )
                if decision.code == limiter.IDEM_REPLAY:
                    return _replay(decision, request_id)
                if decision.code != limiter.ADMITTED:
                    return refusal_response(decision, request_id)
            except Problem as problem:
                return problem_response(problem.as_dict(), request_id, problem.headers)
            # Admitted: from here on the request counts, so invalid input or a domain error from
            # the handler is answered AND recorded (and its Idempotency-Key finished) like any response.
            content_type, extra_headers = JSON, {}
            try:
                if invalid is not None:
                    raise invalid
                data = validate(
                    input_serializer, json_decode(raw_body, request.META.get("CONTENT_TYPE", "")) if body else kwargs
                )
                served = handler(request, data=data, key=key, **kwargs)
            except Problem as problem:
                served = Served(problem.as_dict(), status=problem.status)
                content_type, extra_headers = PROBLEM_CONTENT_TYPE, problem.headers
            meter, units_mode, per_call = meter_for(operation_id)
            units = (served.units or 0) if units_mode == "reported" else per_call
            if served.status >= 400:
                units = 0
            payload = json.dumps(served.body, separators=(",", ":"))
            response = HttpResponse(payload, status=served.status, content_type=content_type)
            response["X-Request-Id"] = request_id
            for name, value in extra_headers.items():
                response[name] = value
            for name, value in rate_limit_headers(decision).items():
                response[name] = value
            response["X-Usage-Units"] = str(units)
            if meter:
                response["X-Usage-Meter"] = meter
            if decision.overage:
                response["X-Usage-Overage"] = "true"
            if idem:
                stored = json.dumps({"s": served.status, "b": payload}, separators=(",", ":"))
                recorder.defer_set(
                    limiter.idempotency_key(key.org_id, key.idem_scope or key.id, idem),
                    limiter.idempotent_response_value(fingerprint=fingerprint, stored=stored),
                    IDEMPOTENCY_TTL,
                )
            recorder.record(
                usage_event_build(
                    key=key,
                    operation_id=operation_id,
                    method=request.method,
                    status=served.status,
                    units=units,
                    meter=meter,
                    plan=decision.plan,
                    request_id=request_id,
                    started=started,
                )
            )
            return response

        view.operation_id = operation_id
        return view

    return decorator


def unmetered(*, method: str, input_serializer=None, body: bool = False) -> Callable:
    """The baseline twin of ``metered``: same parsing, validation and serving, no auth/limits/recording.

    Mounted only when ``GATEWAY_BASELINE_ENABLED`` is on (benchmarks), never in production.
    """

    def decorator(handler: Callable[..., Served]) -> Callable:
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, **kwargs) -> HttpResponse:
            request_id = request_id_of(request)
            if request.method != method:
                return problem_response(MethodNotAllowed(f"Use {method}.").as_dict(), request_id, {"Allow": method})
            try:
                data = validate(input_serializer, json_body(request) if body else kwargs)
                served = handler(request, data=data, key=None, **kwargs)
            except Problem as problem:
                return problem_response(problem.as_dict(), request_id, problem.headers)
            response = HttpResponse(
                json.dumps(served.body, separators=(",", ":")), status=served.status, content_type=JSON
            )
            response["X-Request-Id"] = request_id
            return response

        return view

    return decorator
