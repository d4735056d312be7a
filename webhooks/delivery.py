"""Customer webhooks out: Standard Webhooks signing, SSRF guard, one delivery attempt.

Signature: ``webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>``
where the secret is the base64 part of ``whsec_…`` (https://www.standardwebhooks.com).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from webhooks.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from portal.problems import Problem

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = [30, 120, 600, 1800, 3600, 4 * 3600, 12 * 3600]  # then give up
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class UnsafeTarget(Problem):
    status, slug, title = 400, "unsafe-webhook-target", "This webhook URL is not allowed"


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def target_check(url: str) -> str | None:
    """Refuse non-HTTPS URLs and hosts that resolve to private, loopback, link-local, reserved
    or multicast addresses (SSRF), unless the operator allows private targets.

    Returns the vetted address to connect to (None when private targets are allowed), so the
    connection goes to the address that was checked: resolving again at connect time would
    let a short-TTL DNS answer swap in an internal address (DNS rebinding)."""
    parts = urlsplit(url)
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS
    if parts.scheme != "https" and not (allow_private and parts.scheme == "http"):
        raise UnsafeTarget("Webhook URLs must use https://.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if allow_private:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise UnsafeTarget(f"The host {parts.hostname} does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if getattr(address, "ipv4_mapped", None):
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise UnsafeTarget(f"{parts.hostname} resolves to a private or reserved address ({address}).")
    return infos[0][4][0]


def pinned_request(url: str, address: str | None) -> tuple[str, dict[str, str], dict]:
    """(url, extra headers, httpx extensions) that connect to ``address`` while keeping the
    original host for the Host header and for TLS (SNI and certificate verification)."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    original = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), {"host": original}, {"sni_hostname": parts.hostname}


def payload_for(delivery: WebhookDelivery) -> str:
    event = delivery.event
    return json.dumps({"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data},
                      separators=(",", ":"))


def delivery_attempt(*, delivery_id: int) -> DeliveryAttempt:
    """Send one attempt and record it. Schedules nothing itself; returns the attempt."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, body = delivery.endpoint, payload_for(delivery)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json", "user-agent": f"{settings.SITE_NAME}-Webhooks/1.0",
        "webhook-id": delivery.event.public_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=endpoint.secret, msg_id=delivery.event.public_id, timestamp=timestamp, body=body),
    }
    attempt = DeliveryAttempt(delivery=delivery)
    started = time.perf_counter()
    try:
        # Re-checked every attempt (DNS can change after registration), and pinned to the
        # address that passed the check.
        url, host_header, extensions = pinned_request(endpoint.url, target_check(endpoint.url))
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            response = client.post(url, content=body.encode(), headers={**headers, **host_header},
                                   extensions=extensions)
        attempt.response_status = response.status_code
        attempt.response_body = response.text[:2000]
    except UnsafeTarget as exc:
        attempt.error = exc.detail
    except httpx.HTTPError as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"[:2000]
    attempt.duration_ms = int((time.perf_counter() - started) * 1000)
    with transaction.atomic():
        attempt.save()
        delivery.attempt_count += 1
        ok = attempt.response_status is not None and 200 <= attempt.response_status < 300
        if ok:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        elif delivery.attempt_count >= MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delay = backoff_seconds(delivery.attempt_count)
            delivery.status, delivery.next_attempt_at = DeliveryStatus.RETRYING, timezone.now() + timedelta(seconds=delay)
        delivery.save(update_fields=["status", "attempt_count", "next_attempt_at"])
    return attempt


def backoff_seconds(attempt_count: int) -> int:
    return BACKOFF_SECONDS[min(attempt_count - 1, len(BACKOFF_SECONDS) - 1)]
