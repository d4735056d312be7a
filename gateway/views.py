"""Gateway endpoints under ``/v1/``: the sample API, token exchange, verify and the proxy."""

from __future__ import annotations

import asyncio
import hmac
import json
import time
import weakref

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway import samples
from gateway.hotpath import JSON, authenticate, credential_of, json_body, metered, request_id_of, unmetered, validate
from gateway.identity import identity_headers, reserved_header
from gateway.proxy_url import upstream_url
from gateway.responses import (
    InvalidCredentials,
    MethodNotAllowed,
    ScopeForbidden,
    problem_response,
    rate_limit_headers,
    refusal_response,
)
from keys.cache import KeyRecord, dead_key, looks_like_key
from keys.models import KeyMode
from keys.tokens import token_issue
from plans.operations import OPERATION_CHOICES, meter_for
from portal.problems import Problem, problem_body
from portal.redis import redis_client
from usage import limiter
from usage.events import usage_event_build
from usage.recorder import recorder

sms_send = metered("sms_send", method="POST", input_serializer=samples.SmsSendInput, body=True)(samples.sms_send)
delivery_status_get = metered("delivery_status_get", method="GET", input_serializer=samples.DeliveryStatusInput)(
    samples.delivery_status_get
)
ai_completion_create = metered(
    "ai_completion_create", method="POST", input_serializer=samples.CompletionInput, body=True
)(samples.ai_completion_create)

# Baseline twins for bench/bench_gateway.py (mounted only with GATEWAY_BASELINE_ENABLED).
baseline_delivery_status_get = unmetered(method="GET", input_serializer=samples.DeliveryStatusInput)(
    samples.delivery_status_get
)
baseline_sms_send = unmetered(method="POST", input_serializer=samples.SmsSendInput, body=True)(samples.sms_send)


def _key_alive(record: KeyRecord) -> bool:
    dead = redis_client().get(dead_key(record.org_id, record.id))
    return dead is None or float(dead) > time.time()


# --- POST /v1/auth/token ---------------------------------------------------------------------------
class TokenOutput(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the token expires.")


@csrf_exempt
def auth_token_create(request: HttpRequest) -> HttpResponse:
    request_id = request_id_of(request)
    if request.method != "POST":
        return problem_response(MethodNotAllowed("Use POST.").as_dict(), request_id, {"Allow": "POST"})
    try:
        record = authenticate(request)
        if record.prefix and not looks_like_key(credential_of(request)):
            raise InvalidCredentials("Exchange an API key, not a token, for a token.")
        if not _key_alive(record):
            raise InvalidCredentials("This API key has been revoked or rotated out.", reason="revoked")
    except Problem as problem:
        return problem_response(problem.as_dict(), request_id, problem.headers)
    token, expires_in = token_issue(record=record)
    response = HttpResponse(
        json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}), content_type=JSON
    )
    response["X-Request-Id"] = request_id
    response["Cache-Control"] = "no-store"
    return response


# --- POST /v1/keys/verify -----------------------------------------------------------------------------
class VerifyInput(serializers.Serializer):
    key = serializers.CharField(max_length=2048, help_text="The customer's API key or token, as they sent it to you.")
    operation_id = serializers.ChoiceField(choices=OPERATION_CHOICES, help_text="The operation the customer calls.")
    units = serializers.IntegerField(
        min_value=0,
        max_value=1_000_000_000,
        required=False,
        help_text="Units to charge (for operations whose units the endpoint reports).",
    )
    charge = serializers.BooleanField(default=True, help_text="Count the call against limits and bill it.")


class VerifyOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    code = serializers.ChoiceField(choices=["ok", "invalid_key", "forbidden_scope", "rate_limited", "quota_exceeded"])
    org_id = serializers.IntegerField(allow_null=True)
    key_id = serializers.IntegerField(allow_null=True)
    mode = serializers.ChoiceField(
        choices=KeyMode.choices,
        allow_null=True,
        help_text="`test` for a tg_test_ key (or a token minted from one): never serve it "
        "from production. Null when the key is unknown.",
    )
    scopes = serializers.ListField(
        child=serializers.CharField(),
        allow_null=True,
        help_text="Operation ids the key may call (empty = all). Null when the key is unknown.",
    )
    plan = serializers.CharField(allow_blank=True)
    units = serializers.IntegerField()
    retry_after = serializers.IntegerField(allow_null=True)


@csrf_exempt
def keys_verify(request: HttpRequest) -> HttpResponse:
    """For the operator's own backend: may this key make this call? If so, charge it."""
    request_id = request_id_of(request)
    started = time.perf_counter()
    token = settings.GATEWAY_VERIFY_TOKEN
    given = request.META.get("HTTP_AUTHORIZATION", "")[7:].strip()
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        return problem_response(
            InvalidCredentials("Send the operator verify token (GATEWAY_VERIFY_TOKEN) as a Bearer token.").as_dict(),
            request_id,
            {"WWW-Authenticate": 'Bearer realm="verify"'},
        )
    try:
        data = validate(VerifyInput, json_body(request))
    except Problem as problem:
        return problem_response(problem.as_dict(), request_id, problem.headers)

    def answer(valid, code, record=None, plan="", units=0, retry_after=None, headers=None):
        response = HttpResponse(
            json.dumps(
                {
                    "valid": valid,
                    "code": code,
                    "org_id": record.org_id if record else None,
                    "key_id": record.id if record else None,
                    "mode": record.mode if record else None,
                    "scopes": list(record.scopes) if record else None,
                    "plan": plan,
                    "units": units,
                    "retry_after": retry_after,
                }
            ),
            content_type=JSON,
        )
        response["X-Request-Id"] = request_id
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    fake = HttpRequest()
    fake.META["HTTP_AUTHORIZATION"] = f"Bearer {data['key']}"
    try:
        record = authenticate(fake)
    except Problem:
        return answer(False, "invalid_key")
    operation_id = data["operation_id"]
    if not record.allows(operation_id):
        return answer(False, "forbidden_scope", record)
    if not data["charge"]:
        alive = _key_alive(record)
        return answer(alive, "ok" if alive else "invalid_key", record)
    decision = limiter.admit(org_id=record.org_id, key_id=record.id)
    if decision.code == limiter.KEY_DEAD:
        return answer(False, "invalid_key", record)
    if decision.code != limiter.ADMITTED:
        code = "quota_exceeded" if decision.code == limiter.LIMIT_QUOTA else "rate_limited"
        return answer(
            False,
            code,
            record,
            decision.plan,
            retry_after=max(decision.retry_after, 1),
            headers=rate_limit_headers(decision),
        )
    meter, units_mode, per_call = meter_for(operation_id)
    units = data.get("units", per_call) if units_mode == "reported" else per_call
    recorder.record(
        usage_event_build(
            key=record,
            operation_id=operation_id,
            method="VERIFY",
            status=200,
            units=units,
            meter=meter,
            plan=decision.plan,
            request_id=request_id,
            started=started,
        )
    )
    return answer(True, "ok", record, decision.plan, units, headers=rate_limit_headers(decision))


# --- /v1/proxy/<path> ----------------------------------------------------------------------------------
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
STRIPPED_REQUEST = HOP_BY_HOP | {"authorization", "x-api-key", "cookie"}
# One pooled client per event loop (an httpx.AsyncClient must not cross loops).
_http: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _upstream_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _http.get(loop)
    if client is None:
        client = _http[loop] = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False)
    return client


def _admit_for_proxy(request: HttpRequest, path: str):
    key = authenticate(request)
    if not key.allows("upstream_proxy"):
        raise ScopeForbidden(f"This key may call only: {', '.join(key.scopes)}.", operation="upstream_proxy")
    url = upstream_url(request, path)  # a path that could escape the base is refused before it counts
    return key, url, limiter.admit(org_id=key.org_id, key_id=key.id), meter_for("upstream_proxy")


