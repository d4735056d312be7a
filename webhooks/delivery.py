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
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.metrics import WEBHOOK_ATTEMPTS
from portal.problems import Problem
from webhooks.models import DeliveryAttempt, DeliveryStatus, WebhookDelivery
from webhooks.transport import post_bounded

MAX_ATTEMPTS = 8
BACKOFF_SECONDS = [30, 120, 600, 1800, 3600, 4 * 3600, 12 * 3600]  # then give up
SWEEP_BATCH = 1000  # deliveries claimed per sweep; a backlog drains over a few sweeps
RESPONSE_BODY_KEPT = 2000  # characters of the receiver's answer shown with the attempt


class UnsafeTarget(Problem):
    status, slug, title = 400, "unsafe-webhook-target", "This webhook URL is not allowed"


def secret_new() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(*, secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def target_check(url: str) -> str | None:
    """Refuse non-HTTPS URLs and hosts that resolve to a non-public address (SSRF), unless the
    operator allows private targets.

    Returns the vetted address to connect to (None when private targets are allowed), so the
    connection goes to the address that was checked: resolving again at connect time would
    let a short-TTL DNS answer swap in an internal address (DNS rebinding). The refusal names
    the host the customer typed but never the address it resolved to: that would map our
    internal network for anyone who registers a host name."""
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
    if not all(address_is_public(ipaddress.ip_address(info[4][0])) for info in infos):
        raise UnsafeTarget(f"{parts.hostname} resolves to a non-public address.")
    return str(infos[0][4][0])


# IPv6 ranges whose last 32 bits are an IPv4 address that a translator, a tunnel or the host's
# own stack may end up connecting to: NAT64's well-known prefix (RFC 6052), IPv4-compatible
# (RFC 4291, deprecated but still routed by some stacks) and IPv4-translated (SIIT, RFC 2765).
# IPv4-mapped, 6to4 and Teredo have their own accessors on IPv6Address.
_EMBEDS_IPV4_LOW_32 = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
)
# Never public whatever they embed: NAT64 prefixes for local use (RFC 8215).
_NEVER_PUBLIC = (ipaddress.IPv6Network("64:ff9b:1::/48"),)


def address_is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a global unicast address that does not stand for a non-public IPv4 address.

    Python's ``is_global`` alone is not enough: it calls ``64:ff9b::7f00:1`` (NAT64 of
    127.0.0.1) or ``::127.0.0.1`` global, and its tables differ between Python releases, so
    every IPv4 address an IPv6 address embeds is checked too."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv4Address):
        return True
    if any(address in network for network in _NEVER_PUBLIC):
        return False
    embedded: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped:
        embedded.append(address.ipv4_mapped)
    if address.sixtofour:
        embedded.append(address.sixtofour)
    if address.teredo:
        embedded.extend(address.teredo)
    if any(address in network for network in _EMBEDS_IPV4_LOW_32):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return all(v4.is_global and not v4.is_multicast for v4 in embedded)


