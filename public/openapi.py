"""The public OpenAPI document as plain data, per viewer, for ``/api/schema/``, the docs pages
and the Postman export.

The document is Tollgate's own API (drf-spectacular, completed by
``public.schema.postprocess_tollgate``) merged with the API products the viewer may see
(``public.product_docs``): the public ones for a visitor, plus the private ones given to the
signed-in member's organization.

Caching — a build walks every view, reads every visible document and prices them, so it is
never paid per request:

1. The key: the URLconf, ``SITE_URL``, the catalogue version (``products.catalogue``: every
   change of a product, document or operation bumps it) and the visible product ids. Per
   request that costs one Redis GET for the version, one query for the ids and one Redis GET
   for the key's stamp.
2. The built document is stored in the shared cache (compact JSON) with a random stamp, both
   for ``SCHEMA_CACHE_SECONDS`` — prices (``plans.MeterPrice``) reach the docs within that.
3. Each process keeps the last ``MEMO_SIZE`` documents it used, with their stamp and their
   rendered bodies (JSON, YAML). The stamp in the shared cache says whether the copy is still
   current; a process without a current copy loads the shared one instead of building.

The returned document is shared: callers must not modify it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from redis.exceptions import RedisError

from accounts.models import Organization
from products.catalogue import version_read
from public import pricing
from public.oas import PRICE_MARKER, V1_PREFIX, iter_operations
from public.product_docs.fragment import PRODUCT_EXTENSION
from public.product_docs.merge import document_merge
from public.product_docs.selectors import product_docs_load, visible_product_ids

SCHEMA_CACHE_SECONDS = 60
MEMO_SIZE = 8


@dataclass
class _Built:
    stamp: str
    document: dict[str, Any]
    rendered: dict[str, bytes] = field(default_factory=dict)


_memo: OrderedDict[str, _Built] = OrderedDict()
_memo_lock = threading.Lock()
_build_lock = threading.Lock()


def base_document() -> dict[str, Any]:
    """Tollgate's own API, as drf-spectacular generates it (cached briefly, shared)."""
    cache_key = f"docs:openapi:base:{settings.ROOT_URLCONF}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    spec = SchemaGenerator().get_schema(request=None, public=True)
    document = json.loads(OpenApiJsonRenderer().render(spec, renderer_context={}))
    cache.set(cache_key, document, SCHEMA_CACHE_SECONDS)
    return document


def openapi_document(*, org: Organization | None = None) -> dict[str, Any]:
    """The merged document ``org``'s members see (``None``: a visitor). Do not modify it."""
    return _current(org).document


def openapi_rendered(*, org: Organization | None, renderer: Any, media_type: str) -> bytes:
    """The merged document rendered by a DRF renderer, rendered once per build and process."""
    built = _current(org)
    slot = f"{renderer.format}:{media_type}"
    body = built.rendered.get(slot)
    if body is None:
        body = renderer.render(built.document, media_type, renderer_context={})
        built.rendered[slot] = body
    return body


def document_key(*, org: Organization | None) -> tuple[str, tuple[int, ...]]:
    """(cache key, visible product ids) of the document ``org`` sees."""
    try:
        version: int | str = version_read()
    except RedisError:
        version = "none"
    ids = visible_product_ids(org=org)
    site = hashlib.sha256(settings.SITE_URL.encode()).hexdigest()[:12]
    products = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    return f"docs:openapi:{settings.ROOT_URLCONF}:{site}:{version}:{products}", ids


def _current(org: Organization | None) -> _Built:
    key, ids = document_key(org=org)
    stamp = cache.get(f"{key}:stamp")
    if stamp is not None:
        with _memo_lock:
            built = _memo.get(key)
        if built is not None and built.stamp == stamp:
            return built
        shared = cache.get(f"{key}:json")
        if shared is not None:
            return _remember(key, _Built(stamp, json.loads(shared)))
    with _build_lock:  # one build at a time per process; the others wait for its result
        stamp = cache.get(f"{key}:stamp")
        with _memo_lock:
            built = _memo.get(key)
        if stamp is not None and built is not None and built.stamp == stamp:
            return built
        document = document_merge(
            base_document(), product_docs_load(product_ids=ids), price_table=pricing.meter_price_table()
        )
        built = _Built(uuid.uuid4().hex, document)
        shared_json = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        cache.set_many({f"{key}:json": shared_json, f"{key}:stamp": built.stamp}, SCHEMA_CACHE_SECONDS)
        return _remember(key, built)


def _remember(key: str, built: _Built) -> _Built:
    with _memo_lock:
        _memo[key] = built
        _memo.move_to_end(key)
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return built


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every operation of the document, in path order: id, method, path, tag, summary, price."""
    found = []
    for path, method, operation in iter_operations(document):
        price = operation.get("x-price")
        # Without the price table appended for Swagger UI (the pages show x-price).
        description = operation.get("description", "").split(PRICE_MARKER)[0].strip()
        found.append(
            {
                "id": operation.get("operationId", f"{method}_{path}"),
                "method": method.upper(),
                "path": path,
                "tag": (operation.get("tags") or ["other"])[0],
                "summary": operation.get("summary") or description.split("\n")[0][:120],
                "description": description,
                "price": price,
                "deprecated": operation.get("deprecated", False),
                "operation": operation,
                "metered": bool(price) and not price.get("free"),
                "gateway": path.startswith(V1_PREFIX),
                "product": operation.get(PRODUCT_EXTENSION),
            }
        )
    return found
