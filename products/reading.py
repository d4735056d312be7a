"""One pass over a document's text — parse, validate, read its operations — remembered by the
text's SHA-256, so the apply that follows a preview (and the preview that follows an upload)
does not validate the same megabytes twice in one process."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from products.documents import DocumentRejected, LocatedError, document_parse, errors_with_lines
from products.importer import OperationSpec, document_operations
from products.spec_validator import spec_validate

CACHE_SIZE = 4


@dataclass(frozen=True)
class DocumentRead:
    """A document's text as the importer sees it. Shared between callers: never mutate."""

    sha256: str
    format: str
    data: dict[str, Any]
    errors: list[LocatedError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    operations: list[OperationSpec] = field(default_factory=list)

    @property
    def info(self) -> dict[str, Any]:
        info = self.data.get("info") or {}
        return {
            "title": str(info.get("title", "")),
            "version": str(info.get("version", "")),
            "openapi": str(self.data.get("openapi", "")),
            "format": self.format,
            "sha256": self.sha256,
            "operations": len(self.operations),
        }


_cache: OrderedDict[str, DocumentRead] = OrderedDict()
_cache_lock = threading.Lock()


def document_read(text: str) -> DocumentRead:
    """Parse, validate and read ``text`` (or return the remembered result for the same text)."""
    sha256 = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    with _cache_lock:
        if sha256 in _cache:
            _cache.move_to_end(sha256)
            return _cache[sha256]
    read = _read(text, sha256)
    with _cache_lock:
        _cache[sha256] = read
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return read


def _read(text: str, sha256: str) -> DocumentRead:
    try:
        data, fmt = document_parse(text)
    except DocumentRejected as rejected:
        return DocumentRead(sha256, "", {}, errors=errors_with_lines(text, rejected.errors))
    errors = spec_validate(data)
    if errors:
        return DocumentRead(sha256, fmt, data, errors=errors_with_lines(text, errors))
    operations = document_operations(data)
    if operations.errors:
        return DocumentRead(sha256, fmt, data, errors=errors_with_lines(text, operations.errors))
    return DocumentRead(sha256, fmt, data, warnings=operations.warnings, operations=operations.operations)
