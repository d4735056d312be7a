"""Signed identity headers for the upstream: who is calling, and is it a live or a test key.

The upstream of an API product never sees the customer's credential, so it cannot tell a
``tg_test_`` key from a live one by itself; unsigned ``X-Tollgate-*`` headers could be sent by
anyone who reaches it. Each proxied request therefore carries ``Tollgate-Identity`` (organization,
key, mode, plan, product, operation, request id, time) and ``Tollgate-Signature: v1=<hex HMAC-SHA256>`` of
that exact string, keyed with ``GATEWAY_IDENTITY_SECRET``. docs/products.md gives the
upstream's verification snippet.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from django.conf import settings

from keys.cache import KeyRecord

IDENTITY_HEADER = "Tollgate-Identity"
SIGNATURE_HEADER = "Tollgate-Signature"
# Header names only the gateway may set: a customer's copy is dropped before forwarding.
RESERVED_PREFIXES = ("tollgate-", "x-tollgate-")


def identity_string(*, key: KeyRecord, plan: str, product: str, operation: str, request_id: str, timestamp: int) -> str:
    # Every value is an id, a slug, a request id matching [A-Za-z0-9._:-] or an operation id;
    # ";" and "=" in an operation id (an OpenAPI operationId may hold anything) are escaped.
    operation = operation.replace("%", "%25").replace(";", "%3B").replace("=", "%3D")
    return (
        f"org={key.org_id};key={key.id};mode={key.mode};plan={plan};product={product};op={operation};"
        f"rid={request_id};ts={timestamp}"
    )


def identity_signature(identity: str, *, secret: str | None = None) -> str:
    secret = settings.GATEWAY_IDENTITY_SECRET if secret is None else secret
    return "v1=" + hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()


def identity_headers(
    *, key: KeyRecord, plan: str, product: str, operation: str, request_id: str, now: float | None = None
) -> dict[str, str]:
    """The two headers that tell the upstream, verifiably, who this call is for."""
    identity = identity_string(
        key=key,
        plan=plan,
        product=product,
        operation=operation,
        request_id=request_id,
        timestamp=int(now if now is not None else time.time()),
    )
    return {IDENTITY_HEADER: identity, SIGNATURE_HEADER: identity_signature(identity)}


def reserved_header(name: str) -> bool:
    """True for header names the gateway sets itself (never forwarded from the customer)."""
    return name.lower().startswith(RESERVED_PREFIXES)
