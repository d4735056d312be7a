"""Gateway endpoints under ``/v1/``: the sample API and the proxy (the token exchange and the
verify API are in ``gateway.verify``)."""

from __future__ import annotations

import asyncio
import time
import weakref

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from gateway import samples
from gateway.credentials import authenticate
from gateway.hotpath import metered, request_id_of, unmetered
from gateway.identity import identity_headers, reserved_header
from gateway.proxy_url import upstream_url
from gateway.responses import (
    ScopeForbidden,
    problem_response,
    rate_limit_headers,
    refusal_response,
)
from plans.operations import meter_for
from portal.problems import Problem, problem_body
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
