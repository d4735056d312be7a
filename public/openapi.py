"""The generated OpenAPI document as plain data, for the docs pages and the Postman export.

drf-spectacular generates the document (completed by ``public.schema.postprocess_tollgate``);
this module caches it briefly and lists its operations.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

V1_PREFIX = "/v1/"
PRICE_MARKER = "**Price** — "
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SCHEMA_CACHE_SECONDS = 60


def iter_operations(result: dict[str, Any]):
    """(path, method, operation) for every operation of an OpenAPI document."""
    for path, item in result.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def openapi_document() -> dict[str, Any]:
    """The public OpenAPI document as plain JSON data (cached briefly: generating it walks every
    view and reads the prices)."""
    cache_key = f"docs:openapi:{settings.ROOT_URLCONF}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    spec = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(OpenApiJsonRenderer().render(spec, renderer_context={}))
    cache.set(cache_key, document, SCHEMA_CACHE_SECONDS)
    return document


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, in path order: id, method, path, tag, summary, price."""
    found = []
    for path, method, operation in iter_operations(document):
        found.append({
            "id": operation.get("operationId", f"{method}_{path}"),
            "method": method.upper(),
            "path": path,
            "tag": (operation.get("tags") or ["other"])[0],
            "summary": operation.get("summary") or operation.get("description", "").split("\n")[0][:120],
            # Without the price table the hook appended for Swagger UI (the pages show x-price).
            "description": operation.get("description", "").split(PRICE_MARKER)[0].strip(),
            "price": operation.get("x-price"),
            "deprecated": operation.get("deprecated", False),
            "operation": operation,
            "metered": "x-price" in operation,
            "gateway": path.startswith(V1_PREFIX),
        })
    return found
