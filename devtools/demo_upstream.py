"""The demo product's upstream: a small, deterministic messaging + AI API, as an operator runs it.

It is a separate HTTP server (``make run`` starts it with granian beside the portal; the tests
and ``bench/bench_proxy.py`` start it the same way) and the gateway reaches it only through the
catalogue imported from ``products/demo_openapi.yaml`` — exactly the path a real operator's API
takes. A raw ASGI app without a framework, so that benchmarks measure the gateway, not this.

    POST /sms                      {"to": [...], "message": "...", "sender_id"?}  → 201
    GET  /deliveries/{tracking_id}                                               → 200
    POST /ai/completions           {"prompt": "...", "max_tokens"?}                → 200, usage.total_tokens

Errors are RFC 9457 problem+json. When ``TOLLGATE_IDENTITY_SECRET`` is set, a request whose
``Tollgate-Signature`` does not verify is refused 401, and ``Tollgate-Identity`` tells the
upstream whether the caller holds a test key (``livemode`` in the answers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from typing import Any, cast

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TRACKING_ID = re.compile(r"^trk_[0-9a-f]{24}$")
SENDER_ID = re.compile(r"^[A-Za-z0-9 ]{1,11}$")
DELIVERY_STATES = ("queued", "sent", "delivered", "delivered", "delivered", "failed")
WORDS = [
    "alpha",
    "bridge",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "island",
    "juniper",
    "kestrel",
    "lumen",
    "meadow",
    "nectar",
    "orbit",
    "prairie",
    "quartz",
    "river",
    "summit",
    "tundra",
    "umber",
    "valley",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
]
MAX_BODY = 1024 * 1024


class Invalid(Exception):
    def __init__(self, status: int, title: str, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


def tracking_id_for(message_id: str, number: str) -> str:
    return "trk_" + hashlib.sha256(f"{message_id}:{number}".encode()).hexdigest()[:24]


def sms_send(data: Any) -> tuple[int, dict]:
    if not isinstance(data, dict):
        raise Invalid(400, "Invalid request", "Send a JSON object.")
    errors: dict[str, list[str]] = {}
    to, message = data.get("to"), data.get("message")
    if not isinstance(to, list) or not 1 <= len(to) <= 100:
        errors["to"] = ["Send 1–100 recipients in E.164 format, e.g. +2348012345678."]
    else:
        bad = [str(number) for number in to if not isinstance(number, str) or not E164.match(number)]
        if bad:
            errors["to"] = [f"Not E.164 phone numbers: {', '.join(bad[:5])}."]
        elif len(set(to)) != len(to):
            errors["to"] = ["Each recipient may appear only once."]
    if not isinstance(message, str) or not 1 <= len(message) <= 1600:
        errors["message"] = ["Text of 1–1,600 characters is required."]
    sender = data.get("sender_id")
    if sender is not None and (not isinstance(sender, str) or not SENDER_ID.match(sender)):
        errors["sender_id"] = ["Alphanumeric sender, up to 11 characters."]
    if errors:
        raise Invalid(400, "Invalid request", "One or more fields are invalid; see `errors`.", errors)
    to, message = cast(list[str], to), cast(str, message)
    digest = hashlib.sha256(("|".join(to) + "\n" + message).encode()).hexdigest()
    message_id = f"sms_{digest[:24]}"
    recipients = [{"to": number, "tracking_id": tracking_id_for(message_id, number)} for number in to]
    body = {
        "id": message_id,
        "status": "queued",
        "segments": max(1, -(-len(message) // 160)),
        "recipients": recipients,
        "units": len(recipients),
    }
    return 201, body


def delivery_status_get(tracking_id: str) -> tuple[int, dict]:
    if not TRACKING_ID.match(tracking_id):
        raise Invalid(
            400,
            "Invalid request",
            "One or more fields are invalid; see `errors`.",
            {"tracking_id": ["Expected trk_ followed by 24 hex digits."]},
        )
    n = int(tracking_id[4:12], 16)
    status = DELIVERY_STATES[n % len(DELIVERY_STATES)]
    return 200, {
        "tracking_id": tracking_id,
        "status": status,
        "attempts": 1 + n % 3,
        "error": "Handset unreachable" if status == "failed" else None,
    }


def ai_completion_create(data: Any) -> tuple[int, dict]:
    """Deterministic: the same prompt and max_tokens always give the same text."""
    if not isinstance(data, dict):
        raise Invalid(400, "Invalid request", "Send a JSON object.")
    prompt, max_tokens = data.get("prompt"), data.get("max_tokens", 64)
    errors: dict[str, list[str]] = {}
    if not isinstance(prompt, str) or not 1 <= len(prompt) <= 8000:
        errors["prompt"] = ["A prompt of 1–8,000 characters is required."]
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or not 1 <= max_tokens <= 2048:
        errors["max_tokens"] = ["An integer from 1 to 2,048."]
    if errors:
        raise Invalid(400, "Invalid request", "One or more fields are invalid; see `errors`.", errors)
    prompt, max_tokens = cast(str, prompt), cast(int, max_tokens)
    prompt_tokens = len(prompt.split()) or 1
    seed = hashlib.sha256(f"{prompt}\x00{max_tokens}".encode()).digest()
    count = min(max_tokens, 8 + seed[0] % 56)
    text = " ".join(WORDS[(seed[i % 32] + i * 7) % len(WORDS)] for i in range(count)).capitalize() + "."
    total = prompt_tokens + count
    return 200, {
        "id": "cmpl_" + seed.hex()[:24],
        "text": text,
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": count, "total_tokens": total},
        "units": total,
    }


def identity_of(headers: dict[bytes, bytes], secret: str) -> dict[str, str] | None:
    """The gateway's verified identity (docs/products.md has the same check for operators)."""
    identity = headers.get(b"tollgate-identity", b"").decode("latin-1")
    signature = headers.get(b"tollgate-signature", b"").decode("latin-1")
    expected = "v1=" + hmac.new(secret.encode(), identity.encode(), hashlib.sha256).hexdigest()
    if not identity or not hmac.compare_digest(signature, expected):
        return None
    return dict(part.split("=", 1) for part in identity.split(";"))


