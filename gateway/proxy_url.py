"""The upstream URL of a proxied call: the product's upstream base, the matched operation's
path template filled with the request's path parameters, and the request's query.

The router matches the raw, still-encoded path the server received (the ASGI ``raw_path``; the
decoded path, re-encoded, when a server gives no raw path), so a parameter is still encoded
when it gets here. The upstream path is never the request path glued to a base: literal
segments come from the operator's template, and each parameter is checked however often an
upstream might decode it — one that is, or decodes to, ``.`` / ``..``, or carries an encoded
``/``, ``?`` or ``#``, a ``\\`` or a control character, is refused, never "cleaned": a request
we would have to guess about is a request we do not forward. The query comes only from the
real query string.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import httpx
from django.http import HttpRequest

from portal.problems import Problem
from products.router import Route

# RFC 3986 pchar (unreserved, sub-delims, ":" and "@") stays as sent; "%" keeps existing escapes.
_SEGMENT_SAFE = "-._~!$&'()*+,;=:@%"
_QUERY_SAFE = _SEGMENT_SAFE + "/?"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DECODE_ROUNDS = 4
_PARAM = re.compile(r"\{([^{}/]+)\}")


class InvalidProxyPath(Problem):
    """A path parameter is, or decodes to, `.` or `..`, or contains an encoded `/`, `?` or `#`,
    a `\\` or a control character: it could leave the upstream's base path or change its query,
    so it is not forwarded."""

    status, slug, title = 400, "invalid-proxy-path", "Invalid proxy path"


def _ascii(raw: bytes) -> str:
    # A lax client may send raw non-ASCII bytes: escape them so the path stays byte-exact.
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def raw_path(request: HttpRequest) -> str:
    """The path as the client sent it, still percent-encoded (no query)."""
    scope = getattr(request, "scope", None)
    raw = scope.get("raw_path") if scope else None
    if raw is None:  # WSGI servers: gunicorn's RAW_URI, uWSGI/mod_wsgi's REQUEST_URI
        uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI")
        raw = uri.encode("latin-1", "replace") if uri else None
    if raw:
        text = _ascii(raw).split("?", 1)[0]
        # Only trust it if it is the very path Django routed on (else: the re-encoded fallback).
        if unquote(text, errors="replace") == request.path:
            return text
    # No raw path: re-encode the decoded one. A "?" or "#" in it can only have been sent
    # encoded, so it becomes %3F / %23 again and is refused like one.
    return "/".join(quote(segment, safe=_SEGMENT_SAFE.replace("%", "")) for segment in request.path.split("/"))


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


def upstream_url(route: Route, query: str) -> httpx.URL:
    """The product's upstream + the operation's template with the checked path parameters +
    the query; raises ``InvalidProxyPath``."""
    params = {}
    for name, value in route.path_params.items():
        value = _LONE_PERCENT.sub("%25", value)
        _segment_check(value)
        params[name] = quote(value, safe=_SEGMENT_SAFE)
    template = quote(route.path_template, safe=_SEGMENT_SAFE + "/{}")
    path = _PARAM.sub(lambda match: params[match.group(1)], template)
    base = httpx.URL(route.upstream_url)
    target = base.raw_path.split(b"?", 1)[0].rstrip(b"/") + path.encode("ascii")
    if query:
        target += b"?" + quote(_LONE_PERCENT.sub("%25", query), safe=_QUERY_SAFE).encode("ascii")
    return base.copy_with(raw_path=target)
