"""Period close fans out: the beat task enqueues one close task per subscription whose period has
ended (one per organization) on the billing queue, and each of those closes its own period."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Invoice
from billing.tasks import invoice_close_period_task, invoices_close_periods_task
from tests.broker import published
from tests.factories import OrganizationFactory, UserFactory, subscribe

pytestmark = pytest.mark.django_db


def test_beat_close_enqueues_one_task_per_due_subscription_and_each_closes_its_own(plans):
    now = timezone.now()
    ended = {"current_period_start": now - timedelta(days=30), "current_period_end": now - timedelta(minutes=5)}
    due = [subscribe(OrganizationFactory(owner=UserFactory()), plans["free"], **ended) for _ in range(3)]
    subscribe(OrganizationFactory(owner=UserFactory()), plans["free"])  # mid-period: not closed

    with published() as messages:
        assert invoices_close_periods_task() == 3
        enqueued = [(queue, args) for queue, task, args in messages() if task == invoice_close_period_task.name]
    assert sorted(enqueued) == sorted(("billing", [sub.pk]) for sub in due)
    assert not Invoice.objects.exists()  # nothing closed by the fan-out itself

    for sub in due:
        number = invoice_close_period_task(sub.pk)
        invoice = Invoice.objects.get(number=number)
        assert invoice.organization_id == sub.organization_id
        assert invoice.period_start == ended["current_period_start"]
    # A duplicate message finds the period closed (and advanced): no second invoice.
    assert invoice_close_period_task(due[0].pk) is None
    assert Invoice.objects.count() == 3
