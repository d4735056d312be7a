"""The gateway's side of the upstream call: the pooled client, which headers cross, and reading
or relaying the upstream's answer within the operation's size limit."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

import httpx
from django.conf import settings
from django.http import HttpRequest

from gateway.identity import identity_headers, reserved_header
from gateway.responses import BadGateway
from keys.cache import KeyRecord
from portal.problems import Problem
from products.router import Route

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
STRIPPED_REQUEST = HOP_BY_HOP | {"authorization", "x-api-key", "cookie"}
# The upstream's Content-Length holds for the raw bytes relayed (set again when the gateway
# decoded the body); its cookies would land on the portal's domain; its Server header says
# what the operator runs (the gateway's server sets its own).
STRIPPED_RESPONSE = (HOP_BY_HOP - {"content-length"}) | {"set-cookie", "server"}
CHUNK = 64 * 1024
BUFFER_MAX = 64 * 1024  # an answer of declared length up to this is read whole, not streamed
# One pooled client per event loop (an httpx.AsyncClient must not cross loops).
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


def upstream_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        limits = httpx.Limits(
            max_connections=settings.GATEWAY_UPSTREAM_MAX_CONNECTIONS,
            max_keepalive_connections=settings.GATEWAY_UPSTREAM_MAX_CONNECTIONS,
            keepalive_expiry=settings.GATEWAY_UPSTREAM_KEEPALIVE_S,
        )
        client = _clients[loop] = httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=False)
    return client


class BodyTooLarge(Exception):
    pass


def too_large(route: Route) -> Problem:
    return BadGateway(
        f"The upstream API's answer is larger than this operation's limit of {route.max_response_bytes:,} bytes."
    )


async def read_all(upstream: httpx.Response, limit: int, *, decode: bool) -> bytes:
    chunks, size = [], 0
    try:
        async for chunk in upstream.aiter_bytes() if decode else upstream.aiter_raw():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
    finally:
        await upstream.aclose()
    return b"".join(chunks)


async def relay(upstream: httpx.Response, limit: int) -> AsyncIterator[bytes]:
    """The upstream's body as it arrives. Past the size limit the stream is cut (the client sees
    a broken transfer, never a silently truncated answer)."""
    sent = 0
    try:
        async for chunk in upstream.aiter_raw():
            sent += len(chunk)
            if sent > limit:
                raise BodyTooLarge(f"upstream answer over {limit} bytes")
            yield chunk
    finally:
        await upstream.aclose()


async def request_stream(request: HttpRequest, limit: int) -> AsyncIterator[bytes]:
    sent = 0
    while chunk := request.read(CHUNK):
        sent += len(chunk)
        if sent > limit:
            raise BodyTooLarge
        yield chunk


def forwarded_headers(request: HttpRequest, route: Route, key: KeyRecord, plan: str, request_id: str) -> dict:
    # Hop-by-hop headers (the fixed list + any named in Connection), the customer's credential
    # and cookies, and any Tollgate-*/X-Tollgate-* header they sent stay here.
    listed = {token.strip().lower() for token in request.headers.get("Connection", "").split(",") if token.strip()}
    headers = {
        name: value
        for name, value in request.headers.items()
        if name.lower() not in STRIPPED_REQUEST and name.lower() not in listed and not reserved_header(name)
    }
    headers["X-Request-Id"] = request_id
    headers.update(
        identity_headers(
            key=key, plan=plan, operation=route.operation_id, request_id=request_id, product=route.product_slug
        )
    )
    if route.upstream_auth_header:
        headers[route.upstream_auth_header] = route.upstream_auth_secret
    return headers
