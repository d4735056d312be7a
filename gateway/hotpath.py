"""The metered request: credential → key → scope → validation → admission → serve → record.

Deliberately a lean Django view, not a DRF view (measured in docs/performance.md): the
only I/O before the response is ONE Redis round trip (the admission script); the key is
served from process memory, the usage event is buffered and written by the recorder thread.
DRF serializers still validate the input so the OpenAPI schema and the behaviour agree.
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

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from gateway.responses import (
    InvalidCredentials, InvalidRequest, MethodNotAllowed, ScopeForbidden, Unauthenticated, UnsupportedMediaType,
    problem_response, rate_limit_headers, refusal_response,
)
from keys.cache import KeyRecord, key_lookup, looks_like_key
from keys.tokens import TokenInvalid, token_verify
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


def credential_of(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.META.get("HTTP_X_API_KEY", "").strip()


def authenticate(request: HttpRequest) -> KeyRecord:
    """The key behind the request (API key or a JWT minted from one); raises a 401 Problem."""
    raw = credential_of(request)
    if not raw:
        raise Unauthenticated(
            "Send your API key as `Authorization: Bearer tg_live_…` or `X-API-Key`.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if looks_like_key(raw):
        record = key_lookup(raw)
        if record is None:
            raise InvalidCredentials("This API key does not exist.", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        reason = record.refusal()
        if reason:
            raise InvalidCredentials(f"This API key is {reason}.", reason=reason,
                                     headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return record
    if raw.count(".") == 2:
        try:
            return token_verify(raw)
        except TokenInvalid as exc:
            raise InvalidCredentials(f"Bearer token rejected: {exc}.",
                                     headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    raise InvalidCredentials("Malformed credential: expected an API key (tg_live_…/tg_test_…) or a token.",
                             headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


def validate(serializer_class, data) -> dict:
    if serializer_class is None:
        return {}
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidRequest("One or more fields are invalid; see `errors`.", errors=serializer.errors)
    return serializer.validated_data


def json_body(request: HttpRequest) -> Any:
    if not request.body:
        return {}
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type and not content_type.startswith("application/json"):
        raise UnsupportedMediaType("Send the request body as application/json.")
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The request body is not valid JSON.") from None


def _fingerprint(request: HttpRequest) -> str:
    return hashlib.sha256(request.method.encode() + request.path.encode() + b"\n" + request.body).hexdigest()[:32]


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
                data = validate(input_serializer, json_body(request) if body else kwargs)
                idem = _idempotency_key(request)
                fingerprint = _fingerprint(request) if idem else ""
                decision = limiter.admit(org_id=key.org_id, key_id=key.id, idem=idem, fingerprint=fingerprint)
                if decision.code == limiter.IDEM_REPLAY:
                    return _replay(decision, request_id)
                if decision.code != limiter.ADMITTED:
                    return refusal_response(decision, request_id)
            except Problem as problem:
                return problem_response(problem.as_dict(), request_id, problem.headers)
            # Admitted: from here on the request counts, so a domain error from the handler
            # is answered AND recorded (and its Idempotency-Key finished) like any response.
            content_type, extra_headers = JSON, {}
            try:
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
                recorder.defer_set(limiter.idempotency_key(key.org_id, idem),
                                   limiter.idempotent_response_value(fingerprint=fingerprint, stored=stored),
                                   IDEMPOTENCY_TTL)
            recorder.record(usage_event_build(
                key=key, operation_id=operation_id, method=request.method, status=served.status, units=units,
                meter=meter, plan=decision.plan, request_id=request_id, started=started,
            ))
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
            response = HttpResponse(json.dumps(served.body, separators=(",", ":")), status=served.status, content_type=JSON)
            response["X-Request-Id"] = request_id
            return response

        return view

    return decorator
