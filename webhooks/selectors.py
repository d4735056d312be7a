"""Webhook reads, always scoped to one organization."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from webhooks.models import WebhookDelivery, WebhookEndpoint


def webhook_endpoints_for_org(*, org_id: int) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(organization_id=org_id).order_by("-created_at")


def webhook_endpoint_get(*, org_id: int, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, organization_id=org_id, pk=endpoint_id)


def deliveries_for_endpoint(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.select_related("event").prefetch_related("attempts")[:50]
