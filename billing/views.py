"""Billing pages (plan, checkout, invoices), dashboard cards and the provider webhook
endpoints."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.permissions import has_capability, role_required
from billing import selectors
from billing.checkout import CheckoutAlreadyPaid, PaymentNotConfirmed, checkout_confirm, checkout_start
from billing.models import Checkout, CheckoutStatus
from billing.plan_changes import subscription_change_plan
from billing.providers import provider_get
from billing.providers.base import SignatureInvalid
from billing.subscriptions import portal_url, subscription_cancel, subscription_resume
from billing.webhooks import WebhookBodyTooLarge, webhook_receive
from plans.models import Plan
from portal.money import format_minor
from portal.problems import Problem, problem_body, problem_http_response


# --- plan and checkout ----------------------------------------------------------------------
@role_required("manage_billing")
def overview(request: HttpRequest) -> HttpResponse:
    context = selectors.billing_overview(org=request.org)
    context.update(
        org=request.org,
        grace_days=settings.BILLING_GRACE_DAYS,
        payments=selectors.payments_for_org(org_id=request.org.pk),
        invoices=selectors.invoices_for_org(org_id=request.org.pk)[:5],
    )
    return render(request, "billing/overview.html", context)


@require_POST
@role_required("manage_billing")
def checkout(request: HttpRequest) -> HttpResponse:
    plan = get_object_or_404(Plan, code=request.POST.get("plan", ""), is_active=True, is_public=True)
    try:
        live = selectors.subscription_live(org_id=request.org.pk)
        if live and live.provider:
            subscription_change_plan(org=request.org, plan=plan)
            messages.success(request, f"You are now on {plan.name}.")
            return redirect("billing:overview")
        # The pricing page may post the currency the customer chose to pay in.
        currency = request.POST.get("currency", "").upper()[:3]
        session = checkout_start(org=request.org, plan=plan, user=request.user, currency=currency)
    except CheckoutAlreadyPaid as exc:
        messages.success(request, exc.detail)
        return redirect("billing:overview")
    except Problem as exc:
        messages.error(request, exc.detail)
        return redirect("billing:overview")
    return redirect(session.url)


@login_required
def checkout_return(request: HttpRequest, provider_name: str) -> HttpResponse:
    """Where the provider sends the customer back. Confirms at once (the webhook may come later)."""
    reference = request.GET.get("session_id") or request.GET.get("reference") or request.GET.get("trxref") or ""
    checkout_row = Checkout.objects.filter(
        provider=provider_name, reference=reference, organization=request.org
    ).first()
    if checkout_row is None:
        raise Http404("No such checkout.")
    if checkout_row.status != CheckoutStatus.COMPLETED:
        try:
            checkout_confirm(provider=provider_get(provider_name), reference=reference)
        except PaymentNotConfirmed:
            messages.info(request, "Your payment is being confirmed; this page updates when it is.")
            return redirect("billing:overview")
        except Problem as exc:
            messages.error(request, exc.detail)
            return redirect("billing:overview")
        checkout_row.refresh_from_db()
    if checkout_row.status == CheckoutStatus.REFUNDED:
        amount = format_minor(checkout_row.amount_minor, checkout_row.currency)
        messages.warning(
            request, f"Your organization already has a paid plan, so this payment of {amount} is refunded in full."
        )
        return redirect("billing:overview")
    messages.success(
        request, f"Payment confirmed — welcome to {checkout_row.plan.name}! Your keys use the new limits now."
    )
    return redirect("dashboard")


@require_POST
@role_required("manage_billing")
def cancel(request: HttpRequest) -> HttpResponse:
    try:
        sub = subscription_cancel(org=request.org)
        messages.success(
            request, f"Your plan stays active until {sub.current_period_end:%d %b %Y}, then moves to Free."
        )
    except Problem as exc:
        messages.error(request, exc.detail)
    return redirect("billing:overview")


@require_POST
@role_required("manage_billing")
def resume(request: HttpRequest) -> HttpResponse:
    try:
        subscription_resume(org=request.org)
        messages.success(request, "Your plan will renew as usual.")
    except Problem as exc:
        messages.error(request, exc.detail)
    return redirect("billing:overview")


@require_POST
@role_required("manage_billing")
def manage(request: HttpRequest) -> HttpResponse:
    try:
        url = portal_url(org=request.org, return_url=settings.SITE_URL + reverse("billing:overview"))
    except Problem as exc:
        messages.error(request, exc.detail)
        return redirect("billing:overview")
    return redirect(url)


# --- invoices -------------------------------------------------------------------------------
@role_required("manage_billing")
def invoice_list(request: HttpRequest) -> HttpResponse:
    return render(request, "billing/invoice_list.html", {"invoices": selectors.invoices_for_org(org_id=request.org.pk)})


@role_required("manage_billing")
def invoice_detail(request: HttpRequest, number: str) -> HttpResponse:
    invoice = selectors.invoice_get(org_id=request.org.pk, number=number)
    return render(request, "billing/invoice_detail.html", {"invoice": invoice, "org": request.org})


# --- dashboard cards ------------------------------------------------------------------------
@role_required("view")
def card_plan(request: HttpRequest) -> HttpResponse:
    context = selectors.billing_overview(org=request.org)
    context["can_bill"] = has_capability(request.membership, "manage_billing")
    context["grace_days"] = settings.BILLING_GRACE_DAYS
    return render(request, "billing/card_plan.html", context)


@role_required("view")
def card_invoices(request: HttpRequest) -> HttpResponse:
    invoices = selectors.invoices_for_org(org_id=request.org.pk)[:3]
    return render(
        request,
        "billing/card_invoices.html",
        {"invoices": invoices, "can_bill": has_capability(request.membership, "manage_billing")},
    )


# --- provider webhooks in -------------------------------------------------------------------
@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, provider_name: str) -> HttpResponse:
    try:
        provider = provider_get(provider_name)
    except KeyError:
        raise Http404("Unknown provider.") from None
    limit = settings.PROVIDER_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    # Refused before the body is read when the length is declared, else after reading at most
    # one byte past the limit: a provider event is a few KB, never megabytes.
    body = b"" if declared > limit else request.read(limit + 1)
    if declared > limit or len(body) > limit:
        return problem_http_response(
            problem_body(WebhookBodyTooLarge.slug, f"Webhook bodies are limited to {limit} bytes.", max_bytes=limit)
        )
    outcome = webhook_receive(
        provider=provider, body=body, headers=dict(request.headers), client_address=request.META.get("REMOTE_ADDR", "")
    )
    if outcome.http_status == 400:
        return problem_http_response(problem_body(SignatureInvalid.slug, outcome.detail))
    return HttpResponse(outcome.status, status=outcome.http_status, content_type="text/plain")
