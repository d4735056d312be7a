"""API products: an operator's API behind the gateway, its imported OpenAPI documents and the
operations they define, each with its price rule.

An operation is never deleted once imported: usage events and invoice lines name it by
operation id, so a re-import that no longer has it only disables it (``removed_at``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from plans.models import Meter, Plan
from portal.crypto import EncryptedTextField
from products.validators import (
    unit_source_normalize,
    validate_auth_header,
    validate_base_path,
    validate_upstream_url,
)

MIB = 1024 * 1024
MAX_BODY_BYTES = 1024 * MIB  # 1 GiB: beyond that a product should not stream through a portal


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public: every organization"
    PRIVATE = "private", "Private: chosen organizations"


class ApiProduct(models.Model):
    """An operator's API sold through the gateway under ``base_path``."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    base_path = models.CharField(
        max_length=200,
        unique=True,
        validators=[validate_base_path],
        help_text="Public path prefix on the gateway, e.g. /v1/messaging. Operation paths are relative to it.",
    )
    upstream_url = models.CharField(
        max_length=500,
        validators=[validate_upstream_url],
        help_text="Base URL of the operator's API; the operation's path is appended to it.",
    )
    upstream_auth_header = models.CharField(
        max_length=100,
        blank=True,
        validators=[validate_auth_header],
        help_text="Header that carries the upstream credential, e.g. Authorization or X-Api-Key.",
    )
    upstream_auth_secret = EncryptedTextField(purpose="product-upstream-secret", blank=True)
    connect_timeout_s = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("5"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("60"))],
    )
    read_timeout_s = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("30"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("600"))],
    )
    max_request_bytes = models.PositiveBigIntegerField(
        default=10 * MIB, validators=[MinValueValidator(1), MaxValueValidator(MAX_BODY_BYTES)]
    )
    max_response_bytes = models.PositiveBigIntegerField(
        default=50 * MIB, validators=[MinValueValidator(1), MaxValueValidator(MAX_BODY_BYTES)]
    )
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PUBLIC)
    organizations = models.ManyToManyField(
        Organization,
        blank=True,
        related_name="private_products",
        help_text="The organizations a private product is visible to.",
    )
    plans = models.ManyToManyField(
        Plan, blank=True, related_name="products", help_text="Plans that include this product; none = every plan."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # The database's copy of validate_base_path (overlap between products is checked by
            # products.services under a lock: it needs the other rows).
            models.CheckConstraint(
                condition=Q(base_path__regex=r"^/v1(/[A-Za-z0-9._~-]+)+$") & ~Q(base_path__regex=r"/\.\.?(/|$)"),
                name="product_base_path_valid",
            ),
            models.CheckConstraint(condition=Q(upstream_url__regex=r"^https?://[^/?#]+"), name="product_upstream_http"),
            models.CheckConstraint(
                condition=Q(connect_timeout_s__gt=0, connect_timeout_s__lte=60)
                & Q(read_timeout_s__gt=0, read_timeout_s__lte=600),
                name="product_timeouts_sane",
            ),
            models.CheckConstraint(
                condition=Q(max_request_bytes__gte=1, max_request_bytes__lte=MAX_BODY_BYTES)
                & Q(max_response_bytes__gte=1, max_response_bytes__lte=MAX_BODY_BYTES),
                name="product_size_limits_sane",
            ),
            models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name="product_visibility_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class DocumentFormat(models.TextChoices):
    JSON = "json", "JSON"
    YAML = "yaml", "YAML"


class ApiDocument(models.Model):
    """One imported version of a product's OpenAPI document, as sent and as parsed."""

    product = models.ForeignKey(ApiProduct, on_delete=models.CASCADE, related_name="documents")
    version = models.PositiveIntegerField(help_text="1, 2, 3… per product, in import order.")
    format = models.CharField(max_length=4, choices=DocumentFormat.choices)
    source = models.TextField()
    parsed = models.JSONField()
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_current = models.BooleanField(default=False)

    class Meta:
        ordering = ["product", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["product", "version"], name="document_version_unique"),
            models.UniqueConstraint(fields=["product"], condition=Q(is_current=True), name="document_one_current"),
            models.CheckConstraint(condition=Q(version__gte=1), name="document_version_positive"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="document_sha256_hex"),
            models.CheckConstraint(condition=Q(format__in=DocumentFormat.values), name="document_format_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.product.slug} v{self.version}"


class HttpMethod(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    HEAD = "HEAD"
    OPTIONS = "OPTIONS"


class UnitRule(models.TextChoices):
    FIXED = "fixed", "Fixed units per call"
    REQUEST_JSON_ARRAY_LENGTH = "request_json_array_length", "Length of a JSON array in the request"
    REQUEST_FORM_FIELD_COUNT = "request_form_field_count", "Count of a repeated form field in the request"
    RESPONSE_HEADER = "response_header", "Reported by the upstream in a response header"
    RESPONSE_JSON_FIELD = "response_json_field", "Reported by the upstream in a numeric JSON field"
    FREE = "free", "Free"


# Rules whose unit source names something that must exist (a JSON pointer may be "" = the body).
RULES_NEEDING_NAMED_SOURCE = (UnitRule.REQUEST_FORM_FIELD_COUNT, UnitRule.RESPONSE_HEADER)
RULES_WITHOUT_SOURCE = (UnitRule.FIXED, UnitRule.FREE)
# Rules whose units are only known after the upstream answered: the gateway reserves max_units.
RULES_REPORTED = (UnitRule.RESPONSE_HEADER, UnitRule.RESPONSE_JSON_FIELD)
# The fields of an Operation that come from the imported document (the rest is the operator's
# pricing and switches): what a re-import copies, what the diff compares, what the admin shows.
DOCUMENT_FIELDS = (
    "method",
    "path_template",
    "summary",
    "description",
    "tag",
    "parameters",
    "request_body",
    "responses",
    "fingerprint",
)


class Operation(models.Model):
    """One (method, path template) of a product, as imported, plus the operator's price rule.

    ``meter`` is null exactly when the rule is ``free``. ``path_template`` is relative to the
    product's base path. ``fingerprint`` hashes what the importer compares between versions
    (``<own fields>:<referenced components>``, see ``products.importer``).
    """

    product = models.ForeignKey(ApiProduct, on_delete=models.CASCADE, related_name="operations")
    operation_id = models.CharField(max_length=200)
    method = models.CharField(max_length=7, choices=HttpMethod.choices)
    path_template = models.CharField(max_length=1000)
    summary = models.TextField(blank=True)
    description = models.TextField(blank=True)
    tag = models.CharField(max_length=120, blank=True)
    parameters = models.JSONField(default=list, blank=True)
    request_body = models.JSONField(null=True, blank=True)
    responses = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=129, blank=True)
    meter = models.ForeignKey(Meter, null=True, blank=True, on_delete=models.PROTECT, related_name="api_operations")
    unit_rule = models.CharField(max_length=32, choices=UnitRule.choices, default=UnitRule.FREE)
    units_fixed = models.PositiveIntegerField(default=1)
    unit_source = models.CharField(max_length=200, blank=True)
    max_units = models.PositiveIntegerField(
        default=100,
        validators=[MinValueValidator(1)],
        help_text="Units reserved before the upstream reports the real count.",
    )
    required_scope = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "tag", "path_template", "method"]
        constraints = [
            models.UniqueConstraint(fields=["product", "operation_id"], name="operation_id_unique_per_product"),
            models.UniqueConstraint(
                fields=["product", "method", "path_template"],
                condition=Q(removed_at__isnull=True),
                name="operation_route_unique_per_product",
            ),
            models.CheckConstraint(condition=Q(method__in=HttpMethod.values), name="operation_method_valid"),
            models.CheckConstraint(condition=Q(path_template__startswith="/"), name="operation_path_absolute"),
            models.CheckConstraint(condition=~Q(operation_id=""), name="operation_id_not_empty"),
            models.CheckConstraint(condition=~Q(required_scope=""), name="operation_scope_not_empty"),
            models.CheckConstraint(condition=Q(unit_rule__in=UnitRule.values), name="operation_unit_rule_valid"),
            # Free ⇔ no meter: the catalogue never has to guess which of the two wins.
            models.CheckConstraint(
                condition=Q(unit_rule=UnitRule.FREE, meter__isnull=True)
                | (~Q(unit_rule=UnitRule.FREE) & Q(meter__isnull=False)),
                name="operation_free_iff_no_meter",
            ),
            models.CheckConstraint(
                condition=~Q(unit_rule__in=RULES_WITHOUT_SOURCE) | Q(unit_source=""),
                name="operation_source_unused_for_fixed_and_free",
            ),
            models.CheckConstraint(
                condition=~Q(unit_rule__in=RULES_NEEDING_NAMED_SOURCE) | ~Q(unit_source=""),
                name="operation_source_named",
            ),
            models.CheckConstraint(condition=Q(max_units__gte=1), name="operation_max_units_positive"),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | Q(enabled=False), name="operation_removed_disabled"
            ),
        ]
        indexes = [models.Index(fields=["product", "tag"], name="operation_product_tag")]

    def __str__(self) -> str:
        return f"{self.product_id}:{self.operation_id}"

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            self.unit_source = unit_source_normalize(self.unit_rule, self.unit_source)
        except ValidationError as exc:
            errors["unit_source"] = exc.messages
        if (self.unit_rule == UnitRule.FREE) != (self.meter_id is None):
            errors["meter"] = ["Choose a meter for a priced rule, or the free rule without a meter."]
        if errors:
            raise ValidationError(errors)

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None
