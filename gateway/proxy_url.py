"""The upstream URL of a proxied call: the configured base, the customer's path, their query.

The path Django routes on is already percent-decoded, so gluing it to the base lets
``/v1/proxy/%2e%2e/internal`` climb out of the base path and ``%3F`` / ``%23`` start a query or
a fragment. Instead the URL is built from the raw, still-encoded segments the server received
(the ASGI ``raw_path``; the decoded path, re-encoded, when a server gives no raw path), every
segment is checked however often an upstream might decode it, and the query comes only from the
real query string. A segment that could escape is refused, never "cleaned": a request we would
have to guess about is a request we do not forward.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import httpx
from django.conf import settings
from django.http import HttpRequest

from portal.problems import Problem

PROXY_PREFIX = "/v1/proxy/"
# RFC 3986 pchar (unreserved, sub-delims, ":" and "@") stays as sent; "%" keeps existing escapes.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@%"
_QUERY_SAFE = _SEGMENT_SAFE + "/?"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DECODE_ROUNDS = 4


class InvalidProxyPath(Problem):
    """The path after `/v1/proxy/` has a segment that is, or decodes to, `.` or `..`, or contains
    an encoded `/`, `?` or `#`, a `\\` or a control character: it could leave the upstream's base
    path or change its query, so it is not forwarded."""

    status, slug, title = 400, "invalid-proxy-path", "Invalid proxy path"


def _ascii(raw: bytes) -> str:
    # A lax client may send raw non-ASCII bytes: escape them so the path stays byte-exact.
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def _raw_tail(request: HttpRequest, path: str) -> str | None:
    """The still-encoded path after ``/v1/proxy/``, when the server kept it; else None."""
    scope = getattr(request, "scope", None)
    raw = scope.get("raw_path") if scope else None
    if raw is None:  # WSGI servers: gunicorn's RAW_URI, uWSGI/mod_wsgi's REQUEST_URI
        uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
        raw = uri.encode("latin-1", "replace") if uri else None
    if not raw:
        return None
    text = _ascii(raw).split("?", 1)[0]
    start = text.find(PROXY_PREFIX)
    if start < 0:
        return None
    tail = text[start + len(PROXY_PREFIX) :]
    # Only trust it if it is the very path Django routed on (else: the re-encoded fallback).
    return tail if unquote(tail, errors="replace") == path else None


def _segment_check(segment: str) -> None:
    """Refuse a segment that is, or decodes (once or several times) to, something that escapes."""
    stage = segment
    for depth in range(_DECODE_ROUNDS + 1):
        if stage.split(";", 1)[0] in (".", "..") or "\\" in stage or _CONTROL.search(stage):
            raise InvalidProxyPath(
                f"The path segment {segment!r} is not allowed: it could leave the upstream's base path."
            )
        if depth and ("/" in stage or "?" in stage or "#" in stage):
            raise InvalidProxyPath(
                f"The path segment {segment!r} is not allowed: it contains an encoded '/', '?' or '#'."
            )
        decoded = unquote(stage, errors="replace")
        if decoded == stage:
            return
        stage = decoded
    raise InvalidProxyPath(f"The path segment {segment!r} is encoded too many times.")


def upstream_url(request: HttpRequest, path: str) -> httpx.URL:
    """``GATEWAY_UPSTREAM_URL`` + the customer's path + their query; raises ``InvalidProxyPath``."""
    raw_tail = _raw_tail(request, path)
    if raw_tail is None:
        # No raw path from the server: re-encode the decoded one. A "?" or "#" in it can only have
        # been sent encoded, so it becomes %3F / %23 again and is refused like one.
        raw_tail = "/".join(quote(segment, safe=_SEGMENT_SAFE.replace("%", "")) for segment in path.split("/"))
    segments = [_LONE_PERCENT.sub("%25", segment) for segment in raw_tail.split("/")]
    for segment in segments:
        _segment_check(segment)
    segments = [quote(segment, safe=_SEGMENT_SAFE) for segment in segments]
    base = httpx.URL(settings.GATEWAY_UPSTREAM_URL)
    target = base.raw_path.split(b"?", 1)[0].rstrip(b"/") + b"/" + "/".join(segments).encode("ascii")
    query = request.META.get("QUERY_STRING", "")
    if query:
        target += b"?" + quote(_LONE_PERCENT.sub("%25", query), safe=_QUERY_SAFE).encode("ascii")
    return base.copy_with(raw_path=target)
