"""Gateway endpoints for the operator and token clients: ``POST /v1/auth/token`` (exchange an
API key for a short-lived token) and ``POST /v1/keys/verify`` (the operator's own backend, which
does not sit behind the gateway, asks: may this key call this catalogue operation? If so, charge
it — with the same checks, limits and usage event as a proxied call).

The verify API takes the deployment's ``GATEWAY_VERIFY_TOKEN`` or an operator's personal access
token with the ``keys:verify`` scope (staff only, like ``products:write``)."""

from __future__ import annotations

import hmac
import json
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import serializers

from accounts.models import TOKEN_PREFIX
from accounts.selectors import personal_access_token_for_secret
from gateway import units as unit_rules
from gateway.credentials import authenticate, credential_of
from gateway.requests import JSON, json_body, request_id_of, validate
from gateway.responses import (
    InvalidCredentials,
    InvalidRequest,
    MethodNotAllowed,
    problem_response,
    rate_limit_headers,
)
from keys.cache import KeyRecord, dead_key, looks_like_key
from keys.models import KeyMode
from keys.tokens import token_issue
from portal.problems import Problem
from portal.redis import redis_client
from products.catalogue import catalogue
from usage import limiter
from usage.events import usage_event_build
from usage.recorder import recorder


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
    product = serializers.SlugField(max_length=80, help_text="The API product's slug.")
    operation_id = serializers.CharField(max_length=200, help_text="The catalogue operation the customer calls.")
    units = serializers.IntegerField(
        min_value=0,
        max_value=1_000_000_000,
        required=False,
        help_text="Units to charge. Required for operations whose units are counted from the request "
        "or reported by the upstream; fixed and free operations ignore it.",
    )
    charge = serializers.BooleanField(default=True, help_text="Count the call against limits and bill it.")


class VerifyOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    code = serializers.ChoiceField(
        choices=["ok", "invalid_key", "forbidden_scope", "not_in_plan", "rate_limited", "quota_exceeded"]
    )
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
        help_text="Scopes of the key: operation scopes and `product:<slug>` (empty = all). "
        "Null when the key is unknown.",
    )
    plan = serializers.CharField(allow_blank=True)
    meter = serializers.CharField(
        allow_blank=True, help_text="The meter the units count on; empty for free operations."
    )
    units = serializers.IntegerField()
    retry_after = serializers.IntegerField(allow_null=True)


class UnknownOperation(Problem):
    """`product` / `operation_id` name no enabled operation of the catalogue."""

    status, slug, title = 404, "unknown-operation", "Unknown operation"


def _operator_allowed(request: HttpRequest) -> bool:
    """The deployment's verify token, or a staff member's token with the ``keys:verify`` scope."""
    given = request.META.get("HTTP_AUTHORIZATION", "")[7:].strip()
    token = settings.GATEWAY_VERIFY_TOKEN
    if token and hmac.compare_digest(given.encode(), token.encode()):
        return True
    if not given.startswith(TOKEN_PREFIX):
        return False
    access = personal_access_token_for_secret(raw=given)
    if access is None or "keys:verify" not in access.scopes:
        return False
    user = access.membership.user
    return user.is_active and user.is_staff


@csrf_exempt
def keys_verify(request: HttpRequest) -> HttpResponse:
    """For the operator's own backend: may this key make this call? If so, charge it."""
    request_id = request_id_of(request)
    started = time.perf_counter()
    if request.method != "POST":
        return problem_response(MethodNotAllowed("Use POST.").as_dict(), request_id, {"Allow": "POST"})
    if not _operator_allowed(request):
        return problem_response(
            InvalidCredentials(
                "Send the operator verify token (GATEWAY_VERIFY_TOKEN) or an operator's personal access token "
                "with the keys:verify scope as a Bearer token."
            ).as_dict(),
            request_id,
            {"WWW-Authenticate": 'Bearer realm="verify"'},
        )
    try:
        data = validate(VerifyInput, json_body(request))
        route = catalogue().operation(data["product"], data["operation_id"])
        if route is None:
            raise UnknownOperation(
                f"No enabled operation {data['operation_id']!r} in the product {data['product']!r}.",
                product=data["product"],
                operation_id=data["operation_id"],
            )
        units = unit_rules.units_known(route)
        if units is None:
            if "units" not in data:
                raise InvalidRequest(
                    "This operation's units are counted per call; send `units`.",
                    errors={"units": ["Required for this operation."]},
                )
            units = data["units"]
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
                    "meter": route.meter or "",
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

    stand_in = HttpRequest()
    stand_in.META["HTTP_AUTHORIZATION"] = f"Bearer {data['key']}"
    try:
        record = authenticate(stand_in)
    except Problem:
        return answer(False, "invalid_key")
    if route.private and record.org_id not in route.organization_ids:
        return answer(False, "forbidden_scope", record)
    if not record.allows(route.required_scope, route.product_slug):
        return answer(False, "forbidden_scope", record)
    if not data["charge"]:
        alive = _key_alive(record)
        return answer(alive, "ok" if alive else "invalid_key", record)
    decision = limiter.admit(org_id=record.org_id, key_id=record.id, plans=route.plan_codes)
    if decision.code == limiter.KEY_DEAD:
        return answer(False, "invalid_key", record)
    if decision.code == limiter.PLAN_EXCLUDED:
        return answer(False, "not_in_plan", record, decision.plan)
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
    recorder.record(
        usage_event_build(
            key=record,
            operation_id=route.operation_id,
            method="VERIFY",
            status=200,
            units=units,
            meter=route.meter or "",
            plan=decision.plan,
            request_id=request_id,
            started=started,
        )
    )
    return answer(True, "ok", record, decision.plan, units, headers=rate_limit_headers(decision))
