"""A tiny monetized API used to test the docs machinery independently of the real gateway: one
metered POST, one GET with a path parameter, one customer-API list."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from portal.problems import Problem

SAMPLE_KEY = "tg_test_sample0000000000000000000000"


class SampleUnauthenticated(Problem):
    status, slug, title = 401, "unauthenticated", "Authentication required"


class _SampleKeyRequired(APIView):
    """Checks the sample key itself (like the gateway's lean views), so the schema shows no
    authentication class and the docs hook supplies the gateway's security schemes."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        header = request.headers.get("Authorization", "")
        key = request.headers.get("X-API-Key") or (header[7:] if header.startswith("Bearer ") else "")
        if key != SAMPLE_KEY:
            raise SampleUnauthenticated("Send a valid key.", headers={"WWW-Authenticate": 'Bearer realm="api"'})


class MessageIn(serializers.Serializer):
    to = serializers.RegexField(r"^\+[1-9]\d{7,14}$", help_text="E.164 phone number.")
    message = serializers.CharField(max_length=160)


class MessageOut(serializers.Serializer):
    tracking_id = serializers.CharField()
    to = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "delivered"])


class SampleSendApi(_SampleKeyRequired):
    meter_code = "sms.sent"

    @extend_schema(
        operation_id="sample_sms_send", summary="Send an SMS", request=MessageIn, responses={201: MessageOut}
    )
    def post(self, request):
        data = MessageIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"tracking_id": "trk_1", "to": data.validated_data["to"], "status": "queued"}, status=201)


class SampleStatusApi(_SampleKeyRequired):
    meter_code = "delivery.status_check"

    @extend_schema(operation_id="sample_delivery_status", summary="Check a delivery", responses={200: MessageOut})
    def get(self, request, tracking_id: str):
        if tracking_id != "trk_1":
            raise NotFound("No such delivery.")
        return Response({"tracking_id": tracking_id, "to": "+2348012345678", "status": "delivered"})
