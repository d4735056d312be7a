"""What follows every subscription change, wherever it was made (checkout, provider sync,
portal action, dunning)."""

from __future__ import annotations

import logging

from django.db import transaction

from plans.models import LIVE_STATUSES, Subscription
from usage.entitlements import entitlements_publish
from webhooks.events import customer_event_emit

log = logging.getLogger("billing")


def subscription_changed(org_id: int, subscription: Subscription | None, reason: str) -> None:
    """Every subscription change ends here: the hot path gets the new limits after commit and
    the customer a ``subscription.updated`` event."""
    data = {
        "reason": reason,
        "plan": subscription.plan.code if subscription and subscription.status in LIVE_STATUSES else "free",
        "status": subscription.status if subscription else "none",
    }
    if subscription:
        data.update(
            subscription_id=subscription.pk,
            currency=subscription.currency,
            current_period_end=subscription.current_period_end.isoformat(),
            cancel_at_period_end=subscription.cancel_at_period_end,
        )
    transaction.on_commit(lambda: entitlements_publish(org_id=org_id))
    customer_event_emit(org_id=org_id, type="subscription.updated", data=data)
    log.info("subscription change org=%s reason=%s data=%s", org_id, reason, data)
