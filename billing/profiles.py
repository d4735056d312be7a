"""The organization's billing profile: provider customer ids, saved card, dunning bookkeeping."""

from __future__ import annotations

from accounts.models import Organization
from billing.models import BillingProfile


def profile_for(org: Organization) -> BillingProfile:
    """The profile, created on first use (most organizations never pay)."""
    profile, _ = BillingProfile.objects.get_or_create(organization=org)
    return profile
