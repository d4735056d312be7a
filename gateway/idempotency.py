"""``Idempotency-Key`` on the gateway: a retried POST gets the first answer back, uncharged.

The admission script (``usage/lua/admit.lua``) owns the state: the first request with a key
marks it pending; its answer is stored for ``IDEMPOTENCY_TTL`` seconds once it is known
(written by the recorder thread, off the hot path); a retry with the same key and the same
request (method, path, query and body: the fingerprint) replays it without reaching the
upstream or counting; the same key with another request is 422. Keys are scoped per API key
lineage (``KeyRecord.idem_scope``), so a test key never answers a live one.

Only answers up to ``STORED_MAX`` bytes are stored (an idempotent call is read whole for it);
a larger one is served but not stored, and a retry after the pending marker expires reaches
the upstream again, with the same ``Idempotency-Key`` header for the upstream to honour.
"""

from __future__ import annotations

import base64
import hashlib
import json

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

from gateway.responses import InvalidRequest
from keys.cache import KeyRecord
from usage import limiter
from usage.recorder import recorder

IDEMPOTENCY_TTL = 86_400
STORED_MAX = 1024 * 1024
STORED_HEADERS = ("content-type", "content-encoding", "content-language", "location")


def idempotency_key_of(request: HttpRequest) -> str | None:
    """The client's Idempotency-Key for a POST (None otherwise); a 400 Problem when malformed."""
    if request.method != "POST":
        return None
    value = request.META.get("HTTP_IDEMPOTENCY_KEY")
    if value is None:
        return None
    if not 1 <= len(value) <= 255 or not value.isprintable():
        raise InvalidRequest("Idempotency-Key must be 1–255 printable characters.")
    return value


def request_fingerprint(request: HttpRequest, body: bytes) -> str:
    target = f"{request.method} {request.path}?{request.META.get('QUERY_STRING', '')}\n".encode()
    return hashlib.sha256(target + body).hexdigest()[:32]


def answer_store(*, key: KeyRecord, idem: str, fingerprint: str, response: HttpResponseBase, body: bytes) -> None:
    """Keep ``response`` for retries with the same key (queued for the recorder thread)."""
    if len(body) > STORED_MAX:
        return
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    stored = json.dumps(
        {"s": response.status_code, "h": headers, "b": base64.b64encode(body).decode()}, separators=(",", ":")
    )
    recorder.defer_set(
        limiter.idempotency_key(key.org_id, key.idem_scope or key.id, idem),
        limiter.idempotent_response_value(fingerprint=fingerprint, stored=stored),
        IDEMPOTENCY_TTL,
    )


def replay(decision: limiter.Decision, request_id: str) -> HttpResponse:
    """The stored answer, marked as a replay and not charged."""
    stored = json.loads(decision.extra)
    response = HttpResponse(base64.b64decode(stored["b"]), status=stored["s"])
    for name, value in stored["h"].items():
        response[name] = value
    response["X-Request-Id"] = request_id
    response["Idempotent-Replayed"] = "true"
    response["X-Usage-Units"] = "0"
    return response
