"""Provider webhooks in: verify → store → claim (dedupe) → re-fetch → apply.

Nothing is stored before the signature verifies: an unsigned delivery only counts on a
bounded rejection record (``billing.webhooks_retention``). A verified one is stored raw, then
claims its event id (a redelivery fails the claim and is a duplicate) and its handler
(``billing.webhook_handlers``) re-reads the object from the provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from billing.models import EventStatus, ProviderEvent
from billing.providers.base import ParsedEvent, PaymentProvider, ProviderUnavailable, SignatureInvalid
from billing.webhook_handlers import HANDLERS, Ignored, ignore
from billing.webhooks_retention import webhook_rejection_record
from portal.metrics import PROVIDER_WEBHOOKS
from portal.problems import Problem

log = logging.getLogger("billing.webhooks")

KEPT_HEADERS = ("content-type", "user-agent", "stripe-signature", "x-paystack-signature", "x-forwarded-for")


class WebhookBodyTooLarge(Problem):
    """A provider webhook body is larger than ``PROVIDER_WEBHOOK_MAX_BYTES`` (``max_bytes``):
    refused before it is verified or stored."""

    status, slug, title = 413, "webhook-body-too-large", "Webhook body too large"


@dataclass
class Outcome:
    http_status: int
    status: str  # an EventStatus value
    detail: str = ""
    event: ProviderEvent | None = None


def webhook_receive(
    *, provider: PaymentProvider, body: bytes, headers: dict[str, str], client_address: str = ""
) -> Outcome:
    outcome = _receive(provider=provider, body=body, headers=headers, client_address=client_address)
    PROVIDER_WEBHOOKS.labels(provider.name, outcome.status).inc()
    return outcome


def _receive(*, provider: PaymentProvider, body: bytes, headers: dict[str, str], client_address: str) -> Outcome:
    try:
        event = provider.verify_and_parse_webhook(body=body, headers=headers)
    except SignatureInvalid as exc:
        webhook_rejection_record(provider=provider.name, reason=exc.detail, body=body, client_address=client_address)
        return Outcome(400, EventStatus.REJECTED, exc.detail)
    row = ProviderEvent.objects.create(  # autocommit: the verified delivery survives whatever happens next
        provider=provider.name,
        event_type=event.type,
        object_ref=event.object_ref,
        body=body.decode("utf-8", errors="replace"),
        headers={k.lower(): v for k, v in headers.items() if k.lower() in KEPT_HEADERS},
    )
    try:
        with transaction.atomic():
            claimed = _claim(row, provider.name, event)
            if not claimed:
                # Another delivery of the same event got here first (or is processing it right
                # now: the unique index made us wait for its commit). Its body is kept there.
                _finish(row, EventStatus.DUPLICATE, f"already received as {event.id}", body="")
                return Outcome(200, row.status, row.error, row)
            try:
                with transaction.atomic():
                    HANDLERS[provider.name].get(event.type, ignore)(provider, event)
                status, error = EventStatus.PROCESSED, ""
            except Ignored as exc:
                status, error = EventStatus.IGNORED, str(exc)
            except (ProviderUnavailable, OperationalError, IntegrityError):
                raise  # transient (or a concurrent writer): roll back the claim so the retry is processed
            except Problem as exc:  # permanent: a retry cannot help (mismatch, not paid, refused)
                status, error = EventStatus.FAILED, f"{exc.title}: {exc.detail}"
                log.warning("webhook %s %s failed: %s", provider.name, row.event_id, error)
            row.status, row.error, row.processed_at = status, error, timezone.now()
            row.save(update_fields=["status", "error", "processed_at"])
        return Outcome(200, row.status, row.error, row)
    except (ProviderUnavailable, OperationalError, IntegrityError) as exc:
        log.warning("webhook %s %s transient failure: %s", provider.name, event.id, exc)
        row.event_id = None
        _finish(row, EventStatus.FAILED, f"transient: {type(exc).__name__}: {exc}")
        return Outcome(503, row.status, row.error, row)


def _claim(row: ProviderEvent, provider_name: str, event: ParsedEvent) -> bool:
    """Claim the event's identity for this delivery; False when it is a duplicate.

    Most events carry their identity (Stripe's event id, a Paystack charge reference). A
    *sequenced* event (Paystack subscription events: no id, and a cancel after a resume can be
    byte-identical to the first cancel) is the same event only as a redelivery of the latest
    event about its object; after any other event about that object it is a new transition,
    claimed as ``<identity>#<n>``."""
    claim_id = event.id
    if event.sequenced and event.object_ref:
        history = ProviderEvent.objects.filter(
            provider=provider_name, object_ref=event.object_ref, event_id__isnull=False
        ).exclude(pk=row.pk)
        latest = history.order_by("-id").values_list("event_id", flat=True).first()
        if latest is not None and latest.rsplit("#", 1)[0] == event.id:
            return False
        claim_id = f"{event.id}#{history.filter(event_id__startswith=f'{event.id}#').count()}"
    try:
        with transaction.atomic():
            row.event_id = claim_id
            row.save(update_fields=["event_id"])  # claims (provider, event_id) or fails
    except IntegrityError:
        row.event_id = None
        return False
    return True


def _finish(row: ProviderEvent, status: str, error: str, *, body: str | None = None) -> None:
    row.status, row.error, row.processed_at = status, error[:2000], timezone.now()
    fields = ["status", "error", "processed_at", "event_id", "event_type"]
    if body is not None:
        row.body = body
        fields.append("body")
    row.save(update_fields=fields)
