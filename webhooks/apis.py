"""Customer REST API for outbound webhook endpoints (under ``/api/billing/webhooks/``).

Session- or token-authenticated (scope area ``webhooks``) and scoped to the active organization
like ``keys/apis.py``; another organization's endpoint is a 404. Thin: reads through
``webhooks.selectors``, writes through ``webhooks.services`` — the same functions as the HTML
pages.
"""

from __future__ import annotations

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import OrgCapability, active_organization
from webhooks import selectors, services
from webhooks.events import EVENT_TYPES
from webhooks.models import DeliveryStatus

WEBHOOKS = ["Webhooks"]


class EndpointSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    description = serializers.CharField(allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), help_text="Subscribed event types; empty = all."
    )
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


@method_decorator(never_cache, name="post")  # the 201 carries the signing secret
class WebhookEndpointsApi(APIView):
    """List (GET) and register (POST) endpoints: one path, so one class with one serializer pair
    per method."""

    permission_classes = [OrgCapability.of("manage_webhooks")]
    scope_area = "webhooks"

    class ListOutputSerializer(EndpointSerializer):
        pass

    class CreateInputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500, help_text="HTTPS URL on a public host.")
        description = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
        event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False)

    class CreateOutputSerializer(EndpointSerializer):
        secret = serializers.CharField(help_text="`whsec_…` signing secret. Shown only in this response.")

    @extend_schema(
        operation_id="billing_webhooks_list",
        tags=WEBHOOKS,
        responses=ListOutputSerializer(many=True),
        summary="Webhook endpoints",
    )
    def get(self, request):
        endpoints = selectors.webhook_endpoints_for_org(org_id=active_organization(request).pk)
        return Response(self.ListOutputSerializer(endpoints, many=True).data)

    @extend_schema(
        operation_id="billing_webhooks_create",
        tags=WEBHOOKS,
        request=CreateInputSerializer,
        responses={201: CreateOutputSerializer},
        summary="Register a webhook endpoint",
    )
    def post(self, request):
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(org=active_organization(request), **serializer.validated_data)
        return Response(self.CreateOutputSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDeleteApi(APIView):
    permission_classes = [OrgCapability.of("manage_webhooks")]
    scope_area = "webhooks"

    @extend_schema(
        operation_id="billing_webhooks_destroy",
        tags=WEBHOOKS,
        request=None,
        responses={204: None},
        summary="Delete a webhook endpoint",
    )
    def delete(self, request, endpoint_id: int):
        services.webhook_endpoint_delete(
            endpoint=selectors.webhook_endpoint_get(org_id=active_organization(request).pk, endpoint_id=endpoint_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField(source="event.public_id")
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_response_status = serializers.SerializerMethodField()

    def get_last_response_status(self, delivery) -> int | None:
        attempts = list(delivery.attempts.all())
        return attempts[0].response_status if attempts else None


class WebhookDeliveriesApi(APIView):
    permission_classes = [OrgCapability.of("manage_webhooks")]
    scope_area = "webhooks"

    class OutputSerializer(DeliverySerializer):
        pass

    @extend_schema(
        operation_id="billing_webhooks_deliveries_list",
        tags=WEBHOOKS,
        responses=OutputSerializer(many=True),
        summary="Recent deliveries to an endpoint",
    )
    def get(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(org_id=active_organization(request).pk, endpoint_id=endpoint_id)
        return Response(self.OutputSerializer(selectors.deliveries_for_endpoint(endpoint=endpoint), many=True).data)


class WebhookTestApi(APIView):
    permission_classes = [OrgCapability.of("manage_webhooks")]
    scope_area = "webhooks"

    class OutputSerializer(DeliverySerializer):
        pass

    @extend_schema(
        operation_id="billing_webhooks_test",
        tags=WEBHOOKS,
        request=None,
        responses={202: OutputSerializer},
        summary="Send a test event to an endpoint",
    )
    def post(self, request, endpoint_id: int):
        endpoint = selectors.webhook_endpoint_get(org_id=active_organization(request).pk, endpoint_id=endpoint_id)
        delivery = services.webhook_endpoint_test(endpoint=endpoint)
        return Response(self.OutputSerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
