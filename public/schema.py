"""OpenAPI post-processing: what every operation shares, added once and generically.

drf-spectacular describes each view's success responses and bodies. The rest of the contract
is the same for every operation of a kind, so it is added here instead of being repeated (and
forgotten) on each view:

* security schemes: ``X-API-Key`` header, ``Authorization: Bearer <key>`` and a bearer JWT;
* the error responses each operation can return (problem+json, RFC 9457), with the
  ``RateLimit``/``RateLimit-Policy``/``Retry-After`` headers on 429 and rate-limit headers on
  every metered success;
* ``x-price``: what one call costs per plan and currency (from ``plans.MeterPrice``);
* ``x-codeSamples``: cURL, JavaScript, Python and PHP, shown by Redoc and the docs pages.

Nothing here lists operations by hand: everything is derived from the generated schema, so
new endpoints are documented the moment they are routed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from portal.problems import PROBLEM_CONTENT_TYPE, PROBLEM_TYPES
from public import pricing, samples
from public.oas import V1_PREFIX, iter_operations

CUSTOMER_PREFIX = "/api/"

# Names of the security schemes; the Swagger page pre-authorizes API_KEY_SCHEME.
API_KEY_SCHEME = "ApiKeyHeader"
BEARER_KEY_SCHEME = "BearerKey"
BEARER_JWT_SCHEME = "BearerJWT"
GATEWAY_SCHEMES = (API_KEY_SCHEME, BEARER_KEY_SCHEME, BEARER_JWT_SCHEME)
# Scheme names the gateway's own views use for "a customer's key"; replaced by ours.
KEY_SCHEME_ALIASES = ("ApiKeyBearer",)

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    API_KEY_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Your API key (`tg_live_…` or `tg_test_…`) in the `X-API-Key` header.",
    },
    BEARER_KEY_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "API key",
        "description": "Your API key as a bearer token: `Authorization: Bearer tg_test_…`.",
    },
    BEARER_JWT_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A short-lived JWT from `POST /v1/auth/token` (exchange a key for it).",
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "An RFC 9457 problem. `type` links to its explanation on /docs/problems/.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "URI of the problem type (a page in these docs)."},
        "title": {"type": "string", "description": "Short, human-readable summary of the problem type."},
        "status": {"type": "integer", "description": "The HTTP status code."},
        "detail": {"type": "string", "description": "What went wrong this time, for a human."},
        "instance": {"type": "string"},
        "errors": {
            "type": "object",
            "description": "Validation errors by field (validation-error only).",
            "additionalProperties": True,
        },
        "retry_after": {"type": "integer", "description": "Seconds until the request may be retried (429)."},
    },
    "additionalProperties": True,
}

HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit": {
        "description": "Remaining quota in the current window (IETF httpapi RateLimit header), "
        'e.g. `"minute";r=59;t=41`.',
        "schema": {"type": "string"},
    },
    "RateLimit-Policy": {
        "description": 'The limits that apply to your plan, e.g. `"second";q=2;w=1, "minute";q=60;w=60`.',
        "schema": {"type": "string"},
    },
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    "X-Request-Id": {"description": "Unique id of this request; quote it to support.", "schema": {"type": "string"}},
}


def _problem_response(description: str, slug: str, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    kind = PROBLEM_TYPES[slug]
    status, title = kind.status, kind.title
    example = {
        "type": f"{settings.SITE_URL}/docs/problems/#{slug}",
        "title": title,
        "status": status,
        "detail": description,
    }
    if slug == "validation-error":
        example["errors"] = {"field": ["This field is required."]}
    if status == 429:
        example["retry_after"] = 30
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "examples": {slug: {"summary": title, "value": example}},
            }
        },
    }
    if headers:
        response["headers"] = headers
    return response


def _header_refs(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _error_responses(*, gateway: bool, has_path_params: bool, has_input: bool, has_body: bool) -> dict[str, Any]:
    """The error responses an operation can return, by kind of operation."""
    responses: dict[str, Any] = {}
    if has_input:
        responses["400"] = _problem_response("The request is malformed or a field is invalid.", "validation-error")
    responses["401"] = _problem_response("No credential, or an invalid/revoked/expired one.", "unauthenticated")
    responses["403"] = _problem_response(
        "The credential may not call this operation (key scope, role or account state).", "forbidden"
    )
    if has_path_params:
        responses["404"] = _problem_response("No such resource in your organization.", "not-found")
    if gateway:
        if has_body:
            responses["422"] = _problem_response(
                "The request is valid JSON but cannot be carried out.", "unprocessable"
            )
        responses["429"] = _problem_response(
            "A rate limit or the monthly quota is exhausted; see `Retry-After` and `RateLimit`.",
            "rate-limited",
            headers=_header_refs("Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-Id"),
        )
    return responses


def _view_index(generator) -> dict[tuple[str, str], Any]:
    """(path, method) → view class, from the endpoints drf-spectacular just walked."""
    index: dict[tuple[str, str], Any] = {}
    for path, _regex, method, callback in getattr(generator, "endpoints", None) or []:
        if not path.startswith("/"):
            path = "/" + path
        index[(path, method.lower())] = getattr(callback, "cls", callback)
    return index


def _meter_resolver():
    return import_string(getattr(settings, "DOCS_OPERATION_METER_RESOLVER", "public.pricing.operation_meter"))


def postprocess_tollgate(
    result: dict[str, Any], generator, request=None, public: bool = False, **kwargs
) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOK: security, errors, headers, prices and samples."""
    components = result.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components.setdefault("headers", {}).update(HEADERS)

    views = _view_index(generator)
    resolve_meter = _meter_resolver()
    price_table = pricing.meter_price_table()  # one query set for all operations
    base_url = settings.SITE_URL

    for path, method, operation in iter_operations(result):
        parameters = operation.get("parameters", [])
        has_path_params = any(p.get("in") == "path" for p in parameters) or "{" in path
        has_body = "requestBody" in operation
        has_input = has_body or any(p.get("in") in ("query", "path") for p in parameters)

        # A /v1/ operation called with a customer's key (not e.g. an operator token) accepts all
        # three credentials; views may name their own key schemes, which are folded into ours.
        gateway = False
        if path.startswith(V1_PREFIX):
            existing = operation.get("security") or []
            names = {name for requirement in existing for name in requirement}
            # [] / [{}] = no authentication class described (lean views authenticate themselves)
            if not names or names & (set(GATEWAY_SCHEMES) | set(KEY_SCHEME_ALIASES)):
                operation["security"] = [{name: []} for name in GATEWAY_SCHEMES]
                gateway = True

        responses = operation.setdefault("responses", {})
        for code, response in responses.items():
            # Every API error is RFC 9457 problem+json (portal.problems): say so even where a view
            # described its error body as plain JSON.
            content = response.get("content") if isinstance(response, dict) else None
            if code[:1] in "45" and content and "application/json" in content and PROBLEM_CONTENT_TYPE not in content:
                content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        for code, response in _error_responses(
            gateway=gateway, has_path_params=has_path_params, has_input=has_input, has_body=has_body
        ).items():
            responses.setdefault(code, response)
        if gateway:
            for code, response in responses.items():
                if not isinstance(response, dict) or "$ref" in response:
                    continue
                headers = response.setdefault("headers", {})
                names = ("RateLimit", "RateLimit-Policy", "X-Request-Id")
                if code == "429":
                    names = ("Retry-After", *names)
                if code.startswith("2") or code == "429":
                    for name, ref in _header_refs(*names).items():
                        headers.setdefault(name, ref)
                if not headers:
                    del response["headers"]

        view = views.get((path, method))
        meter_code = resolve_meter(path=path, method=method, operation_id=operation.get("operationId"), view=view)
        if meter_code:
            price = price_table.get(meter_code)
            if price:
                operation["x-price"] = price
                operation["description"] = (
                    operation.get("description", "").rstrip() + "\n\n" + pricing.price_markdown(price)
                ).strip()

        operation["x-codeSamples"] = samples.operation_samples(
            spec=result, path=path, method=method, operation=operation, base_url=base_url, api_key=None
        )

    # The product (the monetized /v1/ API) first, then the customer API.
    paths = result.get("paths", {})
    result["paths"] = dict(sorted(paths.items(), key=lambda item: (not item[0].startswith(V1_PREFIX), item[0])))

    referenced = {name for _p, _m, op in iter_operations(result) for req in op.get("security", []) for name in req}
    for alias in KEY_SCHEME_ALIASES:
        if alias not in referenced:
            components["securitySchemes"].pop(alias, None)
    return result
