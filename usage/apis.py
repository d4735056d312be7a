"""The customer usage API, scoped to the active organization: the browser session, or a personal
access token with the ``usage:read`` scope (``scope_area``)."""

from __future__ import annotations

import csv
import itertools
from datetime import UTC, datetime, timedelta

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import OrgCapability
from usage import selectors
from usage.models import Granularity

# Hourly resolution for the last week or so; beyond that a chart of 700+ bars per group is
# unreadable and the response large, so longer ranges are daily.
MAX_HOURLY_RANGE = timedelta(days=8)
MAX_RANGE = timedelta(days=400)
WINDOWS = ("24h", "7d", "30d", "period")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class RangeInput(serializers.Serializer):
    window = serializers.ChoiceField(
        choices=WINDOWS, required=False, help_text="A preset range; ignored when `from` and `to` are given."
    )
    from_ = serializers.DateTimeField(required=False, help_text="Start (inclusive), ISO 8601; default: 24 h ago.")
    to = serializers.DateTimeField(required=False, help_text="End (exclusive), ISO 8601; default: now.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs):
        org_id = self.context["org_id"]
        start, end = attrs.get("from"), attrs.get("to")
        if start is None and end is None:
            start, end, granularity = selectors.default_range(attrs.get("window", "24h"), org_id=org_id)
            attrs.setdefault("granularity", granularity)
        else:
            end = _aware(end) if end else datetime.now(UTC)
            start = _aware(start) if start else end - timedelta(hours=24)
        if start >= end:
            raise serializers.ValidationError({"from": "must be before `to`."})
        if end - start > MAX_RANGE:
            raise serializers.ValidationError({"to": f"the range may span at most {MAX_RANGE.days} days."})
        attrs["start"], attrs["end"] = start, end
        return attrs


class UsageQueryInput(RangeInput):
    granularity = serializers.ChoiceField(
        choices=Granularity.choices, required=False, help_text="hour or day; default: hour up to 48 h, else day."
    )
    key = serializers.CharField(required=False, max_length=64, help_text="Only this API key (its visible prefix).")
    operation = serializers.CharField(required=False, max_length=128, help_text="Only this operation id.")
    group_by = serializers.ChoiceField(
        choices=list(selectors.GROUPS),
        required=False,
        help_text="Split the series: key, operation, status_class or meter.",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        span = attrs["end"] - attrs["start"]
        granularity = attrs.get("granularity") or (Granularity.HOUR if span <= timedelta(hours=48) else Granularity.DAY)
        if granularity == Granularity.HOUR and span > MAX_HOURLY_RANGE:
            raise serializers.ValidationError(
                {"granularity": f"hourly data spans at most {MAX_HOURLY_RANGE.days} days; use day."}
            )
        attrs["granularity"] = granularity
        if granularity == Granularity.DAY:  # daily buckets start at midnight UTC
            attrs["start"] = attrs["start"].astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            attrs["start"] = attrs["start"].astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        return attrs


class PointOutput(serializers.Serializer):
    bucket = serializers.DateTimeField()
    group = serializers.CharField(required=False)
    requests = serializers.IntegerField()
    units = serializers.IntegerField()
    billable_units = serializers.IntegerField()
    errors = serializers.IntegerField()


class BreakdownOutput(serializers.Serializer):
    group = serializers.CharField()
    label = serializers.CharField(required=False, help_text="With group_by=key: the key's name and prefix.")
    requests = serializers.IntegerField()
    units = serializers.IntegerField()
    billable_units = serializers.IntegerField()
    errors = serializers.IntegerField()
    error_rate = serializers.FloatField()
    latency_avg_ms = serializers.FloatField(allow_null=True)
    latency_p50_ms = serializers.FloatField(allow_null=True)
    latency_p95_ms = serializers.FloatField(allow_null=True)


class UsageOutput(serializers.Serializer):
    from_ = serializers.DateTimeField()
    to = serializers.DateTimeField()
    granularity = serializers.CharField()
    group_by = serializers.CharField(allow_null=True)
    totals = BreakdownOutput()
    series = PointOutput(many=True)
    breakdown = BreakdownOutput(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class UsageApi(APIView):
    """Requests, units, errors and latency of the active organization over time."""

    permission_classes = [OrgCapability.of("view_usage")]
    scope_area = "usage"

    @extend_schema(
        operation_id="usage_query", parameters=[UsageQueryInput], responses={200: UsageOutput}, tags=["usage"]
    )
    def get(self, request):
        org_id = request.org.pk
        params = UsageQueryInput(data=request.query_params, context={"org_id": org_id})
        params.is_valid(raise_exception=True)
        q = params.validated_data
        query = {
            "org_id": org_id,
            "start": q["start"],
            "end": q["end"],
            "granularity": q["granularity"],
            "key": q.get("key"),
            "operation": q.get("operation"),
        }
        group_by = q.get("group_by")
        series = selectors.usage_series(**query, group_by=group_by)
        for point in series:  # thousands of points: format here rather than per-field serializers
            point["bucket"] = point["bucket"].isoformat().replace("+00:00", "Z")
        breakdown = selectors.usage_breakdown(**query, group_by=group_by) if group_by else []
        if group_by == "key":
            names = selectors.key_names(org_id=org_id, prefixes=[row["group"] for row in breakdown])
            for row in breakdown:
                row["label"] = f"{names[row['group']]} ({row['group']}…)" if row["group"] in names else row["group"]
        body = {
            "from": _iso(q["start"]),
            "to": _iso(q["end"]),
            "granularity": q["granularity"],
            "group_by": group_by,
            "totals": selectors.usage_breakdown(**query)[0],
            "series": series,
            "breakdown": breakdown,
        }
        return Response(body)  # shape documented by UsageOutput


class QuotaOutput(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    quota = serializers.IntegerField(allow_null=True, help_text="Requests per period; null = unlimited.")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)
    projected = serializers.IntegerField(help_text="Requests expected by the period end at the current pace.")


class UsageQuotaApi(APIView):
    """The current period's quota, what is used and what is projected."""

    permission_classes = [OrgCapability.of("view_usage")]
    scope_area = "usage"

    @extend_schema(operation_id="usage_quota", responses={200: QuotaOutput}, tags=["usage"])
    def get(self, request):
        status = selectors.quota_status(org_id=request.org.pk)
        return Response(
            QuotaOutput(
                {
                    "period_start": status.period_start,
                    "period_end": status.period_end,
                    "quota": status.quota,
                    "used": status.used,
                    "remaining": status.remaining,
                    "percent": status.percent,
                    "projected": status.projected,
                }
            ).data
        )


async def _in_main_thread(lines, chunk: int = 2000):
    """Stream a sync generator under ASGI without buffering it: pull chunks of lines in the
    one thread that owns the database connection (and the server-side cursor)."""

    def take():
        return "".join(itertools.islice(lines, chunk))

    while part := await sync_to_async(take, thread_sensitive=True)():
        yield part


class _Echo:
    def write(self, value):
        return value


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection");
# request ids, operation ids and meter codes are text the customer or operator chose.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """Neutralise text a spreadsheet would evaluate by prefixing a single quote; numbers stay
    numbers (a negative number is data, not a formula)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class UsageLedgerCsvApi(APIView):
    """The per-request ledger of a period as CSV (streamed). ``billable_units`` sums to the
    invoice's metered units for the same period. Default period: the current billing period."""

    permission_classes = [OrgCapability.of("view_usage")]
    scope_area = "usage"

    @extend_schema(
        operation_id="usage_ledger_csv",
        parameters=[RangeInput],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV ledger")},
        tags=["usage"],
    )
    def get(self, request):
        org_id = request.org.pk
        data = request.query_params.copy()
        if not any(k in data for k in ("from", "to", "window")):
            data["window"] = "period"
        params = RangeInput(data=data, context={"org_id": org_id})
        params.is_valid(raise_exception=True)
        start, end = params.validated_data["start"], params.validated_data["end"]
        writer = csv.writer(_Echo())

        def rows():
            yield writer.writerow(selectors.LEDGER_COLUMNS)
            for row in selectors.usage_ledger(org_id=org_id, start=start, end=end):
                yield writer.writerow((row[0].isoformat(), *map(csv_cell, row[1:])))

        content = rows()
        if isinstance(request._request, ASGIRequest):
            content = _in_main_thread(content)
        response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="usage-{request.org.slug}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}.csv"'
        )
        return response
