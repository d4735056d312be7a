"""API products for the gateway tests, built the way an operator builds them: a small OpenAPI
document imported into a product, then operations priced through the services. Plus the usage
stream reader the gateway tests share."""

from __future__ import annotations

import json
import re
from typing import Any

from plans.models import Meter
from products.catalogue import catalogue_reset
from products.document_import import document_apply
from products.models import ApiProduct
from products.services import operation_update, product_create
from usage.events import STREAM_KEY, unpack
from usage.recorder import recorder

PARAM = re.compile(r"\{([^{}/]+)\}")


def openapi_text(operations: list[tuple[str, str, str]]) -> str:
    """A minimal OpenAPI 3.1 document with ``(method, path template, operation id)`` operations."""
    paths: dict[str, dict[str, Any]] = {}
    for method, template, operation_id in operations:
        operation: dict[str, Any] = {"operationId": operation_id, "responses": {"200": {"description": "OK"}}}
        names = PARAM.findall(template)
        if names:
            operation["parameters"] = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names
            ]
        paths.setdefault(template, {})[method.lower()] = operation
    return json.dumps({"openapi": "3.1.0", "info": {"title": "Test API", "version": "1.0"}, "paths": paths})


def meter_make(code: str) -> Meter:
    return Meter.objects.get_or_create(code=code, defaults={"name": code, "unit_label": "unit"})[0]


def product_make(
    *,
    slug: str,
    upstream_url: str,
    operations: list[tuple[str, str, str]],
    pricing: dict[str, dict[str, Any]] | None = None,
    base_path: str | None = None,
    **options: Any,
) -> ApiProduct:
    """Create a product, import ``operations`` and price some of them: ``pricing`` maps an
    operation id to ``operation_update`` arguments (``meter`` may be a meter code). The process's
    catalogue is reset so the next request sees the product."""
    product = product_create(
        name=slug.title(), slug=slug, base_path=base_path or f"/v1/{slug}", upstream_url=upstream_url, **options
    )
    document_apply(product=product, text=openapi_text(operations), user=None)
    for operation_id, changes in (pricing or {}).items():
        changes = dict(changes)
        if isinstance(changes.get("meter"), str):
            changes["meter"] = meter_make(changes["meter"])
        operation_update(operation=product.operations.get(operation_id=operation_id), **changes)
    catalogue_reset()
    return product


def stream_events(redis_client) -> list:
    """Every usage event recorded so far (flushes this process's recorder first)."""
    recorder.flush_all()
    events = []
    for _, fields in redis_client.xrange(STREAM_KEY):
        events.extend(unpack(fields[b"b"]))
    return events


def problem_slug(response, content: bytes | None = None) -> str:
    """The slug of a problem+json answer (``#no-route`` → ``no-route``)."""
    assert response["Content-Type"] == "application/problem+json", (response.status_code, content)
    body = json.loads(response.content if content is None else content)
    assert body["status"] == response.status_code, body
    return body["type"].rsplit("#", 1)[1]
