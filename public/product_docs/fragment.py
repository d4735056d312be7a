"""One product's part of the merged OpenAPI document, from its imported document and the
operations customers can call:

1. Each path of the document with at least one enabled operation, re-rooted under the
   product's base path (``/messages`` → ``/v1/messaging/messages``): the gateway serves it
   there. The document's ``servers`` (top level, path and operation) are dropped: customers
   call the gateway, never the upstream.
2. Operation ids prefixed with the product slug (``messaging.messages_send``): unique across
   products whatever the viewer sees, and stable — the id an operator's document gives (or
   the importer generated) never changes with other products.
3. Tags prefixed with the product name (``Messaging · Messages``), grouped per product.
4. The components the kept operations reach, renamed under the product slug, every ``$ref``
   rewritten (``public.product_docs.refs``); the document's security schemes are left out.
5. The gateway's contract (``contract``) and the operation's price (``prices``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from products.pointers import PointerInvalid, pointer_parse, pointer_resolve
from public.product_docs.contract import gateway_responses_apply, gateway_security
from public.product_docs.prices import operation_price, price_markdown
from public.product_docs.refs import RefRewriter, reachable_components
from public.product_docs.selectors import ProductDocs

PRODUCT_EXTENSION = "x-tollgate-product"
TAG_SEPARATOR = " · "
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_PATH_ITEM_KEEP = ("summary", "description")


@dataclass
class Fragment:
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)
    tag_group: dict[str, Any] = field(default_factory=dict)


def product_tag(product_name: str, tag: str) -> str:
    return f"{product_name}{TAG_SEPARATOR}{tag}" if tag else product_name


def docs_operation_id(slug: str, operation_id: str) -> str:
    return f"{slug}.{operation_id}"


def product_fragment(docs: ProductDocs, *, price_table: dict[str, dict[str, Any]]) -> Fragment:
    """The paths, components and tags of one product (see the module docstring)."""
    product, document = docs.product, docs.document
    rewriter = RefRewriter(document, product.slug)
    plan_codes = docs.plan_codes
    fragment = Fragment()
    kept: list[Any] = []  # the original nodes the kept operations carry (for reachability)
    tag_names: dict[str, str] = {}
    for path, raw_item in (document.get("paths") or {}).items():
        item = _follow(document, raw_item)
        if not isinstance(item, dict):
            continue
        operations = {
            method: item[method]
            for method in _METHODS
            if isinstance(item.get(method), dict) and (method.upper(), path) in docs.operations
        }
        if not operations:
            continue
        out: dict[str, Any] = {}
        for key in _PATH_ITEM_KEEP:
            if key in item:
                out[key] = rewriter.rewrite(item[key])
                kept.append(item[key])
        for method, operation in operations.items():
            row = docs.operations[(method.upper(), path)]
            original = _with_inlined_successes(document, operation)
            parameters = _parameters(document, item.get("parameters"), operation.get("parameters"))
            if parameters:
                original["parameters"] = parameters
            kept.append(original)
            rewritten = rewriter.rewrite({k: v for k, v in original.items() if k not in ("servers", "security")})
            tags = [str(tag) for tag in (operation.get("tags") or [])] or [""]
            for tag in tags:
                tag_names.setdefault(tag, product_tag(product.name, tag))
            rewritten["tags"] = [tag_names[tag] for tag in tags]
            rewritten["operationId"] = docs_operation_id(product.slug, row.operation_id)
            rewritten["security"] = gateway_security()
            rewritten["responses"] = gateway_responses_apply(rewritten.get("responses") or {})
            price = operation_price(operation=row, price_table=price_table, plan_codes=plan_codes)
            rewritten["x-price"] = price
            rewritten["description"] = "\n\n".join(
                part for part in (str(operation.get("description") or "").strip(), price_markdown(price)) if part
            )
            rewritten[PRODUCT_EXTENSION] = {"slug": product.slug, "name": product.name, "tag": tags[0]}
            out[method] = rewritten
        fragment.paths[product.base_path + path] = out
    fragment.components = rewriter.components(reachable_components(rewriter, kept))
    fragment.tags = _tags(document, product, tag_names)
    fragment.tag_group = {"name": product.name, "tags": [tag["name"] for tag in fragment.tags]}
    return fragment


def _follow(document: dict[str, Any], node: Any) -> Any:
    """A path item behind its ``$ref`` chain (``#/components/pathItems/…`` or ``#/paths/…``)."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"] not in seen:
        seen.add(node["$ref"])
        try:
            node = pointer_resolve(document, pointer_parse(node["$ref"].removeprefix("#")))
        except (KeyError, PointerInvalid):
            return None
    return node


def _parameters(document: dict[str, Any], path_level: Any, operation_level: Any) -> list[Any]:
    """The path item's parameters merged into the operation's (the operation's win on the same
    name and location), so every reader finds all of an operation's parameters on it."""
    merged: dict[tuple[str, str], Any] = {}
    for parameter in [*(path_level or []), *(operation_level or [])]:
        target = _follow(document, parameter)
        if isinstance(target, dict):
            merged[(str(target.get("name")), str(target.get("in")))] = parameter
    return list(merged.values())


def _with_inlined_successes(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The operation with its 2xx responses inlined when they are references, so the gateway's
    RateLimit headers can be added to them (a shared response component stays untouched)."""
    responses = operation.get("responses")
    if not isinstance(responses, dict):
        return dict(operation)
    inlined = {}
    for code, response in responses.items():
        target = _follow(document, response) if str(code).startswith("2") else None
        inlined[code] = target if isinstance(target, dict) else response
    return {**operation, "responses": inlined}


def _tags(document: dict[str, Any], product: Any, names: dict[str, str]) -> list[dict[str, Any]]:
    """Tag objects for the tags the kept operations use, in the document's order, described by
    the document (or by the product for its untagged operations)."""
    described = {str(tag.get("name")): tag for tag in document.get("tags") or [] if isinstance(tag, dict)}
    order = [name for name in described if name in names] + [name for name in names if name not in described]
    tags = []
    for tag in order:
        entry: dict[str, Any] = {"name": names[tag]}
        description = described.get(tag, {}).get("description") or (product.description if not tag else "")
        if description:
            entry["description"] = description
        tags.append(entry)
    return tags
