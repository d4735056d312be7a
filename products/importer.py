"""From a validated OpenAPI document to the operations of a product. Pure: no database access
(``products.services`` reads and writes; ``products.diff`` compares with what exists).

* Every (method, path) of ``paths`` is an operation; ``trace`` is skipped (a proxy must not
  reflect requests back), with a warning.
* Parameters: path-level ones merged into the operation's (the operation's win on the same
  name and location). Internal ``$ref``s of parameters, request bodies, responses, headers and
  examples are inlined; a reference that leads back to itself stays a ``$ref`` (cycle guard).
  Schemas stay as written, ``$ref``s to ``#/components/schemas/…`` included: inlining them into
  every operation would multiply a document with megabytes of shared schemas, and the docs read
  them from the stored document. Their content still counts for change detection: an
  operation's fingerprint is "<hash of its own fields>:<hash of every component it reaches,
  transitively>".
* ``servers`` are ignored for routing: the product's upstream URL is the base.
* Operations without ``operationId`` get one in ``products.operation_ids``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from products.documents import LocatedError
from products.pointers import pointer_format, pointer_parse, pointer_resolve

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
MAX_OPERATION_ID = 200
MAX_PATH_TEMPLATE = 1000
# RFC 3986 pchar, with whole {name} parameters: what a path template may contain.
_SEGMENT_RE = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2}|\{[A-Za-z0-9_.\-]+\})*$")
PARAM_RE = re.compile(r"\{([^{}/]+)\}")


@dataclass(frozen=True, slots=True)
class OperationSpec:
    """One operation as the document defines it (what the importer writes to ``Operation``).
    ``operation_id`` is empty until ``operation_ids.ids_assign`` when ``generated_id``."""

    operation_id: str
    method: str
    path_template: str
    summary: str
    description: str
    tag: str
    parameters: list[Any]
    request_body: dict[str, Any] | None
    responses: dict[str, Any]
    fingerprint: str
    generated_id: bool = False


@dataclass
class DocumentOperations:
    """The operations of one document, or the errors that prevent reading them."""

    operations: list[OperationSpec] = field(default_factory=list)
    errors: list[LocatedError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def document_operations(data: dict[str, Any]) -> DocumentOperations:
    """Read every operation of a document that ``documents.spec_validate`` accepted."""
    out = DocumentOperations()
    inliner = _Inliner(data)
    seen_shapes: dict[str, str] = {}
    for path, raw_item in (data.get("paths") or {}).items():
        where = ("paths", path)
        problem = path_problem(path)
        shape = PARAM_RE.sub("{}", path)
        if problem is None and shape in seen_shapes:
            problem = f"{path} and {seen_shapes[shape]} differ only in parameter names: a request matches both."
        if problem:
            out.errors.append(LocatedError(pointer_format(where), problem))
            continue
        seen_shapes[shape] = path
        item = inliner.follow(raw_item)
        if not isinstance(item, dict):
            continue
        if "trace" in item:
            out.warnings.append(f"TRACE {path} skipped: the gateway does not forward TRACE.")
        path_parameters = inliner.inline(item.get("parameters") or [])
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            operation_id = operation.get("operationId") or ""
            if len(operation_id) > MAX_OPERATION_ID or any(ord(ch) < 33 for ch in operation_id):
                out.errors.append(
                    LocatedError(
                        pointer_format((*where, method, "operationId")),
                        f"An operationId has at most {MAX_OPERATION_ID} characters and no spaces.",
                    )
                )
                continue
            if not out.errors:
                out.operations.append(_spec(inliner, method, path, operation, path_parameters))
    if out.errors:
        out.operations = []
    out.operations.sort(key=lambda spec: (spec.path_template, HTTP_METHODS.index(spec.method.lower())))
    return out


def _spec(inliner: _Inliner, method: str, path: str, operation: dict[str, Any], path_parameters: Any) -> OperationSpec:
    parameters = _merge_parameters(path_parameters, inliner.inline(operation.get("parameters") or []))
    request_body = inliner.inline(operation["requestBody"]) if "requestBody" in operation else None
    responses = inliner.inline(operation.get("responses") or {})
    tags = operation.get("tags") or []
    summary = str(operation.get("summary") or "")
    description = str(operation.get("description") or "")
    tag = str(tags[0])[:120] if tags else ""
    operation_id = operation.get("operationId") or ""
    return OperationSpec(
        operation_id=operation_id,
        method=method.upper(),
        path_template=path,
        summary=summary,
        description=description,
        tag=tag,
        parameters=parameters,
        request_body=request_body,
        responses=responses,
        fingerprint=inliner.fingerprint([method, path, summary, description, tag, parameters, request_body, responses]),
        generated_id=not operation_id,
    )


def path_problem(path: str) -> str | None:
    """Why a path template cannot be routed, or None."""
    if not path.startswith("/"):
        return "A path template starts with '/'."
    if len(path) > MAX_PATH_TEMPLATE:
        return f"A path template has at most {MAX_PATH_TEMPLATE} characters."
    segments = path.split("/")[1:]
    for index, segment in enumerate(segments):
        if segment == "" and index != len(segments) - 1:
            return "Empty path segments ('//') are not allowed."
        if segment in {".", ".."}:
            return "Dot segments ('.', '..') are not allowed in a path template."
        if not _SEGMENT_RE.match(segment):
            return (
                f"Segment {segment!r} has characters a URL path cannot carry unencoded, or a malformed {{parameter}}."
            )
        if "}{" in segment:
            return f"Segment {segment!r} has two parameters with nothing between them: a request cannot be split."
    names = PARAM_RE.findall(path)
    if len(names) != len(set(names)):
        return "A path parameter name appears twice in the template."
    return None


def _merge_parameters(path_level: list[Any], operation_level: list[Any]) -> list[Any]:
    merged: dict[tuple[str, str], Any] = {}
    for parameter in [*path_level, *operation_level]:
        if isinstance(parameter, dict):
            merged[(str(parameter.get("name")), str(parameter.get("in")))] = parameter
    return list(merged.values())


class _Inliner:
    """Inlines internal ``$ref``s outside schemas; fingerprints what an operation reaches.
    ``documents.refs_check`` has proven every internal ref resolves before this runs."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._component_hash: dict[str, str] = {}
        self._component_refs: dict[str, frozenset[str]] = {}

    def _target(self, ref: str) -> Any:
        return pointer_resolve(self.data, pointer_parse(ref[1:]))

    def follow(self, node: Any) -> Any:
        """The object behind a chain of ``$ref``s (a cycle ends at the repeated ``$ref``)."""
        stack: set[str] = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"] not in stack:
            stack.add(node["$ref"])
            node = self._target(node["$ref"])
        return node

    def inline(self, node: Any, stack: tuple[str, ...] = ()) -> Any:
        if isinstance(node, list):
            return [self.inline(value, stack) for value in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref in stack:
                return dict(node)  # a cycle: keep the reference
            resolved = self.inline(self._target(ref), (*stack, ref))
            if not isinstance(resolved, dict):
                return resolved
            # OpenAPI 3.1 lets a reference override summary/description next to $ref.
            siblings = {key: value for key, value in node.items() if key != "$ref"}
            return {**resolved, **self.inline(siblings, stack)}
        return {key: (value if key == "schema" else self.inline(value, stack)) for key, value in node.items()}

    def fingerprint(self, parts: list[Any]) -> str:
        reached: dict[str, str] = {}
        todo = list(refs_in(parts))
        while todo:
            ref = todo.pop()
            if ref in reached:
                continue
            reached[ref] = self._hash_of(ref)
            todo.extend(self._component_refs[ref] - reached.keys())
        own = hashlib.sha256(canonical_json(parts).encode()).hexdigest()
        components = hashlib.sha256(canonical_json(sorted(reached.items())).encode()).hexdigest()
        return f"{own}:{components}"

    def _hash_of(self, ref: str) -> str:
        if ref not in self._component_hash:
            target = self._target(ref)
            self._component_hash[ref] = hashlib.sha256(canonical_json(target).encode()).hexdigest()
            self._component_refs[ref] = frozenset(refs_in(target))
        return self._component_hash[ref]


def refs_in(node: Any) -> set[str]:
    """Every internal ``$ref`` value in a JSON tree."""
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#"):
                found.add(ref)
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return found


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
