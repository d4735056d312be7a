"""The operator API for API products: create products, push OpenAPI documents (from CI),
price operations. Staff only (``IsOperator``), through the browser session or a personal access
token with the ``products:write`` scope (``accounts.scopes``; checked by ``TokenScope``).

Kept out of the customer OpenAPI schema: customers never call it; docs/products.md documents it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Organization
from accounts.permissions import TokenScope
from plans.models import Meter, Plan
from products.document_import import DocumentInvalid, document_apply, document_diff
from products.documents import MAX_DOCUMENT_BYTES, LocatedError
from products.models import ApiProduct, Operation, UnitRule, Visibility
from products.selectors import document_current, operation_get, product_get, products_for_operator
from products.services import operation_update, product_create, product_update


class IsOperator(BasePermission):
    """Operators are staff users: they run the portal, not a customer organization."""

    message = "Only operators may manage API products."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)


class DocumentTextParser(BaseParser):
    """The request body as text, whatever it is labelled (JSON, YAML, text/plain…): the
    importer detects the format itself and keeps the text exactly as sent."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = stream.read(MAX_DOCUMENT_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise _invalid(f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB.")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _invalid(f"The document is not UTF-8 (byte {exc.start}).") from exc


def _invalid(message: str) -> DocumentInvalid:
    return DocumentInvalid(message, errors=[LocatedError("", message).as_dict()])


class OperationOutput(serializers.ModelSerializer):
    meter: serializers.SlugRelatedField[Meter] = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Operation
        fields = [
            "operation_id",
            "method",
            "path_template",
            "summary",
            "tag",
            "meter",
            "unit_rule",
            "units_fixed",
            "unit_source",
            "max_units",
            "required_scope",
            "enabled",
            "removed_at",
        ]


class ProductOutput(serializers.ModelSerializer):
    organizations: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True
    )
    plans: serializers.SlugRelatedField[Plan] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    has_upstream_secret = serializers.SerializerMethodField()
    document_version = serializers.SerializerMethodField()

    class Meta:
        model = ApiProduct
        fields = [
            "name",
            "slug",
            "description",
            "base_path",
            "upstream_url",
            "upstream_auth_header",
            "has_upstream_secret",
            "connect_timeout_s",
            "read_timeout_s",
            "max_request_bytes",
            "max_response_bytes",
            "visibility",
            "organizations",
            "plans",
            "is_active",
            "document_version",
            "created_at",
            "updated_at",
        ]

    def get_has_upstream_secret(self, product: ApiProduct) -> bool:
        return bool(product.upstream_auth_secret)

    def get_document_version(self, product: ApiProduct) -> int | None:
        document = document_current(product=product)
        return document.version if document else None


class ProductInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True)
    base_path = serializers.CharField(max_length=200)
    upstream_url = serializers.CharField(max_length=500)
    upstream_auth_header = serializers.CharField(max_length=100, required=False, allow_blank=True)
    upstream_auth_secret = serializers.CharField(
        required=False, allow_blank=True, write_only=True, trim_whitespace=False
    )
    connect_timeout_s = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    read_timeout_s = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    max_request_bytes = serializers.IntegerField(min_value=1, required=False)
    max_response_bytes = serializers.IntegerField(min_value=1, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    organizations: serializers.SlugRelatedField[Organization] = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=Organization.objects.all(), required=False
    )
    plans: serializers.SlugRelatedField[Plan] = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Plan.objects.all(), required=False
    )
    is_active = serializers.BooleanField(required=False)


class OperatorApi(APIView):
    """Base of the operator API: staff only; a token needs ``products:write`` whatever the method."""

    permission_classes = [IsOperator, TokenScope]
    required_scope = "products:write"


@extend_schema(exclude=True)
class ProductListCreateApi(OperatorApi):
    def get(self, request):
        return Response(
            ProductOutput(products_for_operator().prefetch_related("organizations", "plans"), many=True).data
        )

    def post(self, request):
        serializer = ProductInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(**serializer.validated_data)
        return Response(ProductOutput(product).data, status=status.HTTP_201_CREATED)


@extend_schema(exclude=True)
class ProductDetailApi(OperatorApi):
    def get(self, request, slug: str):
        product = product_get(slug=slug)
        operations = product.operations.select_related("meter").defer("parameters", "request_body", "responses")
        return Response({**ProductOutput(product).data, "operations": OperationOutput(operations, many=True).data})

    def patch(self, request, slug: str):
        product = product_get(slug=slug)
        serializer = ProductInput(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = product_update(product=product, **serializer.validated_data)
        return Response(ProductOutput(product).data)


@extend_schema(exclude=True)
class DocumentImportApi(OperatorApi):
    """POST the document as the body. ``?apply=1`` imports it (201); otherwise the answer is
    the preview: what would be added, changed and removed (200). ``?enable_new=0`` imports new
    operations switched off, for the operator to price before they go live."""

    parser_classes = [DocumentTextParser]

    def post(self, request, slug: str):
        product = product_get(slug=slug)
        text = request.data if isinstance(request.data, str) else ""
        preview = document_diff(product=product, text=text)
        if not preview.ok:
            raise DocumentInvalid(
                "The document has errors; see `errors`.", errors=[error.as_dict() for error in preview.errors]
            )
        if request.query_params.get("apply") not in {"1", "true", "yes"}:
            return Response(preview.as_dict())
        enable_new = request.query_params.get("enable_new", "1") not in {"0", "false", "no"}
        document = document_apply(product=product, text=text, user=request.user, enable_new=enable_new)
        body = {**preview.as_dict(), "applied": True, "version": document.version, "sha256": document.sha256}
        return Response(body, status=status.HTTP_201_CREATED)


@extend_schema(exclude=True)
class OperationUpdateApi(OperatorApi):
    class InputSerializer(serializers.Serializer):
        meter = serializers.SlugRelatedField(
            slug_field="code", queryset=Meter.objects.all(), allow_null=True, required=False
        )
        unit_rule = serializers.ChoiceField(choices=UnitRule.choices, required=False)
        units_fixed = serializers.IntegerField(min_value=0, required=False)
        unit_source = serializers.CharField(max_length=200, required=False, allow_blank=True)
        max_units = serializers.IntegerField(min_value=1, required=False)
        required_scope = serializers.CharField(max_length=200, required=False, allow_blank=True)
        enabled = serializers.BooleanField(required=False)

    def patch(self, request, slug: str, operation_id: str):
        operation = operation_get(product=product_get(slug=slug), operation_id=operation_id)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        operation = operation_update(operation=operation, **serializer.validated_data)
        return Response(OperationOutput(operation).data)
