"""Example values generated from a JSON schema (the OpenAPI document's components).

``example_for`` builds a plausible value for a schema (declared examples first), for the code
samples, the per-operation docs pages and the Postman collection.
"""

from __future__ import annotations

import re
from typing import Any

# Readable values for common field names, so samples look like real calls.
_NAMED_STRINGS = {
    "to": "+2348012345678",
    "phone": "+2348012345678",
    "msisdn": "+2348012345678",
    "sender": "Tollgate",
    "message": "Your verification code is 481516",
    "text": "Your verification code is 481516",
    "body": "Your verification code is 481516",
    "prompt": "Write a one-line haiku about APIs.",
    "model": "tg-small",
    "name": "Production server",
    "email": "dev@example.com",
    "currency": "NGN",
    "url": "https://example.com/webhooks/tollgate",
    "tracking_id": "trk_01JABCDEF",
}


def resolve(schema: Any, spec: dict[str, Any]) -> Any:
    """Follow a local ``$ref`` (``#/components/...``) to its target."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 20:
        target: Any = spec
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target
        seen += 1
    return schema


def example_for(schema: Any, spec: dict[str, Any], *, name: str = "", depth: int = 0) -> Any:
    """A plausible example value for ``schema``; declared examples win."""
    schema = resolve(schema, spec)
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples") and isinstance(schema["examples"], list):
        return schema["examples"][0]
    if schema.get("enum"):
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_for(part, spec, name=name, depth=depth + 1)
            if isinstance(value, dict):
                merged.update(value)
            elif value is not None:
                return value
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [s for s in schema[key] if resolve(s, spec).get("type") != "null"] or schema[key]
            return example_for(options[0], spec, name=name, depth=depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {
            prop: example_for(sub, spec, name=prop, depth=depth + 1)
            for prop, sub in props.items()
            if not resolve(sub, spec).get("readOnly")
        }
    if kind == "array":
        item = example_for(schema.get("items", {}), spec, name=name, depth=depth + 1)
        return [] if item is None else [item]
    if kind == "integer":
        low = schema.get("minimum", 1)
        return max(int(low), 1) if schema.get("maximum", 10**9) >= 1 else int(low)
    if kind == "number":
        return float(schema.get("minimum", 1.5) or 1.5)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string_example(schema, name)


def _from_pattern(pattern: str) -> str | None:
    """The shortest string matching a simple regular expression (literals, classes, \\d, \\w,
    quantifiers); None for anything fancier (alternation, groups, look-arounds)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch in "^$":
            i += 1
            continue
        if ch in "()|":
            return None
        if ch == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                return None
            body = pattern[i + 1 : end]
            if body.startswith("^"):
                atom = "x" if "x" not in body else "y"
            elif body.startswith("\\d") or body[:1].isdigit():
                atom = "1" if "1-9" in body else body[0] if body[0].isdigit() else "0"
            else:
                atom = body[0] if body[0] != "\\" else body[1:2]
            i = end + 1
        elif ch == "\\" and i + 1 < n:
            atom = {"d": "1", "w": "a", "s": " "}.get(pattern[i + 1], pattern[i + 1])
            i += 2
        elif ch == ".":
            atom, i = "a", i + 1
        else:
            atom, i = ch, i + 1
        count = 1
        if i < n and pattern[i] == "{":
            end = pattern.find("}", i)
            low = pattern[i + 1 : end].split(",")[0]
            count = int(low) if low.isdigit() else 1
            i = end + 1
        elif i < n and pattern[i] in "*?":
            count, i = 0, i + 1
        elif i < n and pattern[i] == "+":
            i += 1
        out.append(atom * count)
    return "".join(out)


def _string_example(schema: dict[str, Any], name: str) -> str:
    fmt = schema.get("format", "")
    by_format = {
        "email": "dev@example.com",
        "uri": "https://example.com/webhooks/tollgate",
        "url": "https://example.com",
        "date-time": "2026-01-15T09:30:00Z",
        "date": "2026-01-15",
        "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "decimal": "10.00",
    }
    if fmt in by_format:
        return by_format[fmt]
    value = _NAMED_STRINGS.get(name.lower(), "string" if not name else f"example-{name}")
    pattern = schema.get("pattern")
    if pattern:
        try:
            matches = re.search(pattern, value) is not None
        except re.error:
            matches = True
        if not matches:
            return _from_pattern(pattern) or value
    max_length = schema.get("maxLength")
    if max_length:
        value = value[:max_length]
    min_length = schema.get("minLength", 0)
    if len(value) < min_length:
        value = value + "x" * (min_length - len(value))
    return value