def route(method: str, path: str, body: bytes) -> tuple[int, dict]:
    if path == "/sms":
        if method != "POST":
            raise Invalid(405, "Method not allowed", "Use POST.")
        return sms_send(_json(body))
    if path.startswith("/deliveries/") and path.count("/") == 2:
        if method != "GET":
            raise Invalid(405, "Method not allowed", "Use GET.")
        return delivery_status_get(path.rsplit("/", 1)[1])
    if path == "/ai/completions":
        if method != "POST":
            raise Invalid(405, "Method not allowed", "Use POST.")
        return ai_completion_create(_json(body))
    if path == "/healthz":
        return 200, {"status": "ok"}
    raise Invalid(404, "Not found", f"No endpoint {path}.")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Invalid(400, "Malformed request", "The request body is not valid JSON.") from None


async def app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size <= MAX_BODY:
            chunks.append(chunk)
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    extra: dict[str, Any] = {}
    try:
        if size > MAX_BODY:
            raise Invalid(413, "Payload too large", f"The body is larger than {MAX_BODY} bytes.")
        secret = os.environ.get("TOLLGATE_IDENTITY_SECRET", "")
        if secret and scope["path"] != "/healthz":
            identity = identity_of(headers, secret)
            if identity is None:
                raise Invalid(401, "Unauthenticated", "Tollgate-Signature does not verify.")
            extra["livemode"] = identity.get("mode") == "live"
        status, body = route(scope["method"], scope["path"], b"".join(chunks))
        body.update(extra)
        content_type = b"application/json"
    except Invalid as exc:
        status, content_type = exc.status, b"application/problem+json"
        body = {"type": "about:blank", "title": exc.title, "status": exc.status, "detail": exc.detail}
        if exc.errors:
            body["errors"] = exc.errors
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
