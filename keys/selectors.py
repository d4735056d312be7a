"""Reads for API keys, always scoped to an organization (another org's key is a 404)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from keys.models import ApiKey


def api_keys_for_org(*, org) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=org).select_related("created_by", "rotated_from")


def api_key_get(*, org, key_id) -> ApiKey:
    try:
        return ApiKey.objects.select_related("created_by").get(organization=org, pk=int(key_id))
    except (ApiKey.DoesNotExist, ValueError, TypeError):
        raise Http404("No such API key.") from None
