"""The gateway: every ``/v1/…`` call to an API product, routed through the catalogue.

    route (process memory) → credential → visibility & scope → units from the request →
    admission (one Redis script) → upstream (pooled, streamed) → units reported → record

The only I/O before the upstream call is the admission script (none while the process holds a
lease); the catalogue and the key are in process memory and the usage event is buffered for the
recorder thread, so a warm request runs no SQL. Once admitted a call counts, whatever happens
next (invalid body, upstream down): it is recorded with 0 units and its real status.

The customer's credential, cookies, hop-by-hop headers and any ``Tollgate-*`` header they sent
never reach the upstream; the product's upstream credential and the signed identity headers
(``gateway.identity``) do. Answers that are the gateway's own (404, 413, 502, 504…) are
problem+json; the upstream's answers are streamed back as they are.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from gateway import units as unit_rules
from gateway.credentials import authenticate, authenticate_local
from gateway.idempotency import STORED_MAX, answer_store, idempotency_key_of, replay, request_fingerprint
from gateway.proxy_url import raw_path, upstream_url
from gateway.requests import access_logged, request_id_of
from gateway.responses import (
    REFUSAL_REASONS,
    BadGateway,
    GatewayTimeout,
    MethodNotAllowed,
    PayloadTooLarge,
    PlanExcluded,
    RouteNotFound,
    ScopeForbidden,
    problem_response,
    rate_limit_headers,
    refusal_response,
)
from gateway.upstream import (
    BUFFER_MAX,
    STRIPPED_RESPONSE,
    BodyTooLarge,
    forwarded_headers,
    read_all,
    relay,
    request_stream,
    too_large,
    upstream_client,
)
from keys.cache import KeyRecord
from portal.metrics import GATEWAY_CALLS, GATEWAY_REFUSALS
from portal.problems import Problem
from products.catalogue import acatalogue
from products.router import Route
from usage import limiter
from usage.events import usage_event_build
from usage.recorder import recorder


@dataclass(slots=True)
class Prepared:
    """What the gateway knows about a call before admission."""

    key: KeyRecord
    url: httpx.URL | None
    units: int | None  # known before the call (fixed, free, counted from the request)
    body: bytes | None  # read for counting or idempotency; else streamed from the request
    invalid: Problem | None  # what is wrong with the request, answered after admission
    idem: str | None = None  # the client's Idempotency-Key
    fingerprint: str = ""


@dataclass(slots=True)
class Admitted:
    prepared: Prepared
    decision: limiter.Decision


def _prepare(request: HttpRequest, route: Route, key: KeyRecord) -> Prepared:
    """Visibility, scope, upstream URL, body limit and units: no I/O (the body is in memory or
    Django's spooled file)."""
    if route.private and key.org_id not in route.organization_ids:
        raise RouteNotFound(f"No operation matches {request.method} {request.path}.")
    if not key.allows(route.required_scope, route.product_slug):
        raise ScopeForbidden(
            f"This key may not call {route.product_slug}/{route.operation_id} (scope `{route.required_scope}`).",
            operation=route.operation_id,
            required_scope=route.required_scope,
        )
    invalid: Problem | None = None
    url, body, units, idem = None, None, unit_rules.units_known(route), None
    try:
        idem = idempotency_key_of(request)
        url = upstream_url(route, request.META.get("QUERY_STRING", ""))
        if int(request.META.get("CONTENT_LENGTH") or 0) > route.max_request_bytes:
            raise _body_too_large(route)
        if idem or route.unit_rule in unit_rules.COUNTED_FROM_REQUEST:
            body = request.read(route.max_request_bytes + 1)
            if len(body) > route.max_request_bytes:  # sent without a (truthful) Content-Length
                raise _body_too_large(route)
        if route.unit_rule in unit_rules.COUNTED_FROM_REQUEST:
            units = unit_rules.units_from_request(route, body or b"", request.META.get("CONTENT_TYPE", ""))
    except Problem as problem:
        invalid, units = problem, 0
    fingerprint = request_fingerprint(request, body or b"") if idem else ""
    return Prepared(key, url, units, body, invalid, idem, fingerprint)


def _admit(request: HttpRequest, route: Route, prepared: Prepared | None) -> Admitted:
    """Credential (when not known yet), then the admission script (synchronous: cache, Redis,
    and PostgreSQL for a cold key or organization)."""
    if prepared is None:
        prepared = _prepare(request, route, authenticate(request))
    key = prepared.key
    decision = limiter.admit(
        org_id=key.org_id,
        key_id=key.id,
        idem=prepared.idem,
        idem_scope=key.idem_scope,
        fingerprint=prepared.fingerprint,
        plans=route.plan_codes,
    )
    return Admitted(prepared, decision)


def _admit_on_thread(request: HttpRequest, route: Route, prepared: Prepared | None) -> Admitted:
    try:
        return _admit(request, route, prepared)
    finally:
        # A cold key or organization opened this short-lived thread's database connection:
        # close it (unless a transaction is open: Django's test client runs it on its thread).
        if not connection.in_atomic_block:
            connection.close()


_admit_async = sync_to_async(_admit_on_thread)


async def _admission(request: HttpRequest, route: Route) -> Admitted:
    """A key held in memory with a live admission lease is admitted on the event loop, with no
    I/O; anything else (a cold key, Redis, idempotency, a product limited to plans) goes to a
    thread. Under steady traffic most calls take the first way (docs/keys-and-limits.md)."""
    key = authenticate_local(request)
    prepared = _prepare(request, route, key) if key is not None else None
    if prepared is not None and not prepared.idem and not route.plan_codes:
        decision = limiter.admit_local(org_id=prepared.key.org_id, key_id=prepared.key.id)
        if decision is not None:
            return Admitted(prepared, decision)
    return await _admit_async(request, route, prepared)


def _body_too_large(route: Route) -> PayloadTooLarge:
    limit = route.max_request_bytes
    return PayloadTooLarge(
        f"The request body is larger than this operation's limit of {limit:,} bytes.", max_bytes=limit
    )


def _refused(reason: str) -> None:
    """Count a call answered without the upstream (``tollgate_gateway_refusals_total``)."""
    GATEWAY_REFUSALS.labels(reason).inc()


@csrf_exempt
async def gateway_call(request: HttpRequest, path: str = "") -> HttpResponseBase:
    """Serve one call to an API product (``/v1/<base path>/<operation path>``)."""
    started = time.perf_counter()
    request_id = request_id_of(request)
    catalogue = await acatalogue()
    raw = raw_path(request)
    route = catalogue.match(request.method or "GET", raw)
    if route is None:
        allowed = catalogue.methods_for(raw)
        if allowed:
            problem: Problem = MethodNotAllowed(f"Use {', '.join(sorted(allowed))}.")
            _refused(problem.slug)
            response = problem_response(problem.as_dict(), request_id, {"Allow": ", ".join(sorted(allowed))})
        else:
            problem = RouteNotFound(f"No operation matches {request.method} {request.path}.")
            _refused(problem.slug)
            response = problem_response(problem.as_dict(), request_id, {})
        access_logged(request, request_id, started, response.status_code, None)
        return response
    try:
        admitted = await _admission(request, route)
    except Problem as problem:
        _refused(problem.slug)  # unauthenticated, invalid-credentials, auth-failures, scope, no-route
        response = problem_response(problem.as_dict(), request_id, problem.headers)
        access_logged(request, request_id, started, response.status_code, None, route.operation_id)
        return response
    decision = admitted.decision
    if decision.code == limiter.ADMITTED:
        call = _Call(request, route, admitted, request_id, started)
        if admitted.prepared.invalid is not None:
            return call.problem(admitted.prepared.invalid)
        return await call.forward()
    _refused(REFUSAL_REASONS.get(decision.code, "other"))
    if decision.code == limiter.PLAN_EXCLUDED:
        excluded = PlanExcluded(
            f"Your {decision.plan} plan does not include {route.product_slug}; "
            f"it is part of: {', '.join(sorted(route.plan_codes))}.",
            product=route.product_slug,
            plan=decision.plan,
            upgrade_url=f"{settings.SITE_URL}/pricing/",
        )
        response = problem_response(excluded.as_dict(), request_id, {})
    elif decision.code == limiter.IDEM_REPLAY:
        response = replay(decision, request_id)
    else:
        response = refusal_response(decision, request_id)
    access_logged(request, request_id, started, response.status_code, admitted.prepared.key, route.operation_id)
    return response


class _Call:
    """One admitted call: forwards it and answers, recording exactly one usage event."""

    __slots__ = ("decision", "limits", "prepared", "request", "request_id", "route", "started")

    def __init__(self, request: HttpRequest, route: Route, admitted: Admitted, request_id: str, started: float):
        self.request, self.route = request, route
        self.prepared, self.decision = admitted.prepared, admitted.decision
        self.request_id, self.started = request_id, started
        self.limits = rate_limit_headers(admitted.decision)

    def record(self, status: int, units: int) -> None:
        route = self.route
        GATEWAY_CALLS.labels(route.product_slug, route.operation_id, str(status)).observe(
            time.perf_counter() - self.started
        )
        access_logged(self.request, self.request_id, self.started, status, self.prepared.key, route.operation_id)
        recorder.record(
            usage_event_build(
                key=self.prepared.key,
                operation_id=self.route.operation_id,
                method=self.request.method or "GET",
                status=status,
                units=units,
                meter=self.route.meter or "",
                plan=self.decision.plan,
                request_id=self.request_id,
                started=self.started,
            )
        )

    def problem(self, problem: Problem) -> HttpResponse:
        self.record(problem.status, 0)
        response = problem_response(problem.as_dict(), self.request_id, {**problem.headers, **self.limits})
        response["X-Usage-Units"] = "0"
        self.keep(response, response.content)
        return response

    def keep(self, response: HttpResponseBase, body: bytes) -> None:
        """Store the answer of an idempotent call for its retries."""
        prepared = self.prepared
        if prepared.idem:
            answer_store(
                key=prepared.key, idem=prepared.idem, fingerprint=prepared.fingerprint, response=response, body=body
            )

    async def forward(self) -> HttpResponseBase:
        route, prepared, request = self.route, self.prepared, self.request
        content: bytes | AsyncIterator[bytes] | None = prepared.body
        headers = forwarded_headers(request, route, prepared.key, self.decision.plan, self.request_id)
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if content is None and length > 0:
            content = request_stream(request, route.max_request_bytes)
            # Streamed with its declared length, not chunked: many upstreams (WSGI apps, HTTP/1.0
            # servers) read a chunked request body as empty.
            headers["Content-Length"] = str(length)
        client = upstream_client()
        outgoing = client.build_request(
            request.method or "GET",
            cast(httpx.URL, prepared.url),  # set whenever the request was not invalid
            headers=headers,
            content=content,
            timeout=httpx.Timeout(route.read_timeout_s, connect=route.connect_timeout_s, pool=route.connect_timeout_s),
        )
        try:
            upstream = await client.send(outgoing, stream=True)
        except BodyTooLarge:
            return self.problem(_body_too_large(route))
        except httpx.TimeoutException as exc:
            what = "connect" if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout) else "answer"
            limit = route.connect_timeout_s if what == "connect" else route.read_timeout_s
            return self.problem(GatewayTimeout(f"The upstream API did not {what} within {limit:g} s."))
        except httpx.HTTPError as exc:
            return self.problem(BadGateway(f"The upstream API could not be reached ({type(exc).__name__})."))
        try:
            return await self._answer(upstream)
        except BaseException:
            await upstream.aclose()
            raise

    async def _answer(self, upstream: httpx.Response) -> HttpResponseBase:
        route = self.route
        declared = upstream.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > route.max_response_bytes:
            await upstream.aclose()
            return self.problem(too_large(route))
        succeeded = upstream.status_code < 400
        units = self.prepared.units
        # Decoded when the units are in the body; small answers of known length are read whole
        # (cheaper than streaming them chunk by chunk); the rest is streamed as it arrives.
        decode = route.unit_rule == unit_rules.RESPONSE_JSON_FIELD
        small = declared.isdigit() and int(declared) <= (STORED_MAX if self.prepared.idem else BUFFER_MAX)
        buffered: bytes | None = None
        if decode or small:
            try:
                buffered = await read_all(upstream, route.max_response_bytes, decode=decode)
            except BodyTooLarge:
                return self.problem(too_large(route))
            except httpx.TimeoutException:
                return self.problem(
                    GatewayTimeout(f"The upstream API did not finish its answer within {route.read_timeout_s:g} s.")
                )
            except httpx.HTTPError as exc:
                return self.problem(BadGateway(f"The upstream API broke off its answer ({type(exc).__name__})."))
        if decode and succeeded and buffered is not None:
            units = unit_rules.units_from_json(route, buffered)
        elif route.unit_rule == unit_rules.RESPONSE_HEADER and succeeded:
            units = unit_rules.units_from_header(route, upstream.headers.get(route.unit_source))
        if not succeeded:
            units = 0
        elif units is None:
            units = unit_rules.units_unreported(route, self.request_id)
        if buffered is not None:
            response: HttpResponseBase = HttpResponse(buffered, status=upstream.status_code)
        else:
            response = StreamingHttpResponse(relay(upstream, route.max_response_bytes), status=upstream.status_code)
        listed = {t.strip().lower() for t in upstream.headers.get("connection", "").split(",") if t.strip()}
        for name, value in upstream.headers.multi_items():
            lowered = name.lower()
            if lowered not in STRIPPED_RESPONSE and lowered not in listed:
                response[name] = value
        if decode:
            response["Content-Length"] = str(len(buffered or b""))
            if "content-encoding" in upstream.headers:
                del response["Content-Encoding"]  # read decoded, to find the units
        response["X-Request-Id"] = self.request_id
        for name, value in self.limits.items():
            response[name] = value
        response["X-Usage-Units"] = str(units)
        if route.meter:
            response["X-Usage-Meter"] = route.meter
        if self.decision.overage:
            response["X-Usage-Overage"] = "true"
        self.record(upstream.status_code, units)
        if buffered is not None:
            self.keep(response, buffered)
        return response
