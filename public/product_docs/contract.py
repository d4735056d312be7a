"""What the gateway adds to every product operation, whatever the operator's document says:
Tollgate's credentials instead of the upstream's, the gateway's own answers as RFC 9457
problem+json responses, and the RateLimit headers on every answer that passed admission.

The error responses are shared components (``GatewayUnauthorized``…), one per status, with an
example per problem type of ``portal.problems`` the gateway answers with at that status.
"""

from __future__ import annotations

from typing import Any

from portal.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES, problem_type_uri
from public.schema import GATEWAY_SCHEMES

# (status, component name, description, problem types in the order they are shown, whether the
# gateway's answer replaces one the document describes for the same status: a 401 of the API
# itself would be about the operator's credential, never the customer's, while an API's own
# 403 or 404 still reaches the customer).
GATEWAY_ERRORS: tuple[tuple[str, str, str, tuple[str, ...], bool], ...] = (
    (
        "401",
        "GatewayUnauthorized",
        "No API key or JWT, or one that is unknown, revoked or expired. Answered by the gateway; "
        "the API is not called.",
        ("unauthenticated", "invalid-credentials"),
        True,
    ),
    (
        "403",
        "GatewayForbidden",
        "The key may not call this operation (its scopes), or your plan does not include this API.",
        ("scope", "plan-excluded", "forbidden"),
        False,
    ),
    ("404", "GatewayNotFound", "Nothing is served at this path.", ("not-found",), False),
    (
        "413",
        "GatewayPayloadTooLarge",
        "The request body is larger than this API accepts; nothing was forwarded.",
        ("payload-too-large",),
        True,
    ),
    (
        "429",
        "GatewayRateLimited",
        "A rate limit or the monthly quota is exhausted; see `Retry-After` and `RateLimit`.",
        ("rate-limited", "quota-exceeded"),
        True,
    ),
    ("502", "GatewayBadGateway", "The API could not be reached or gave an invalid answer.", ("bad-gateway",), True),
    (
        "504",
        "GatewayTimeout",
        "The API did not answer within its timeouts.",
        ("gateway-timeout",),
        True,
    ),
)
SUCCESS_HEADERS = ("RateLimit", "RateLimit-Policy", "X-Request-Id")
REFUSAL_HEADERS = ("Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-Id")


def gateway_security() -> list[dict[str, list[str]]]:
    """Any one of Tollgate's credentials (OR): the document's own schemes never reach the
    customer — the gateway holds the upstream's credential."""
    return [{name: []} for name in GATEWAY_SCHEMES]


def _header_refs(names: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def gateway_error_responses() -> dict[str, dict[str, Any]]:
    """The shared error response components (``components.responses``)."""
    responses: dict[str, dict[str, Any]] = {}
    for status, name, description, slugs, _replaces in GATEWAY_ERRORS:
        examples = {}
        for slug in slugs:
            kind = PROBLEM_TYPES.get(slug)
            if kind is None or str(kind.status) != status:
                continue  # not registered in this deployment
            value: dict[str, Any] = {
                "type": problem_type_uri(slug),
                "title": kind.title,
                "status": kind.status,
                "detail": kind.description or kind.title,
            }
            if kind.status == 429:
                value["retry_after"] = 30
            examples[slug] = {"summary": kind.title, "value": value}
        media: dict[str, Any] = {"schema": {"$ref": "#/components/schemas/Problem"}}
        if examples:
            media["examples"] = examples
        response: dict[str, Any] = {"description": description, "content": {PROBLEM_CONTENT_TYPE: media}}
        if status == "429":
            response["headers"] = _header_refs(REFUSAL_HEADERS)
        responses[name] = response
    return responses


def gateway_responses_apply(responses: dict[str, Any]) -> dict[str, Any]:
    """An operation's responses as the customer sees them through the gateway: the gateway's
    errors (replacing the document's for the statuses only the gateway answers), RateLimit
    headers on each success. ``responses`` is already rewritten (a fresh copy)."""
    for status, name, _description, _slugs, replaces in GATEWAY_ERRORS:
        if replaces or status not in responses:
            responses[status] = {"$ref": f"#/components/responses/{name}"}
    for code, response in responses.items():
        if code.startswith("2") and isinstance(response, dict) and "$ref" not in response:
            headers = response.setdefault("headers", {})
            for header, ref in _header_refs(SUCCESS_HEADERS).items():
                headers.setdefault(header, ref)
    return dict(sorted(responses.items()))
