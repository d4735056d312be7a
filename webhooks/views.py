"""Webhook endpoint pages: register, inspect deliveries, send a test event, resend, delete."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.permissions import role_required
from webhooks import selectors, services
from webhooks.delivery import UnsafeTarget
from webhooks.events import EVENT_TYPES
from webhooks.models import WebhookDelivery


class EndpointForm(forms.Form):
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        label="Endpoint URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks/tollgate"}),
    )
    description = forms.CharField(max_length=120, required=False)
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES], widget=forms.CheckboxSelectMultiple, initial=list(EVENT_TYPES)
    )


@role_required("manage_webhooks")
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(
                org=request.org,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                event_types=form.cleaned_data["event_types"],
            )
        except UnsafeTarget as exc:
            form.add_error("url", exc.detail)
        else:
            messages.success(request, "Endpoint added. Copy the signing secret below to verify deliveries.")
            return redirect("webhooks:detail", endpoint.pk)
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"form": form, "endpoints": selectors.webhook_endpoints_for_org(org_id=request.org.pk)},
    )


@never_cache  # shows the signing secret
@role_required("manage_webhooks")
def webhook_detail(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    return render(
        request,
        "webhooks/endpoint_detail.html",
        {"endpoint": endpoint, "deliveries": selectors.deliveries_for_endpoint(endpoint=endpoint)},
    )


@require_POST
@role_required("manage_webhooks")
def webhook_test(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    services.webhook_endpoint_test(endpoint=endpoint)
    messages.success(request, "Test event sent; the attempt appears below.")
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_resend(request: HttpRequest, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    services.webhook_delivery_resend(delivery=get_object_or_404(WebhookDelivery, pk=delivery_id, endpoint=endpoint))
    messages.success(request, "Delivery re-sent.")
    return redirect("webhooks:detail", endpoint.pk)


@require_POST
@role_required("manage_webhooks")
def webhook_delete(request: HttpRequest, endpoint_id: int) -> HttpResponse:
    services.webhook_endpoint_delete(
        endpoint=selectors.webhook_endpoint_get(org_id=request.org.pk, endpoint_id=endpoint_id)
    )
    messages.success(request, "Endpoint deleted.")
    return redirect("webhooks:list")
