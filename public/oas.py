"""The vocabulary of an OpenAPI document that every docs module shares: the HTTP methods of a
path item, the walk over its operations, and the markers the docs put in descriptions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

V1_PREFIX = "/v1/"
PRICE_MARKER = "**Price** — "
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def iter_operations(result: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of an OpenAPI document."""
    for path, item in result.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]