@csrf_exempt
async def upstream_proxy(request: HttpRequest, path: str) -> HttpResponse:
    """Forward a metered call to ``GATEWAY_UPSTREAM_URL`` and stream the answer back."""
    started = time.perf_counter()
    request_id = request_id_of(request)
    if not settings.GATEWAY_UPSTREAM_URL:
        return problem_response(
            problem_body("not-found", "No upstream is configured (GATEWAY_UPSTREAM_URL)."), request_id, {}
        )
    try:
        key, url, decision, (meter, _, per_call) = await sync_to_async(_admit_for_proxy)(request, path)
    except Problem as problem:
        return problem_response(problem.as_dict(), request_id, problem.headers)
    if decision.code != limiter.ADMITTED:
        return refusal_response(decision, request_id)
    # Hop-by-hop headers (fixed list + any named in Connection), the customer's credential and
    # any Tollgate-*/X-Tollgate-* header they sent stay here; the upstream learns who called, and
    # whether the key is live or test, from the signed Tollgate-Identity instead.
    listed = {token.strip().lower() for token in request.headers.get("Connection", "").split(",") if token.strip()}
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in STRIPPED_REQUEST and name.lower() not in listed and not reserved_header(name)
    }
    headers.update(
        {
            "X-Request-Id": request_id,
            "X-Tollgate-Org": str(key.org_id),
            "X-Tollgate-Plan": decision.plan,
            "X-Tollgate-Key-Prefix": key.prefix,
        }
    )
    headers.update(identity_headers(key=key, plan=decision.plan, operation="upstream_proxy", request_id=request_id))
    client = _upstream_client()
    try:
        upstream = await client.send(
            client.build_request(request.method, url, headers=headers, content=request.body),
            stream=True,
        )
    except httpx.HTTPError as exc:
        body = problem_body("bad-gateway", f"The upstream API did not answer: {type(exc).__name__}.")
        # Admitted, so it counts: recorded (0 units) so upstream failures show in error rates.
        recorder.record(
            usage_event_build(
                key=key,
                operation_id="upstream_proxy",
                method=request.method,
                status=502,
                units=0,
                meter=meter,
                plan=decision.plan,
                request_id=request_id,
                started=started,
            )
        )
        return problem_response(body, request_id, rate_limit_headers(decision))

    async def relay():
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await upstream.aclose()

    response = StreamingHttpResponse(relay(), status=upstream.status_code)
    listed = {t.strip().lower() for t in upstream.headers.get("connection", "").split(",") if t.strip()}
    for name, value in upstream.headers.multi_items():
        if name.lower() not in HOP_BY_HOP and name.lower() not in listed:
            response[name] = value
    response["X-Request-Id"] = request_id
    for name, value in rate_limit_headers(decision).items():
        response[name] = value
    response["X-Usage-Units"] = str(per_call if upstream.status_code < 400 else 0)
    recorder.record(
        usage_event_build(
            key=key,
            operation_id="upstream_proxy",
            method=request.method,
            status=upstream.status_code,
            units=per_call if upstream.status_code < 400 else 0,
            meter=meter,
            plan=decision.plan,
            request_id=request_id,
            started=started,
        )
    )
    return response


# A DRF twin of the baseline, to measure what DRF's request cycle would cost the hot path
# (bench/bench_gateway.py reports it; see docs/performance.md for the decision).
class BaselineDeliveryStatusDrfApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request, tracking_id):
        serializer = samples.DeliveryStatusInput(data={"tracking_id": tracking_id})
        serializer.is_valid(raise_exception=True)
        served = samples.delivery_status_get(request, data=serializer.validated_data, key=None)
        return Response(served.body, status=served.status, headers={"X-Request-Id": request_id_of(request)})
