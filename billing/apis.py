"""Customer REST API for billing: subscription and invoices (webhook endpoints: ``webhooks.apis``).

Session- or token-authenticated (scope area ``billing``) and scoped to the active organization
like ``keys/apis.py``; another organization's invoice is a 404. Thin and read-only: reads
through ``billing.selectors`` and ``plans.selectors`` — the same functions as the HTML pages.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import OrgCapability, active_organization
from billing import selectors
from billing.models import InvoiceLineKind, InvoiceStatus
from plans.selectors import plan_for_org, subscription_live

BILLING = ["Billing"]


# --- subscription ---------------------------------------------------------------------------
class SubscriptionApi(APIView):
    permission_classes = [OrgCapability.of("view")]
    scope_area = "billing"

    class OutputSerializer(serializers.Serializer):
        plan = serializers.CharField(help_text="Plan code (`free` without a live subscription).")
        plan_name = serializers.CharField()
        status = serializers.CharField(help_text="active, trialing, past_due… or `free`.")
        currency = serializers.CharField(allow_blank=True)
        provider = serializers.CharField(allow_blank=True, help_text="stripe, paystack, or empty (manual / free).")
        current_period_start = serializers.DateTimeField(allow_null=True)
        current_period_end = serializers.DateTimeField(allow_null=True)
        cancel_at_period_end = serializers.BooleanField()

    @extend_schema(
        operation_id="billing_subscription_retrieve",
        tags=BILLING,
        responses=OutputSerializer,
        summary="The organization's plan and subscription",
    )
    def get(self, request):
        org = active_organization(request)
        sub, plan = subscription_live(org_id=org.pk), plan_for_org(org_id=org.pk)
        return Response(
            self.OutputSerializer(
                {
                    "plan": plan.code,
                    "plan_name": plan.name,
                    "status": sub.status if sub else "free",
                    "currency": sub.currency if sub else org.currency,
                    "provider": sub.provider if sub else "",
                    "current_period_start": sub.current_period_start if sub else None,
                    "current_period_end": sub.current_period_end if sub else None,
                    "cancel_at_period_end": bool(sub and sub.cancel_at_period_end),
                }
            ).data
        )


# --- invoices -------------------------------------------------------------------------------
class InvoiceSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    plan_name = serializers.CharField()
    currency = serializers.CharField()
    total_minor = serializers.IntegerField(help_text="Integer minor units (cents, kobo) of `currency`.")
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    issued_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)


class InvoiceLineSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=InvoiceLineKind.choices)
    description = serializers.CharField()
    meter_code = serializers.CharField(allow_blank=True)
    quantity = serializers.IntegerField()
    included_units = serializers.IntegerField()
    unit_price = serializers.DecimalField(
        max_digits=18, decimal_places=6, help_text="Major units, exact (may be below one minor unit)."
    )
    amount_minor = serializers.IntegerField(help_text="This line rounded once (half to even) to minor units.")


class InvoiceListApi(APIView):
    permission_classes = [OrgCapability.of("manage_billing")]
    scope_area = "billing"

    class OutputSerializer(InvoiceSerializer):
        pass

    @extend_schema(
        operation_id="billing_invoices_list",
        tags=BILLING,
        responses=OutputSerializer(many=True),
        summary="Invoices, newest first",
    )
    def get(self, request):
        return Response(
            self.OutputSerializer(selectors.invoices_for_org(org_id=active_organization(request).pk), many=True).data
        )


class InvoiceDetailApi(APIView):
    permission_classes = [OrgCapability.of("manage_billing")]
    scope_area = "billing"

    class OutputSerializer(InvoiceSerializer):
        lines = InvoiceLineSerializer(many=True, source="lines.all")

    @extend_schema(
        operation_id="billing_invoices_retrieve",
        tags=BILLING,
        responses=OutputSerializer,
        summary="One invoice with its lines",
    )
    def get(self, request, number: str):
        return Response(
            self.OutputSerializer(selectors.invoice_get(org_id=active_organization(request).pk, number=number)).data
        )
