"""What we keep of provider webhook deliveries, and for how long.

A verified delivery is a ``ProviderEvent`` (with its body, for support and replays); an
unverified one only counts on an aggregated ``ProviderWebhookRejection`` row — provider,
client address, hour, count, bytes, the last reason, size and body hash, never the body. Both
are pruned after ``PROVIDER_EVENTS_RETENTION_DAYS``, except events still being processed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import EventStatus, ProviderEvent, ProviderWebhookRejection

OVERFLOW_ADDRESS = "*"  # every address past the hourly cap counts here
# Providers retry a failed delivery for up to three days; a claim must outlive the retries,
# so a shorter horizon is raised to this.
MIN_RETENTION_DAYS = 7
PRUNE_BATCH = 5000

# One statement, so concurrent rejections from one address never lose a count.
_UPSERT = """
INSERT INTO billing_providerwebhookrejection
    (provider, client_address, window_start, count, bytes_total, last_reason, last_size, last_body_sha256,
     first_seen_at, last_seen_at)
VALUES (%s, %s, %s, 1, %s, %s, %s, %s, %s, %s)
ON CONFLICT (provider, client_address, window_start) DO UPDATE SET
    count = billing_providerwebhookrejection.count + 1,
    bytes_total = billing_providerwebhookrejection.bytes_total + EXCLUDED.bytes_total,
    last_reason = EXCLUDED.last_reason, last_size = EXCLUDED.last_size,
    last_body_sha256 = EXCLUDED.last_body_sha256, last_seen_at = EXCLUDED.last_seen_at
"""


def webhook_rejection_record(
    *, provider: str, reason: str, body: bytes, client_address: str, now: datetime | None = None
) -> None:
    """Count a delivery that failed verification (one upsert; a new address first checks the
    hour's cap, so a flood from many addresses still adds at most cap + 1 rows per hour)."""
    now = now or timezone.now()
    window = now.replace(minute=0, second=0, microsecond=0)
    address = (client_address or "unknown")[:64]
    hour = ProviderWebhookRejection.objects.filter(provider=provider, window_start=window)
    if (
        not hour.filter(client_address=address).exists()
        and hour.exclude(client_address=OVERFLOW_ADDRESS).count() >= settings.PROVIDER_WEBHOOK_REJECTIONS_PER_HOUR
    ):
        address = OVERFLOW_ADDRESS
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT,
            [provider, address, window, len(body), reason[:200], len(body), hashlib.sha256(body).hexdigest(), now, now],
        )


def provider_events_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete provider events and rejection records older than the retention horizon, in
    batches (short transactions). Events still ``received`` — being processed, or left by a
    crash mid-processing for someone to look at — are never pruned."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=max(settings.PROVIDER_EVENTS_RETENTION_DAYS, MIN_RETENTION_DAYS))
    old_events = ProviderEvent.objects.filter(received_at__lt=cutoff).exclude(status=EventStatus.RECEIVED)
    events = 0
    while ids := list(old_events.values_list("pk", flat=True)[:PRUNE_BATCH]):
        events += ProviderEvent.objects.filter(pk__in=ids).delete()[0]
    rejections = ProviderWebhookRejection.objects.filter(last_seen_at__lt=cutoff).delete()[0]
    return {"events": events, "rejections": rejections}
