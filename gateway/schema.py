"""OpenAPI description of the gateway (drf-spectacular).

The gateway's views are lean Django views (see gateway/proxy.py), so each URL callback
carries ``cls`` = a DRF ``APIView`` subclass that exists only to describe it: operation id,
request/response serializers, problem responses and the security schemes. drf-spectacular
reads ``callback.cls`` exactly as it does for ``APIView.as_view()``; requests never reach it.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.views import APIView

from accounts.authentication import PersonalAccessTokenAuthentication
from accounts.permissions import TokenScope
from gateway.verify import TokenOutput, VerifyInput, VerifyOutput


class ApiKeyAuthentication(BaseAuthentication):
    """Marker for the schema: the gateway itself authenticates in gateway/credentials.py."""

    def authenticate(self, request):  # pragma: no cover - never used to serve requests
        return None


class OperatorTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):  # pragma: no cover
        return None


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = ApiKeyAuthentication
    name = ["ApiKeyBearer", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKeyBearer": []}, {"ApiKeyHeader": []}]  # either one (OR)

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "tg_live_… / tg_test_… API key, or a JWT from /v1/auth/token",
                "description": "`Authorization: Bearer <API key or token>`",
            },
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "`X-API-Key: <API key>`"},
        ]


class OperatorTokenScheme(OpenApiAuthenticationExtension):
    target_class = OperatorTokenAuthentication
    name = "OperatorToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The operator's GATEWAY_VERIFY_TOKEN."}


class CredentialRequired(BasePermission):
    """Schema marker: a credential is required (so the schema lists no anonymous option)."""


class ProblemOutput(serializers.Serializer):
    type = serializers.URLField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()


class RateLimitProblemOutput(ProblemOutput):
    limit = serializers.ChoiceField(choices=["second", "minute", "month"])
    limit_value = serializers.IntegerField()
    plan = serializers.CharField()
    retry_after = serializers.IntegerField()
    reset_at = serializers.DateTimeField()
    upgrade_url = serializers.URLField()


RATE_HEADERS = [
    OpenApiParameter(
        "X-Request-Id",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description="Your request id (echoed back); one is generated when absent.",
    ),
]
IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key within 24 h returns the first response and is not charged again.",
)
METERED_ERRORS = {
    400: OpenApiResponse(ProblemOutput, description="Invalid input (problem+json, `errors` per field). Not charged."),
    401: OpenApiResponse(ProblemOutput, description="Missing, unknown, expired or revoked key/token."),
    403: OpenApiResponse(ProblemOutput, description="The key's scopes do not include this operation."),
    429: OpenApiResponse(
        RateLimitProblemOutput,
        description="Rate limit or monthly quota reached. Headers: "
        "Retry-After, RateLimit-Policy, RateLimit. Not charged.",
    ),
}


class _Doc(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [CredentialRequired]


class AuthTokenApi(_Doc):
    @extend_schema(
        operation_id="auth_token_create",
        summary="Exchange an API key for a short-lived token",
        tags=["Auth"],
        description="Send the key as the credential; use the returned JWT as `Authorization: Bearer …` "
        "until it expires. Tokens stop working when their key is revoked.",
        request=None,
        responses={200: TokenOutput, 401: ProblemOutput},
    )
    def post(self, request):  # pragma: no cover
        raise NotImplementedError


class KeysVerifyApi(APIView):
    # The deployment's verify token, or an operator's personal access token (scope keys:verify).
    authentication_classes = [OperatorTokenAuthentication, PersonalAccessTokenAuthentication]
    permission_classes = [CredentialRequired, TokenScope]
    required_scope = "keys:verify"

    @extend_schema(
        operation_id="keys_verify",
        summary="Verify and charge a customer's key (operator backends)",
        tags=["Operator"],
        request=VerifyInput,
        responses={200: VerifyOutput, 400: ProblemOutput, 401: ProblemOutput},
    )
    def post(self, request):  # pragma: no cover
        raise NotImplementedError


def described_by(view, cls):
    """Attach the describing APIView to a lean view (what drf-spectacular looks for)."""
    view.cls = cls
    view.initkwargs = {}
    return view
