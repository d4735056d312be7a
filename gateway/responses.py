"""How the gateway answers when it does not serve: its problem types, rate-limit headers and
the problem+json response for a refusal or an error, shared by every ``/v1/`` view."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpResponse

from portal.problems import PROBLEM_CONTENT_TYPE, Problem, problem_body
from usage import limiter


class Unauthenticated(Problem):
    status, slug, title = 401, "unauthenticated", "Authentication required"


class InvalidCredentials(Problem):
    status, slug, title = 401, "invalid-credentials", "Invalid credentials"


class ScopeForbidden(Problem):
    status, slug, title = 403, "scope", "Key not allowed to call this operation"


class InvalidRequest(Problem):
    status, slug, title = 400, "validation-error", "Your request is not valid"


class MalformedRequest(Problem):
    status, slug, title = 400, "malformed-request", "Malformed request body"


class PayloadTooLarge(Problem):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class TooManyAuthFailures(Problem):
    """Too many unknown keys, malformed credentials or invalid tokens came from your address in
    a short time. Wait `Retry-After` seconds; keys already in use keep working."""

    status, slug, title = 429, "auth-failures", "Too many failed authentications"


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class IdempotencyProblem(Problem):
    status, slug, title = 409, "idempotency-conflict", "Idempotency-Key conflict"


class IdempotencyMismatch(Problem):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key reused with a different request"


class MethodNotAllowed(Problem):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class UnitsUncountable(Problem):
    """The operation is charged per item of a field of the request body (e.g. one unit per
    recipient in `to`), and the body has no such field. `pointer` names the field."""

    status, slug, title = 400, "units-uncountable", "Units cannot be counted from the request"


class RouteNotFound(Problem):
    """No operation of any API product matches the method and path. The docs list them."""

    status, slug, title = 404, "no-route", "No such operation"


class BadGateway(Problem):
    status, slug, title = 502, "bad-gateway", "Bad gateway"


class GatewayTimeout(Problem):
    status, slug, title = 504, "gateway-timeout", "The upstream API timed out"


class PlanExcluded(Problem):
    """The API product is not part of your organization's plan. `upgrade_url` lists the plans
    that include it."""

    status, slug, title = 403, "plan-excluded", "Not included in your plan"


# The problem type each admission decision other than ADMITTED is answered with (the replay of a
# stored idempotent answer is not a problem, but it does not reach the upstream either).
REFUSAL_REASONS = {
    limiter.LIMIT_SECOND: "rate-limited",
    limiter.LIMIT_MINUTE: "rate-limited",
    limiter.LIMIT_QUOTA: "quota-exceeded",
    limiter.KEY_DEAD: "invalid-credentials",
    limiter.NO_ENTITLEMENTS: "temporarily-unavailable",
    limiter.IDEM_IN_PROGRESS: "idempotency-conflict",
    limiter.IDEM_MISMATCH: "idempotency-key-reused",
    limiter.PLAN_EXCLUDED: "plan-excluded",
    limiter.IDEM_REPLAY: "idempotent-replay",
}


def rate_limit_headers(decision: limiter.Decision) -> dict[str, str]:
    """IETF draft-ietf-httpapi-ratelimit-headers: one named policy per limit that applies."""
    policies = decision.policies()
    if not policies:
        return {}
    return {
        "RateLimit-Policy": ", ".join(f'"{name}";q={limit};w={window}' for name, limit, window, _, _ in policies),
        "RateLimit": ", ".join(f'"{name}";r={left};t={reset}' for name, _, _, left, reset in policies),
    }


_REFUSALS = {
    limiter.LIMIT_SECOND: ("rate-limited", "second", "requests per second"),
    limiter.LIMIT_MINUTE: ("rate-limited", "minute", "requests per minute"),
    limiter.LIMIT_QUOTA: ("quota-exceeded", "month", "requests this billing period"),
}


def refusal_response(decision: limiter.Decision, request_id: str) -> HttpResponse:
    if decision.code == limiter.KEY_DEAD:
        body = problem_body("invalid-credentials", "This API key has been revoked or rotated out.", reason="revoked")
        return problem_response(body, request_id, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if decision.code == limiter.IDEM_IN_PROGRESS:
        return problem_response(
            IdempotencyProblem(
                "A request with this Idempotency-Key is still being processed; retry shortly."
            ).as_dict(),
            request_id,
            {"Retry-After": "1"},
        )
    if decision.code == limiter.IDEM_MISMATCH:
        return problem_response(
            IdempotencyMismatch("This Idempotency-Key was used with a different request body or path.").as_dict(),
            request_id,
            {},
        )
    if decision.code not in _REFUSALS:
        # Entitlements still missing after republishing (e.g. the app's clock and Redis'
        # disagree at a period boundary): a transient condition, not the client's fault.
        body = problem_body(
            "temporarily-unavailable", "Your plan's limits are being refreshed; retry in a second.", retry_after=1
        )
        return problem_response(body, request_id, {"Retry-After": "1"})
    slug, which, unit = _REFUSALS[decision.code]
    limit = {"second": decision.rps, "minute": decision.rpm, "month": decision.quota}[which]
    retry_after = max(int(decision.retry_after), 1)
    reset_at = datetime.fromtimestamp(time.time() + retry_after, tz=UTC).replace(microsecond=0)
    body = problem_body(
        slug,
        f"Your {decision.plan} plan allows {limit:,} {unit}. Retry after {retry_after} s or upgrade your plan.",
        limit=which,
        limit_value=limit,
        plan=decision.plan,
        retry_after=retry_after,
        reset_at=reset_at.isoformat().replace("+00:00", "Z"),
        upgrade_url=f"{settings.SITE_URL}/pricing/",
    )
    return problem_response(body, request_id, {"Retry-After": str(retry_after), **rate_limit_headers(decision)})


def problem_response(body: dict, request_id: str, headers: dict[str, str]) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=body["status"], content_type=PROBLEM_CONTENT_TYPE)
    # Refusals are the gateway doing its job, not server trouble: a 429 flood must not turn
    # into a logging flood (django.request logs every 4xx at WARNING otherwise).
    response._has_been_logged = True
    response["X-Request-Id"] = request_id
    for name, value in headers.items():
        response[name] = value
    return response
