"""A product document's components under product-prefixed names, and every ``$ref`` rewritten
to match, so several documents live side by side in one OpenAPI document.

The walk knows which parts of a document are *names* (the keys of ``properties``,
``responses``, ``content``…) and which are *data* (``example``, ``default``, ``enum``,
``const``, an example's ``value``): a property called ``default`` is still a schema, and a
``$ref`` key inside an example value is still just data.

References that do not point at a component (``#/paths/…``) are inlined: their target is
re-rooted or left out of the merged document. A 3.0 document's schemas are upgraded to 3.1
on the way (``nullable``, boolean ``exclusiveMinimum``/``exclusiveMaximum``), because the
merged document is 3.1.
"""

from __future__ import annotations

import contextlib
import copy
import re
from typing import Any

from products.pointers import PointerInvalid, pointer_format, pointer_parse, pointer_resolve

# securitySchemes are not carried over: Tollgate's own schemes replace the document's.
COMPONENT_KINDS = (
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "links",
    "callbacks",
    "pathItems",
)
# Keywords whose value is a map from a name to an object (the keys are names, not keywords).
_NAMED_MAPS = frozenset(
    {
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
        "dependentSchemas",
        "responses",
        "content",
        "headers",
        "encoding",
        "callbacks",
        "links",
        "variables",
        *COMPONENT_KINDS,
    }
)
# Keywords whose value is data, never walked.
_LITERALS = frozenset({"example", "default", "enum", "const"})
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MAX_INLINE_DEPTH = 32


def component_name(prefix: str, name: str) -> str:
    """``("paystack", "Customer")`` → ``"paystack.Customer"`` (a valid component name)."""
    return f"{prefix}.{_NAME_UNSAFE.sub('_', name)}"


