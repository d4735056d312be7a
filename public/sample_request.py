"""The example request of an operation, read from the OpenAPI document: the URL with its path
parameters filled in, the required query and header parameters, the body and how it is sent
(JSON, a form, multipart form data or raw text), and the credential it needs. The code
samples and the Postman collection are written from it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

from public.examples import example_for, resolve

GATEWAY_SCHEMES = ("ApiKeyHeader", "BearerKey", "BearerJWT")

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
# Headers the samples set themselves: a documented header parameter of the same name is skipped.
_OWN_HEADERS = frozenset({"authorization", "content-type", "accept", "x-api-key", "cookie"})


def body_kind(content_type: str | None) -> str | None:
    """How a request content type is sent: json, form, multipart or text (None: no body)."""
    if content_type is None:
        return None
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media == FORM:
        return "form"
    if media == MULTIPART:
        return "multipart"
    return "text"


def _content_type(content: dict[str, Any]) -> str | None:
    """The request content type the samples use: JSON when offered, else a form, else the first."""
    for kind in ("json", "form", "multipart"):
        found = next((media for media in content if body_kind(media) == kind), None)
        if found:
            return found
    return next(iter(content), None)


def form_fields(body: Any) -> list[tuple[str, str]]:
    """A body example as form fields: a list repeats its field, an object is sent as JSON."""
    if not isinstance(body, dict):
        return [] if body is None else [("body", form_value(body))]
    return [
        (str(name), form_value(item))
        for name, value in body.items()
        for item in (value if isinstance(value, list) else [value])
        if item is not None
    ]


def form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def text_body(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def operation_request(
    *, spec: dict[str, Any], path: str, method: str, operation: dict[str, Any], base_url: str
) -> dict[str, Any]:
    """The example request of an operation: url (path params filled), query, required headers,
    body and its kind, auth kind."""
    params = [resolve(p, spec) for p in operation.get("parameters", [])]
    url_path = path
    query: dict[str, Any] = {}
    headers: list[tuple[str, str]] = []
    for param in params:
        value = param.get("example")
        if value is None:
            value = example_for(param.get("schema", {}), spec, name=param.get("name", ""))
        location = param.get("in")
        if location == "path":
            url_path = url_path.replace("{" + param["name"] + "}", quote(str(value), safe=""))
        elif location == "query" and param.get("required"):
            query[param["name"]] = value
        elif location == "header" and param.get("required") and param["name"].lower() not in _OWN_HEADERS:
            headers.append((param["name"], form_value(value)))
    body = None
    content_type = None
    request_body = resolve(operation.get("requestBody"), spec) if operation.get("requestBody") else None
    if request_body:
        content = request_body.get("content", {})
        content_type = _content_type(content)
        media = content.get(content_type or "", {})
        if "example" in media:
            body = media["example"]
        elif media.get("examples"):
            body = resolve(next(iter(media["examples"].values())), spec).get("value")
        else:
            body = example_for(media.get("schema", {}), spec)
    security = operation.get("security") or []
    names = [name for requirement in security for name in requirement]
    uses_key = any(name in GATEWAY_SCHEMES for name in names)
    # Another bearer scheme (e.g. an operator token): read it from its own environment variable.
    schemes = spec.get("components", {}).get("securitySchemes", {})
    other_bearer = (
        next((n for n in names if schemes.get(n, {}).get("scheme") == "bearer"), None) if not uses_key else None
    )
    bearer_env = "TOLLGATE_" + re.sub(r"(?<!^)(?=[A-Z])", "_", other_bearer).upper() if other_bearer else None
    url = base_url.rstrip("/") + url_path + (("?" + urlencode(query, doseq=True)) if query else "")
    return {
        "method": method.upper(),
        "url": url,
        "headers": headers,
        "body": body,
        "content_type": content_type,
        "body_kind": body_kind(content_type) if body is not None else None,
        "uses_key": uses_key,
        "bearer_env": bearer_env,
    }
