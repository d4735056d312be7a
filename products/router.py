"""The compiled routing table of the gateway: (method, raw path) → ``Route``. Pure and
immutable once built; ``products.catalogue`` builds it from the database and swaps it in.

Layout — one trie of path segments for all products:

    v1 ─ messaging ─ v1 ─ Services ─ {*} ─ AlphaSenders      (GET, POST)
                                        └─ {*}.json          (pattern segment)
    └─ payments ─ transaction ─ verify ─ {*}                 (GET)

The base path's segments are literal nodes; the product's templates hang below them. Base
paths never overlap (``products.validators.base_paths_overlap``), so a request path belongs to
at most one product.

Invariants — do not break:

* Lookup cost grows with the number of segments of the request path, never with the number
  of products or operations: each step is a dict lookup, then at most the node's few pattern
  segments, then its one parameter child.
* Precedence per segment: literal, then pattern segments (``{Sid}.json``), then a bare
  ``{param}``. A branch that cannot finish the path (or lacks the method) falls back to the next
  kind, so ``/users/me/keys`` still reaches ``/users/{id}/keys`` when ``/users/me`` is literal.
* Segments are compared after RFC 3986 normalization of escapes of unreserved characters
  (``%41`` is ``A``, ``%2e`` is ``.``); a segment that then reads ``.`` or ``..`` makes the
  whole path unroutable. Other escapes stay as sent: ``%2F`` never splits a segment, and path
  parameters are returned still percent-encoded.
* A trailing slash is significant: ``/users/`` matches only a template that ends with ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

MAX_SEGMENTS = 64
_ESCAPE_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PARAM_RE = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True, slots=True)
class Route:
    """Everything the gateway needs to serve one matched request, without a query.

    Immutable. A route whose template has no parameters is one shared object (``path_params``
    is then a read-only empty mapping); the others are built per match, which costs several
    times the walk itself (a frozen dataclass sets each of its fields through object.__setattr__).
    """

    product_id: int
    product_slug: str
    base_path: str
    upstream_url: str
    upstream_auth_header: str
    upstream_auth_secret: str = field(repr=False)
    connect_timeout_s: float
    read_timeout_s: float
    max_request_bytes: int
    max_response_bytes: int
    private: bool
    organization_ids: frozenset[int]
    plan_codes: frozenset[str]
    operation_id: str
    method: str
    path_template: str
    meter: str | None
    unit_rule: str
    units_fixed: int
    unit_source: str
    unit_pointer: tuple[str, ...]
    max_units: int
    required_scope: str
    path_params: Mapping[str, str]

    def available_to(self, *, org_id: int, plan_code: str) -> bool:
        """May this organization, on this plan, call the operation (visibility and plans)?"""
        if self.private and org_id not in self.organization_ids:
            return False
        return not self.plan_codes or plan_code in self.plan_codes


def normalize_segment(segment: str) -> str:
    """Decode escapes of unreserved characters; upper-case the hex of the others."""
    if "%" not in segment:
        return segment
    return _ESCAPE_RE.sub(_normalize_escape, segment)


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


class _Node:
    __slots__ = ("literal", "methods", "param", "patterns")

    def __init__(self) -> None:
        self.literal: dict[str, _Node] = {}
        self.patterns: list[tuple[str, re.Pattern[str], _Node]] = []
        self.param: _Node | None = None
        # METHOD → (the template's parameter names in order, the Route's other fields, the Route
        # itself — returned as is when the template has no parameters)
        self.methods: dict[str, tuple[tuple[str, ...], tuple[Any, ...], Route]] = {}


_NO_PARAMS: Mapping[str, str] = MappingProxyType({})
_ROUTE_FIELDS = tuple(name for name in Route.__dataclass_fields__ if name != "path_params")
# A match builds its Route from a stored tuple of the other fields plus the path parameters.
_route_from_fields: Callable[..., Route] = Route


class Router:
    """The immutable routing table, compiled from routes with empty ``path_params``."""

    __slots__ = ("_by_operation", "_root", "size")

    def __init__(self, routes: Iterable[Route]) -> None:
        self._root = _Node()
        self._by_operation: dict[tuple[str, str], Route] = {}
        self.size = 0
        for route in routes:
            self._insert(route)

    def _insert(self, route: Route) -> None:
        node = self._root
        names: list[str] = []
        segments = route.base_path.split("/")[1:] + route.path_template.split("/")[1:]
        for segment in segments:
            params = _PARAM_RE.findall(segment)
            if not params:
                node = node.literal.setdefault(normalize_segment(segment), _Node())
            elif _PARAM_RE.fullmatch(segment):
                node.param = node.param or _Node()
                node = node.param
            else:
                shape = _PARAM_RE.sub("{}", normalize_segment(segment))
                child = next((n for s, _, n in node.patterns if s == shape), None)
                if child is None:
                    pieces = [re.escape(piece) for piece in shape.split("{}")]
                    child = _Node()
                    node.patterns.append((shape, re.compile("([^/]+?)".join(pieces)), child))
                    # More literal text first: /{name}.tar.gz wins over /{name}.gz.
                    node.patterns.sort(key=lambda item: -len(item[0].replace("{}", "")))
                node = child
            names.extend(params)
        shared = replace(route, path_params=_NO_PARAMS)
        node.methods[route.method] = (tuple(names), tuple(getattr(route, name) for name in _ROUTE_FIELDS), shared)
        self._by_operation[(route.product_slug, route.operation_id)] = shared
        self.size += 1

    def match(self, method: str, path: str) -> Route | None:
        """The operation serving ``method path`` (``path`` raw, percent-encoded, no query)."""
        if not path.startswith("/"):
            return None
        raw = path.split("/")[1:]
        if len(raw) > MAX_SEGMENTS:
            return None
        segments = [normalize_segment(segment) for segment in raw]
        for segment in segments:
            if segment in {".", ".."}:
                return None
        found = _walk(self._root, segments, 0, (), method.upper())
        if found is None:
            return None
        values, (names, fields, shared) = found
        if not names:
            return shared  # nothing request-specific: no Route to build
        return _route_from_fields(*fields, dict(zip(names, values, strict=True)))

    def methods_for(self, path: str) -> frozenset[str]:
        """Every method some template matching ``path`` accepts (for 405 and ``Allow``)."""
        if not path.startswith("/"):
            return frozenset()
        segments = [normalize_segment(segment) for segment in path.split("/")[1:]]
        if len(segments) > MAX_SEGMENTS or any(segment in {".", ".."} for segment in segments):
            return frozenset()
        found: set[str] = set()
        _collect(self._root, segments, 0, found)
        return frozenset(found)

    def operation(self, product_slug: str, operation_id: str) -> Route | None:
        """An enabled operation by id (for callers that do not route by path, e.g. verify)."""
        return self._by_operation.get((product_slug, operation_id))


def _walk(node: _Node, segments: list[str], index: int, values: tuple[str, ...], method: str) -> Any:
    if index == len(segments):
        target = node.methods.get(method)
        return None if target is None else (values, target)
    segment = segments[index]
    child = node.literal.get(segment)
    if child is not None:
        found = _walk(child, segments, index + 1, values, method)
        if found is not None:
            return found
    for _, pattern, pattern_child in node.patterns:
        matched = pattern.fullmatch(segment)
        if matched is not None:
            found = _walk(pattern_child, segments, index + 1, values + matched.groups(), method)
            if found is not None:
                return found
    if node.param is not None and segment:
        return _walk(node.param, segments, index + 1, (*values, segment), method)
    return None


def _collect(node: _Node, segments: list[str], index: int, found: set[str]) -> None:
    if index == len(segments):
        found.update(node.methods)
        return
    segment = segments[index]
    if segment in node.literal:
        _collect(node.literal[segment], segments, index + 1, found)
    for _, pattern, child in node.patterns:
        if pattern.fullmatch(segment):
            _collect(child, segments, index + 1, found)
    if node.param is not None and segment:
        _collect(node.param, segments, index + 1, found)
