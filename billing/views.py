"""Billing pages (plan, checkout, invoices, customer webhooks), dashboard cards and the
provider webhook endpoints."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.permissions import has_capability, role_required
from billing import selectors, services
from billing.events import EVENT_TYPES
from billing.models import Checkout, CheckoutStatus, WebhookDelivery
from billing.outbound import UnsafeTarget
from billing.providers import provider_get
from billing.webhooks import webhook_receive
from plans.models import Plan
from portal.problems import Problem


# --- plan and checkout ----------------------------------------------------------------------
@role_required("manage_billing")
def overview(request: HttpRequest) -> HttpResponse:
    context = selectors.billing_overview(org=request.org)
    context.update(org=request.org, grace_days=settings.BILLING_GRACE_DAYS,
                   payments=selectors.payments_for_org(org_id=request.org.pk),
                   invoices=selectors.invoices_for_org(org_id=request.org.pk)[:5])
    return render(request, "billing/overview.html", context)


@require_POST
@role_required("manage_billing")
def checkout(request: HttpRequest) -> HttpResponse:
    plan = get_object_or_404(Plan, code=request.POST.get("plan", ""), is_active=True, is_public=True)
    try:
        live = selectors.subscription_live(org_id=request.org.pk)
        if live and live.provider:
            services.subscription_change_plan(org=request.org, plan=plan)
            messages.success(request, f"You are now on {plan.name}.")
            return redirect("billing:overview")
        # The pricing page may post the currency the customer chose to pay in.
        currency = request.POST.get("currency", "").upper()[:3]
        session = services.checkout_start(org=request.org, plan=plan, user=request.user, currency=currency)
    except Problem as exc:
        messages.error(request, exc.detail)
        return redirect("billing:overview")
    return redirect(session.url)


@login_required
def checkout_return(request: HttpRequest, provider_name: str) -> HttpResponse:
    """Where the provider sends the customer back. Confirms at once (the webhook may come later)."""
    reference = request.GET.get("session_id") or request.GET.get("reference") or request.GET.get("trxref") or ""
    checkout_row = Checkout.objects.filter(provider=provider_name, reference=reference,
                                           organization=request.org).first()
    if checkout_row is None:
        raise Http404("No such checkout.")
    if checkout_row.status != CheckoutStatus.COMPLETED:
        try:
            services.checkout_confirm(provider=provider_get(provider_name), reference=reference)
        except services.PaymentNotConfirmed:
            messages.info(request, "Your payment is being confirmed; this page updates when it is.")
            return redirect("billing:overview")
        except Problem as exc:
            messages.error(request, exc.detail)
            return redirect("billing:overview")
    messages.success(request, f"Payment confirmed — welcome to {checkout_row.plan.name}! Your keys use the new limits now.")
    return redirect("dashboard")


@require_POST
@role_required("manage_billing")
def cancel(request: HttpRequest) -> HttpResponse:
    try:
        sub = services.subscription_cancel(org=request.org)
        messages.success(request, f"Your plan stays active until {sub.current_period_end:%d %b %Y}, then moves to Free.")
    except Problem as exc:
        messages.error(request, exc.detail)
    return redirect("billing:overview")


@require_POST
@role_required("manage_billing")
def resume(request: HttpRequest) -> HttpResponse:
    try:
        services.subscription_resume(org=request.org)
        messages.success(request, "Your plan will renew as usual.")
    except Problem as exc:
        messages.error(request, exc.detail)
    return redirect("billing:overview")


@require_POST
@role_required("manage_billing")
def manage(request: HttpRequest) -> HttpResponse:
    try:
        url = services.portal_url(org=request.org, return_url=settings.SITE_URL + reverse("billing:overview"))
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
    return render(request, "billing/card_invoices.html", {
        "invoices": invoices, "can_bill": has_capability(request.membership, "manage_billing")})


# --- customer webhooks ----------------------------------------------------------------------
class EndpointForm(forms.Form):
    url = forms.URLField(max_length=500, assume_scheme="https", label="Endpoint URL",
                         widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/tollgate"}))
    description = forms.CharField(max_length=120, required=False)
    event_types = forms.MultipleChoiceField(choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple,
                                            initial=list(EVENT_TYPES))


@role_required("manage_webhooks")
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(
                org=request.org, url=form.cleaned_data["url"], description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"])
        except UnsafeTarget as exc:
            form.add_error("url", exc.detail)
        else:
            messages.success(request, "Endpoint added. Copy the signing secret below to verify deliveries.")
            return redirect("billing:webhook_detail", endpoint.pk)
    return render(request, "billing/webhook_list.html", {
        "form": form, "endpoints": selectors.webhook_endpoints_for_org(org_id=request.org.pk)})


@never_cache  # shows the signing secret
@role_required("manage_webhooks")
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    return render(request, "billing/webhook_detail.html", {
        "endpoint": endpoint, "deliveries": selectors.deliveries_for_endpoint(endpoint=endpoint)})


@require_POST
@role_required("manage_webhooks")
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    services.webhook_endpoint_test(endpoint=endpoint)
    messages.success(request, "Test event sent; the attempt appears below.")
    return redirect("billing:webhook_detail", endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_resend(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    services.webhook_delivery_resend(delivery=get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint=endpoint))
    messages.success(request, "Delivery re-sent.")
    return redirect("billing:webhook_detail", endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    services.webhook_endpoint_delete(endpoint=selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id))
    messages.success(request, "Endpoint deleted.")
    return redirect("billing:webhook_list")


# --- provider webhooks in -------------------------------------------------------------------
@csrf_exempt
@require_POST
def provider_webhook(request: HttpRequest, provider_name: str) -> HttpResponse:
    try:
        provider = provider_get(provider_name)
    except KeyError:
        raise Http404("Unknown provider.") from None
    outcome = webhook_receive(provider=provider, body=request.body, headers=dict(request.headers))
    return HttpResponse(outcome.event.status, status=outcome.http_status, content_type="text/plain")
