"""Celery tasks: take ids, call a service. Period close fans out one task per subscription
(one per organization: an organization has one live subscription)."""

from __future__ import annotations

from celery import shared_task

from billing.compensations import compensations_run_due
from billing.dunning import dunning_expire
from billing.period_close import invoice_close_period, subscriptions_due_for_close
from billing.subscriptions import subscriptions_end_canceled
from billing.webhooks_retention import provider_events_prune


@shared_task(soft_time_limit=120, time_limit=150)
def dunning_expire_task() -> int:
    return dunning_expire() + subscriptions_end_canceled()


@shared_task(soft_time_limit=60, time_limit=90)
def invoices_close_periods_task() -> int:
    """From beat: one close task per subscription whose period has ended."""
    due = subscriptions_due_for_close()
    for subscription_id in due:
        invoice_close_period_task.delay(subscription_id)
    return len(due)


# Provider calls (meter events, a card charge) are each bounded by the provider client's timeout.
@shared_task(soft_time_limit=180, time_limit=240)
def invoice_close_period_task(subscription_id: int) -> str | None:
    invoice = invoice_close_period(subscription_id=subscription_id)
    return None if invoice is None else invoice.number


@shared_task(soft_time_limit=1200, time_limit=1260)
def provider_events_prune_task() -> dict[str, int]:
    return provider_events_prune()


# At most 200 compensations a run, each one provider call.
@shared_task(soft_time_limit=240, time_limit=280)
def compensations_run_task() -> int:
    return compensations_run_due()
