"""Tollgate's own OpenAPI document (drf-spectacular) merged with the fragments of the products
a viewer may see: one document for Swagger UI, Redoc, the per-operation pages, the code
samples and the Postman collection."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from public import samples
from public.oas import iter_operations
from public.product_docs.contract import gateway_error_responses
from public.product_docs.fragment import Fragment, product_fragment
from public.product_docs.selectors import ProductDocs
from public.schema import HEADERS, PROBLEM_SCHEMA, SECURITY_SCHEMES

log = logging.getLogger(__name__)


def document_merge(base: dict[str, Any], products: list[ProductDocs], *, price_table: dict[str, Any]) -> dict[str, Any]:
    """A new document: ``base`` (not modified) plus each product's fragment, served from
    ``SITE_URL`` (the gateway). Products come first: they are what customers came for."""
    merged = dict(base)
    merged["servers"] = [{"url": settings.SITE_URL, "description": "The API gateway"}]
    fragments = [product_fragment(docs, price_table=price_table) for docs in products]
    fragments = [fragment for fragment in fragments if fragment.paths]
    if not fragments:
        return merged
    own_paths = base.get("paths", {})
    product_paths: dict[str, Any] = {}
    for fragment in fragments:
        for path, item in fragment.paths.items():
            if path in own_paths or path in product_paths:
                log.warning("docs: %s is already documented; a product's operation at that path is left out", path)
                continue
            product_paths[path] = item
    merged["paths"] = {**product_paths, **own_paths}
    merged["components"] = _components(base, fragments)
    own_tags = _own_tags(base)
    merged["tags"] = [tag for fragment in fragments for tag in fragment.tags] + own_tags
    # Redoc's navigation: one group per product, then Tollgate's own API (token exchange,
    # verify, the customer's account). Every tag must be in a group, or Redoc hides it.
    merged["x-tagGroups"] = [fragment.tag_group for fragment in fragments] + [
        {"name": f"{settings.SITE_NAME} platform API", "tags": [tag["name"] for tag in own_tags]}
    ]
    for path, method, operation in iter_operations({"paths": product_paths}):
        operation["x-codeSamples"] = samples.operation_samples(
            spec=merged, path=path, method=method, operation=operation, base_url=settings.SITE_URL, api_key=None
        )
    return merged


def _components(base: dict[str, Any], fragments: list[Fragment]) -> dict[str, Any]:
    components = {kind: dict(entries) for kind, entries in (base.get("components") or {}).items()}
    for fragment in fragments:
        for kind, entries in fragment.components.items():
            components.setdefault(kind, {}).update(entries)
    # What the gateway's contract refers to (the hook adds the same for Tollgate's own API).
    components.setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    components.setdefault("schemas", {}).setdefault("Problem", PROBLEM_SCHEMA)
    for name, header in HEADERS.items():
        components.setdefault("headers", {}).setdefault(name, header)
    components.setdefault("responses", {}).update(gateway_error_responses())
    return components


def _own_tags(base: dict[str, Any]) -> list[dict[str, Any]]:
    """The base document's tag objects, plus one per tag its operations use without one."""
    tags = [dict(tag) for tag in base.get("tags") or []]
    known = {tag["name"] for tag in tags}
    for _path, _method, operation in iter_operations(base):
        for name in operation.get("tags") or []:
            if name not in known:
                known.add(name)
                tags.append({"name": name})
    return tags
