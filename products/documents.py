"""Reading an operator's OpenAPI document: text → plain JSON data → validated, with every
problem reported as a located error (JSON pointer, message, and line/column when known).

Steps, in order — each stops the import with located errors instead of raising:

1. Size: at most ``MAX_DOCUMENT_BYTES``.
2. Syntax: JSON when the text starts with ``{``, else YAML (``safe_load``, the C loader when
   available). Syntax errors carry the parser's line and column.
3. Plain data: mapping keys become strings (YAML reads ``200:`` as an integer), dates become
   ISO strings; at most ``MAX_NODES`` values after alias expansion (a YAML "billion laughs"
   document stops here) and ``MAX_DEPTH`` levels.
4. References: every ``$ref`` must be internal (``#/…``) and resolve (``refs_check``).
5. ``openapi-spec-validator``: OpenAPI 3.0.x or 3.1.x only (``products.spec_validator``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any

import yaml

from products.pointers import pointer_format, pointer_parse, pointer_resolve

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_NODES = 2_000_000
MAX_DEPTH = 200
MAX_ERRORS = 50

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class LocatedError:
    """One problem of a document: where (JSON pointer; line/column in the text when known)."""

    pointer: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"pointer": self.pointer, "message": self.message}
        if self.line is not None:
            out["line"], out["column"] = self.line, self.column
        return out


class DocumentRejected(Exception):
    """Raised inside this module to stop at the first step that failed."""

    def __init__(self, errors: list[LocatedError]) -> None:
        super().__init__(errors[0].message if errors else "invalid document")
        self.errors = errors


def text_format(text: str) -> str:
    return "json" if text.lstrip().startswith("{") else "yaml"


def document_parse(text: str) -> tuple[dict[str, Any], str]:
    """(plain data, "json" | "yaml"); ``DocumentRejected`` with located syntax errors."""
    if len(text.encode("utf-8", errors="replace")) > MAX_DOCUMENT_BYTES:
        raise DocumentRejected(
            [LocatedError("", f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")]
        )
    if not text.strip():
        raise DocumentRejected([LocatedError("", "The document is empty.")])
    fmt = text_format(text)
    try:
        raw = json.loads(text) if fmt == "json" else yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
    except json.JSONDecodeError as exc:
        raise DocumentRejected([LocatedError("", f"Invalid JSON: {exc.msg}.", exc.lineno, exc.colno)]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise DocumentRejected([LocatedError("", f"Invalid YAML: {problem}.", line, column)]) from exc
    except RecursionError as exc:
        raise DocumentRejected([LocatedError("", "The document is nested too deeply.")]) from exc
    if not isinstance(raw, dict):
        raise DocumentRejected([LocatedError("", "An OpenAPI document is a JSON object (a YAML mapping).")])
    return _plain(raw, [0], 0, ()), fmt


def _plain(node: Any, budget: list[int], depth: int, where: tuple[str, ...]) -> Any:
    """A JSON-safe deep copy (no shared sub-trees: YAML aliases are expanded, within budget)."""
    budget[0] += 1
    if budget[0] > MAX_NODES:
        raise DocumentRejected(
            [
                LocatedError(
                    pointer_format(where),
                    f"The document has more than {MAX_NODES:,} values (YAML aliases are counted once per use).",
                )
            ]
        )
    if depth > MAX_DEPTH:
        raise DocumentRejected([LocatedError(pointer_format(where), f"Nested deeper than {MAX_DEPTH} levels.")])
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            name = _key(key)
            out[name] = _plain(value, budget, depth + 1, (*where, name))
        return out
    if isinstance(node, list):
        return [_plain(value, budget, depth + 1, (*where, str(i))) for i, value in enumerate(node)]
    if isinstance(node, float) and not math.isfinite(node):
        raise DocumentRejected([LocatedError(pointer_format(where), "NaN and infinity are not JSON numbers.")])
    if isinstance(node, dt.date | dt.datetime):
        return node.isoformat()
    if node is None or isinstance(node, str | int | float | bool):
        return node
    raise DocumentRejected([LocatedError(pointer_format(where), f"Unsupported value of type {type(node).__name__}.")])


def _key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, dt.date | dt.datetime):
        return key.isoformat()
    return str(key)


def refs_check(data: dict[str, Any]) -> list[LocatedError]:
    """Every ``$ref`` internal and resolvable (located at the ``$ref`` itself)."""
    errors: list[LocatedError] = []
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack and len(errors) < MAX_ERRORS:
        node, where = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                problem = _ref_problem(data, ref)
                if problem:
                    errors.append(LocatedError(pointer_format((*where, "$ref")), problem))
            stack.extend((value, (*where, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*where, str(i))) for i, value in enumerate(node))
    return sorted(errors, key=lambda e: e.pointer)


def _ref_problem(data: dict[str, Any], ref: str) -> str:
    if not ref.startswith("#"):
        return f"Only references inside the document (#/…) are supported, not {ref!r}."
    try:
        pointer_resolve(data, pointer_parse(ref[1:]))
    except (KeyError, ValueError):
        return f"{ref} does not point at anything in the document."
    return ""


def errors_with_lines(text: str, errors: list[LocatedError]) -> list[LocatedError]:
    """Add line/column to pointer-located errors by composing the text's node tree once.

    Only on the error path: composing keeps every node's position and costs several times a
    plain load. JSON is read as YAML here (flow style), which holds for ordinary documents;
    when it does not, errors keep only their pointer.
    """
    if all(e.line is not None for e in errors) or len(text) > MAX_DOCUMENT_BYTES:
        return errors
    try:
        root = yaml.compose(text, Loader=_YAML_LOADER)
    except (yaml.YAMLError, RecursionError):
        return errors
    located = []
    for error in errors:
        if error.line is not None:
            located.append(error)
            continue
        mark = _node_mark(root, error.pointer)
        located.append(error if mark is None else LocatedError(error.pointer, error.message, mark[0], mark[1]))
    return located


def _node_mark(root: Any, pointer: str) -> tuple[int, int] | None:
    """Position of the node at ``pointer``, or of its deepest existing ancestor."""
    try:
        tokens = pointer_parse(pointer)
    except ValueError:
        return None
    found = root
    for token in tokens:
        child = None
        if isinstance(found, yaml.MappingNode):
            child = next((value for key, value in found.value if getattr(key, "value", None) == token), None)
        elif isinstance(found, yaml.SequenceNode) and token.isdigit() and int(token) < len(found.value):
            child = found.value[int(token)]
        if child is None:
            break
        found = child
    if found is None:
        return None
    return found.start_mark.line + 1, found.start_mark.column + 1