class RefRewriter:
    """Rewrites one document's nodes for the merged document (see the module docstring)."""

    def __init__(self, document: dict[str, Any], prefix: str) -> None:
        self.document = document
        self.prefix = prefix
        self.upgrade = str(document.get("openapi", "")).startswith("3.0")
        components = document.get("components") or {}
        self.names = {
            kind: {name: component_name(prefix, name) for name in (components.get(kind) or {})}
            for kind in COMPONENT_KINDS
        }

    def components(self, reachable: set[tuple[str, str]]) -> dict[str, dict[str, Any]]:
        """The rewritten components named in ``reachable`` ((kind, name) pairs), by kind."""
        source = self.document.get("components") or {}
        out: dict[str, dict[str, Any]] = {}
        for kind, name in sorted(reachable):
            out.setdefault(kind, {})[self.names[kind][name]] = self.rewrite(source[kind][name])
        return out

    def rename(self, ref: str) -> str | None:
        """The merged document's name for a component reference; None when ``ref`` does not
        point into a carried-over component."""
        target = self.component_of(ref)
        if target is None:
            return None
        kind, name, rest = target
        return "#" + pointer_format(("components", kind, self.names[kind][name], *rest))

    def component_of(self, ref: str) -> tuple[str, str, tuple[str, ...]] | None:
        if not ref.startswith("#/components/"):
            return None
        try:
            parts = pointer_parse(ref[1:])
        except PointerInvalid:
            return None
        if len(parts) < 3 or parts[2] not in self.names.get(parts[1], {}):
            return None
        return parts[1], parts[2], parts[3:]

    def rewrite(self, node: Any, *, named: bool = False, inlining: tuple[str, ...] = ()) -> Any:
        """A rewritten deep copy of ``node``; ``named`` = its keys are names, not keywords;
        ``inlining`` = the non-component references being inlined around it (cycle guard)."""
        if isinstance(node, list):
            return [self.rewrite(value, inlining=inlining) for value in node]
        if not isinstance(node, dict):
            return node
        if named:
            return {key: self.rewrite(value, inlining=inlining) for key, value in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#") and self.rename(ref) is None:
            return self._inline(node, ref, inlining)
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = self.rename(value) or value
            elif key in _LITERALS:
                out[key] = copy.deepcopy(value)
            elif key == "examples":
                out[key] = self._examples(value)
            elif key == "discriminator" and isinstance(value, dict):
                out[key] = self._discriminator(value)
            else:
                named = key in _NAMED_MAPS and isinstance(value, dict)
                out[key] = self.rewrite(value, named=named, inlining=inlining)
        return self._upgraded(out) if self.upgrade else out

    def _inline(self, node: dict[str, Any], ref: str, inlining: tuple[str, ...]) -> Any:
        """A reference outside the components (e.g. ``#/paths/…``): its target, rewritten."""
        if ref in inlining or len(inlining) >= _MAX_INLINE_DEPTH:
            return {"description": f"Not shown: {ref} refers back to itself."}
        try:
            target = pointer_resolve(self.document, pointer_parse(ref[1:]))
        except (KeyError, PointerInvalid):
            return {"description": f"Not shown: {ref} does not resolve."}
        resolved = self.rewrite(target, inlining=(*inlining, ref))
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        if isinstance(resolved, dict) and siblings:
            return {**resolved, **self.rewrite(siblings, inlining=inlining)}
        return resolved

    def _examples(self, value: Any) -> Any:
        if not isinstance(value, dict):  # a schema's ``examples`` list (JSON Schema): data
            return copy.deepcopy(value)
        out = {}
        for name, example in value.items():
            if isinstance(example, dict) and isinstance(example.get("$ref"), str):
                out[name] = self.rewrite(example)
            else:  # an Example Object: summary, description, value — all data
                out[name] = copy.deepcopy(example)
        return out

    def _discriminator(self, value: dict[str, Any]) -> dict[str, Any]:
        out = dict(value)
        mapping = value.get("mapping")
        if isinstance(mapping, dict):
            schemas = self.names["schemas"]
            out["mapping"] = {
                key: (self.rename(target) or target)
                if str(target).startswith("#")
                else ("#/components/schemas/" + schemas[target] if target in schemas else target)
                for key, target in mapping.items()
            }
        return out

    @staticmethod
    def _upgraded(node: dict[str, Any]) -> dict[str, Any]:
        """3.0 schema keywords in their 3.1 (JSON Schema 2020-12) spelling."""
        for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            # exclusiveMinimum: true → the minimum, exclusive; false → just the minimum.
            if isinstance(node.get(exclusive), bool) and node.pop(exclusive) and bound in node:
                node[exclusive] = node.pop(bound)
        if "nullable" not in node or not isinstance(node["nullable"], bool):
            return node
        if not node.pop("nullable"):
            return node
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
        elif isinstance(kind, list) and "null" not in kind:
            node["type"] = [*kind, "null"]
        elif kind is None and any(key in node for key in ("$ref", "allOf", "oneOf", "anyOf")):
            return {"anyOf": [node, {"type": "null"}]}
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node


def component_refs(node: Any) -> set[str]:
    """Every ``$ref`` string in a tree (examples included: an over-approximation is harmless)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def reachable_components(rewriter: RefRewriter, roots: list[Any]) -> set[tuple[str, str]]:
    """The (kind, name) of every component the original ``roots`` reach, transitively."""
    source = rewriter.document.get("components") or {}
    seen: set[tuple[str, str]] = set()
    followed: set[str] = set()
    todo = [ref for root in roots for ref in component_refs(root)]
    while todo:
        ref = todo.pop()
        if ref in followed:
            continue
        followed.add(ref)
        if not ref.startswith("#/components/"):
            if ref.startswith("#"):  # an inlined reference: what its target reaches
                with contextlib.suppress(KeyError, PointerInvalid):
                    todo.extend(component_refs(pointer_resolve(rewriter.document, pointer_parse(ref[1:]))))
            continue
        target = rewriter.component_of(ref)
        if target is None or target[:2] in seen:
            continue
        seen.add(target[:2])
        todo.extend(component_refs(source[target[0]][target[1]]))
    return seen
