"""Celery tasks: take ids, call a service."""

from __future__ import annotations

from celery import shared_task

from billing.compensations import compensations_run_due
from billing.dunning import dunning_expire
from billing.period_close import invoices_close_due
from billing.subscriptions import subscriptions_end_canceled
from billing.webhooks_retention import provider_events_prune


@shared_task
def dunning_expire_task() -> int:
    return dunning_expire() + subscriptions_end_canceled()


@shared_task
def invoices_close_periods_task() -> int:
    return len(invoices_close_due())


@shared_task
def provider_events_prune_task() -> dict[str, int]:
    return provider_events_prune()


@shared_task
def compensations_run_task() -> int:
    return compensations_run_due()
