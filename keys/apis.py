"""Customer REST API for keys, scoped to the active organization: the browser session, or a
personal access token with the ``keys:read`` / ``keys:write`` scope (``scope_area``)."""

from __future__ import annotations

from datetime import timedelta

from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import OrgCapability, active_organization
from keys.models import ApiKey, KeyMode
from keys.selectors import api_key_get, api_keys_for_org
from keys.services import MAX_OVERLAP, api_key_create, api_key_revoke, api_key_rotate, scope_errors


class KeyOutput(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    rotated_from = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "mode",
            "prefix",
            "scopes",
            "status",
            "created_at",
            "expires_at",
            "revoked_at",
            "overlap_until",
            "last_used_at",
            "rotated_from",
        ]


class KeyWithSecretOutput(KeyOutput):
    key = serializers.CharField(help_text="The full key. Shown only in this response: store it now.")

    class Meta(KeyOutput.Meta):
        fields = [*KeyOutput.Meta.fields, "key"]


class KeyListApi(APIView):
    permission_classes = [OrgCapability.of("view")]
    scope_area = "keys"

    @extend_schema(operation_id="keys_list", tags=["Keys"], responses=KeyOutput(many=True))
    def get(self, request):
        return Response(KeyOutput(api_keys_for_org(org=active_organization(request)), many=True).data)


class KeyDetailApi(APIView):
    permission_classes = [OrgCapability.of("view")]
    scope_area = "keys"

    @extend_schema(operation_id="keys_retrieve", tags=["Keys"], responses=KeyOutput)
    def get(self, request, key_id: int):
        return Response(KeyOutput(api_key_get(org=active_organization(request), key_id=key_id)).data)


@method_decorator(never_cache, name="dispatch")  # answers with the new key: never stored by a cache
class KeyCreateApi(APIView):
    permission_classes = [OrgCapability.of("manage_keys")]
    scope_area = "keys"

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=80)
        mode = serializers.ChoiceField(choices=KeyMode.choices, default=KeyMode.TEST)
        scopes = serializers.ListField(
            child=serializers.CharField(max_length=200),
            required=False,
            default=list,
            help_text="What the key may call: `product:<slug>` for a whole API product, or an operation's "
            "scope (its operation id unless the operator chose another); empty = everything.",
        )
        expires_at = serializers.DateTimeField(required=False, allow_null=True)

        class Meta:
            ref_name = "KeyCreateInput"

        def validate_scopes(self, value: list[str]) -> list[str]:
            errors = scope_errors(value)
            if errors:
                raise serializers.ValidationError(errors)
            return value

    @extend_schema(
        operation_id="keys_create", tags=["Keys"], request=InputSerializer, responses={201: KeyWithSecretOutput}
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw = api_key_create(org=active_organization(request), user=request.user, **serializer.validated_data)
        key.key = raw
        return Response(KeyWithSecretOutput(key).data, status=status.HTTP_201_CREATED)


class KeyRevokeApi(APIView):
    permission_classes = [OrgCapability.of("manage_keys")]
    scope_area = "keys"

    @extend_schema(operation_id="keys_revoke", tags=["Keys"], request=None, responses=KeyOutput)
    def post(self, request, key_id: int):
        key = api_key_revoke(key=api_key_get(org=active_organization(request), key_id=key_id), user=request.user)
        return Response(KeyOutput(key).data)


@method_decorator(never_cache, name="dispatch")  # answers with the replacement key
class KeyRotateApi(APIView):
    permission_classes = [OrgCapability.of("manage_keys")]
    scope_area = "keys"

    class InputSerializer(serializers.Serializer):
        overlap_seconds = serializers.IntegerField(
            min_value=0,
            max_value=int(MAX_OVERLAP.total_seconds()),
            default=86_400,
            help_text="How long the old key keeps working (0 = stop it now).",
        )

        class Meta:
            ref_name = "KeyRotateInput"

    @extend_schema(
        operation_id="keys_rotate", tags=["Keys"], request=InputSerializer, responses={201: KeyWithSecretOutput}
    )
    def post(self, request, key_id: int):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        old = api_key_get(org=active_organization(request), key_id=key_id)
        new, raw = api_key_rotate(
            key=old, overlap=timedelta(seconds=serializer.validated_data["overlap_seconds"]), user=request.user
        )
        new.key = raw
        return Response(KeyWithSecretOutput(new).data, status=status.HTTP_201_CREATED)