def pinned_request(url: str, address: str | None) -> tuple[str, dict[str, str], dict]:
    """(url, extra headers, request extensions) that connect to ``address`` while keeping the
    original host for the Host header and for TLS (SNI and certificate verification)."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    hostname = parts.hostname or ""  # target_check refused URLs without one
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    original = hostname if parts.port is None else f"{hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), {"host": original}, {"sni_hostname": hostname}


def payload_for(delivery: WebhookDelivery) -> str:
    event = delivery.event
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data}, separators=(",", ":")
    )


# Attempts may still be made for these; the other statuses are final.
OPEN_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)


def delivery_attempt(*, delivery_id: int, expected_attempts: int | None = None) -> DeliveryAttempt | None:
    """Make attempt number ``expected_attempts + 1`` of a delivery and record it, unless it
    is not to be made; returns the attempt, or None when nothing was sent. Schedules nothing
    itself: the next attempt is due at ``next_attempt_at`` and the sweeper enqueues it.

    Task messages can arrive twice (a broker redelivers an unacknowledged message; the sweeper
    re-enqueues a claim whose message was lost) and two workers can hold the same delivery, so
    under a row lock held until the outcome is recorded:

    1. The delivery is locked with SKIP LOCKED: if another worker is sending it right now,
       nothing is sent here (that worker records the outcome).
    2. A delivered (succeeded) or abandoned (failed) delivery is never sent again.
    3. The message's attempt number must still be the next one: a copy of an attempt that was
       already made is dropped. Messages from before attempt numbers (``None``) are sent only
       when the delivery is due.
    4. Send (bounded in time), then record the attempt and the next due time in the same
       transaction, which releases the lock. A worker killed while sending rolls it all back:
       the claim's ``next_attempt_at`` then lets the sweeper enqueue the same attempt again.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status not in OPEN_STATUSES:
            return None
        if expected_attempts is None:
            if delivery.next_attempt_at is not None and delivery.next_attempt_at > timezone.now():
                return None
        elif delivery.attempt_count != expected_attempts:
            return None
        attempt = _attempt_send(delivery)
        attempt.save()
        delivery.attempt_count += 1
        ok = attempt.response_status is not None and 200 <= attempt.response_status < 300
        if ok:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, None
        elif delivery.attempt_count >= MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.status = DeliveryStatus.RETRYING
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=backoff_seconds(delivery.attempt_count))
        delivery.save(update_fields=["status", "attempt_count", "next_attempt_at"])
    WEBHOOK_ATTEMPTS.labels(delivery.status).inc()  # committed: succeeded, retrying or failed
    return attempt


def _attempt_send(delivery: WebhookDelivery) -> DeliveryAttempt:
    """Sign and POST the event; the unsaved attempt with the outcome."""
    endpoint, body = delivery.endpoint, payload_for(delivery)
    msg_id, timestamp = delivery.event.public_id, int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": f"{settings.SITE_NAME}-Webhooks/1.0",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=endpoint.secret, msg_id=msg_id, timestamp=timestamp, body=body),
    }
    attempt = DeliveryAttempt(delivery=delivery)
    started = time.perf_counter()
    try:
        # Re-checked every attempt (DNS can change after registration), and pinned to the
        # address that passed the check.
        url, host_header, extensions = pinned_request(endpoint.url, target_check(endpoint.url))
        reply = post_bounded(
            url,
            body=body.encode(),
            headers={**headers, **host_header},
            extensions=extensions,
            timeout=settings.WEBHOOKS_DELIVERY_TIMEOUT_SECONDS,
            max_bytes=settings.WEBHOOKS_RESPONSE_MAX_BYTES,
        )
        attempt.response_status, attempt.error = reply.status, reply.error
        attempt.response_body = reply.body.decode("utf-8", "replace")[:RESPONSE_BODY_KEPT]
    except UnsafeTarget as exc:
        attempt.error = exc.detail
    except SoftTimeLimitExceeded:
        # Only slow DNS gets here (the request itself has its deadline); record it as a failed
        # attempt so the backoff and the attempt limit apply.
        attempt.error = "The attempt ran out of time (the host name took too long to resolve?)."
    attempt.duration_ms = int((time.perf_counter() - started) * 1000)
    return attempt


def backoff_seconds(attempt_count: int) -> int:
    return BACKOFF_SECONDS[min(attempt_count - 1, len(BACKOFF_SECONDS) - 1)]


def claim_expiry() -> datetime:
    """When a claimed delivery whose attempt was not recorded becomes due again."""
    return timezone.now() + timedelta(seconds=settings.WEBHOOKS_CLAIM_SECONDS)


def deliveries_claim_due(*, limit: int = SWEEP_BATCH) -> list[tuple[int, int]]:
    """Claim up to ``limit`` due deliveries: (id, attempt number to make) for each, to enqueue
    once this has committed.

    Claiming moves ``next_attempt_at`` to the claim's expiry, so the next sweeps leave them
    alone while their messages wait in the queue, and enqueue them again if a message is lost
    or its worker dies. SKIP LOCKED passes over deliveries being sent right now (their row is
    locked until the outcome is recorded) and lets several sweepers run at once."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", "attempt_count")[:limit]
        )
        WebhookDelivery.objects.filter(pk__in=[pk for pk, _ in due]).update(next_attempt_at=claim_expiry())
    return due
