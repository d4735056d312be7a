"""A tiny monetized API used to test the docs machinery before (and independently of) the real
gateway: one metered POST, one GET with a path parameter, one customer-API list."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

SAMPLE_KEY = "tg_test_sample0000000000000000000000"


class SampleKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.headers.get("Authorization", "")
        key = request.headers.get("X-API-Key") or (header[7:] if header.startswith("Bearer ") else "")
        if not key:
            return None
        if key != SAMPLE_KEY:
            raise AuthenticationFailed("Unknown API key.")
        return (type("KeyUser", (), {"is_authenticated": True})(), key)

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class SampleKeyScheme(OpenApiAuthenticationExtension):
    target_class = "tests.site.sample_api.SampleKeyAuthentication"
    name = "ApiKeyHeader"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "X-API-Key"}


class MessageIn(serializers.Serializer):
    to = serializers.RegexField(r"^\+[1-9]\d{7,14}$", help_text="E.164 phone number.")
    message = serializers.CharField(max_length=160)


class MessageOut(serializers.Serializer):
    tracking_id = serializers.CharField()
    to = serializers.CharField()
    status = serializers.ChoiceField(choices=["queued", "delivered"])


class SampleSendApi(APIView):
    authentication_classes = [SampleKeyAuthentication]
    permission_classes = [IsAuthenticated]
    meter_code = "sms.sent"

    @extend_schema(operation_id="sample_sms_send", summary="Send an SMS", request=MessageIn, responses={201: MessageOut})
    def post(self, request):
        data = MessageIn(data=request.data)
        data.is_valid(raise_exception=True)
        return Response({"tracking_id": "trk_1", "to": data.validated_data["to"], "status": "queued"}, status=201)


class SampleStatusApi(APIView):
    authentication_classes = [SampleKeyAuthentication]
    permission_classes = [IsAuthenticated]
    meter_code = "delivery.status_check"

    @extend_schema(operation_id="sample_delivery_status", summary="Check a delivery", responses={200: MessageOut})
    def get(self, request, tracking_id: str):
        if tracking_id != "trk_1":
            raise NotFound("No such delivery.")
        return Response({"tracking_id": tracking_id, "to": "+2348012345678", "status": "delivered"})
