"""JSON Pointers (RFC 6901): the one parser for ``/usage/total_tokens`` and ``#/components/…``.

The importer uses them to follow internal ``$ref``s and to locate errors; an operation's unit
rule uses them to say which field of a JSON body holds the units. Parsing happens once (at
import or when the catalogue is compiled), so the hot path only walks a tuple of tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class PointerInvalid(ValueError):
    pass


def pointer_parse(pointer: str) -> tuple[str, ...]:
    """``"/a~1b/0"`` → ``("a/b", "0")``; ``""`` is the whole document."""
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise PointerInvalid("a JSON pointer starts with '/' (or is empty for the whole document)")
    parts = []
    for raw in pointer[1:].split("/"):
        if "~" in raw.replace("~0", "").replace("~1", ""):
            raise PointerInvalid("'~' must be escaped as ~0 (and '/' as ~1)")
        parts.append(raw.replace("~1", "/").replace("~0", "~"))
    return tuple(parts)


def pointer_format(parts: Sequence[str | int]) -> str:
    """``("paths", "/a/{id}", "get")`` → ``"/paths/~1a~1{id}/get"``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def pointer_resolve(document: Any, parts: tuple[str, ...]) -> Any:
    """The value at ``parts``; ``KeyError`` when there is none."""
    node = document
    for part in parts:
        if isinstance(node, dict):
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and (part == "0" or not part.startswith("0")):
            index = int(part)
            if index >= len(node):
                raise KeyError(part)
            node = node[index]
        else:
            raise KeyError(part)
    return node


def dotted_to_pointer(text: str) -> str:
    """Accept the friendly ``usage.total_tokens`` as well as ``/usage/total_tokens``."""
    if text == "" or text.startswith("/"):
        return text
    return pointer_format(text.split("."))
