"""Plan changes of a live paid subscription: upgrade (prorated difference charged now) or
downgrade (no refund, takes effect now), at the provider first and then here; the Paystack
upgrade charge to the saved card, and its compensation when the change fails."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import billing_contact_email
from billing.changes import subscription_changed
from billing.checkout import PaymentNotConfirmed, price_for
from billing.compensations import compensation_record
from billing.invoices import invoice_for_payment
from billing.models import BillingProfile, CompensationKind, Payment
from billing.payments import payment_counted
from billing.profiles import profile_for
from billing.providers import provider_get
from billing.providers.base import PaymentProvider, ProviderOutcomeUnknown
from plans.models import LIVE_STATUSES, Plan, Price, Subscription
from portal.money import round_minor
from portal.problems import Conflict, Problem

log = logging.getLogger("billing")


class PlanChangeFailed(Problem):
    """The provider could not move the subscription to the new plan. The plan is unchanged;
    a prorated charge already taken is refunded (journaled until the provider confirms it)."""

    status, slug, title = 502, "plan-change-failed", "The plan change could not be applied"


def proration_minor(*, old_minor: int, new_minor: int, period_start, period_end, now) -> int:
    """What an upgrade costs now: the price difference for the unused part of the period."""
    total = Decimal((period_end - period_start).total_seconds())
    remaining = max(Decimal(0), Decimal((period_end - now).total_seconds()))
    share = remaining / total if total > 0 else Decimal(0)
    return round_minor(Decimal(new_minor - old_minor) * share)


def subscription_change_plan(*, org: Organization, plan: Plan) -> Subscription:
    """Upgrade (prorated difference charged now) or downgrade (no refund, takes effect now) a
    live paid subscription, at the provider first and then here."""
    sub = (
        Subscription.objects.select_related("plan", "price").filter(organization=org, status__in=LIVE_STATUSES).first()
    )
    if sub is None or not sub.provider or not sub.price:
        raise Conflict("Buy a plan first; plan changes apply to a paid subscription.")
    if sub.plan_id == plan.pk:
        raise Conflict(f"You are already on {plan.name}.")
    new_price = price_for(plan=plan, currency=sub.currency)
    upgrade = new_price.amount_minor > sub.price.amount_minor
    provider = provider_get(sub.provider)
    now = timezone.now()
    proration = proration_minor(
        old_minor=sub.price.amount_minor,
        new_minor=new_price.amount_minor,
        period_start=sub.current_period_start,
        period_end=sub.current_period_end,
        now=now,
    )
    charge_reference = ""
    if sub.provider == "paystack" and upgrade and proration > 0:
        charge_reference, proration = _upgrade_charge(
            org=org, sub=sub, provider=provider, price=new_price, amount=proration, now=now
        )
    try:
        info = provider.change_subscription_price(
            subscription_id=sub.provider_subscription_id, price=new_price, prorate=upgrade
        )
    except Problem as exc:
        if not charge_reference:
            raise
        # The plan did not change: the prorated charge is owed back (journaled, so a refund
        # that fails now is retried); a subscription that may have been created is canceled.
        log.warning("plan change of %s failed after charging %s: %s", sub, charge_reference, exc.detail)
        compensation_record(
            org_id=org.pk,
            provider=sub.provider,
            kind=CompensationKind.REFUND,
            reference=charge_reference,
            amount_minor=proration,
            currency=sub.currency,
            reason=f"upgrade to {plan.name} could not be applied: {exc.detail}",
        )
        if isinstance(exc, ProviderOutcomeUnknown) and new_price.paystack_plan_code and sub.provider_customer_id:
            compensation_record(
                org_id=org.pk,
                provider=sub.provider,
                kind=CompensationKind.SUBSCRIPTION_CANCEL,
                reference=f"strays:{sub.provider_customer_id}:{new_price.paystack_plan_code}:{charge_reference}",
                reason=f"upgrade to {plan.name} failed with an unknown outcome",
                data={"customer_id": sub.provider_customer_id, "price_ref": new_price.paystack_plan_code},
            )
        raise PlanChangeFailed(f"Your plan is unchanged ({exc.detail}); the prorated charge is refunded.") from exc
    if sub.provider == "stripe" and upgrade and info.latest_invoice_id:
        # Invoice what Stripe actually charged for the proration (it prorates to its own second).
        paid = provider.invoice_payment(invoice_id=info.latest_invoice_id)
        if paid is None or paid.amount_minor is None:
            raise PaymentNotConfirmed("Stripe did not confirm the prorated upgrade payment; your plan is unchanged.")
        proration = paid.amount_minor
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(pk=sub.pk)
        old_plan = sub.plan
        sub.plan, sub.price, sub.cancel_at_period_end = plan, new_price, False
        sub.provider_subscription_id = info.id
        sub.save(update_fields=["plan", "price", "cancel_at_period_end", "provider_subscription_id", "updated_at"])
        if info.email_token:
            BillingProfile.objects.filter(organization=org).update(paystack_email_token=info.email_token)
        if info.superseded_id:  # the replaced subscription still renews at the provider
            compensation_record(
                org_id=org.pk,
                provider=sub.provider,
                kind=CompensationKind.SUBSCRIPTION_CANCEL,
                reference=info.superseded_id,
                reason=f"replaced by the change to {plan.name}",
            )
        if upgrade and proration > 0:
            end = sub.current_period_end
            invoice_for_payment(
                subscription=sub,
                provider=sub.provider,
                start=now,
                end=end,
                proration_minor=proration,
                payment_reference=charge_reference
                or info.latest_invoice_id
                or f"{info.id}-upgrade-{now:%Y%m%d%H%M%S%f}",
                description=f"Upgrade {old_plan.name} → {plan.name}, prorated {now:%d %b} – {end:%d %b %Y}",
            )
        subscription_changed(org.pk, sub, "upgraded" if upgrade else "downgraded")
    return sub


def _upgrade_charge(
    *, org: Organization, sub: Subscription, provider: PaymentProvider, price: Price, amount: int, now
) -> tuple[str, int]:
    """Charge a Paystack upgrade's proration to the saved card: (reference, amount charged)."""
    profile = profile_for(org)
    if not profile.paystack_authorization_code:
        raise PaymentNotConfirmed("No saved card to charge the upgrade to; buy the plan through checkout.")
    # Deterministic within the minute: a double-submitted upgrade reuses the reference, and
    # Paystack refuses the duplicate; the provider then verifies and reports the first charge.
    reference = f"tg_{org.pk}_upgrade_{sub.pk}_{price.pk}_{now:%Y%m%d%H%M}"
    try:
        charged = provider.charge_usage(
            customer_email=billing_contact_email(org=org),
            authorization_code=profile.paystack_authorization_code,
            amount_minor=amount,
            currency=sub.currency,
            reference=reference,
        )
    except ProviderOutcomeUnknown as exc:
        compensation_record(
            org_id=org.pk,
            provider=sub.provider,
            kind=CompensationKind.REFUND,
            reference=reference,
            amount_minor=amount,
            currency=sub.currency,
            data={"only_if_paid": True},
            reason="upgrade charge whose outcome was unknown; the plan was not changed",
        )
        raise PlanChangeFailed(
            "Paystack did not confirm the upgrade charge; your plan is unchanged and, if your "
            "card was charged, the charge is refunded automatically."
        ) from exc
    payment_row, created = Payment.objects.get_or_create(
        provider=sub.provider,
        reference=charged.reference,
        defaults={"organization": org, "amount_minor": charged.amount_minor, "currency": charged.currency},
    )
    if created:
        payment_counted(payment_row)
    return charged.reference, amount if charged.amount_minor is None else charged.amount_minor
