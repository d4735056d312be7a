"""Entitlements: the plan limits the admission script enforces, published from PostgreSQL to Redis.

``{org:N}:ent`` (a hash: plan, rps, rpm, quota, policy, grace, pstart, pend) is what
``lua/admit.lua`` reads on every request. It is written here, after every subscription change
and whenever the script finds it missing (a cold organization, or a new billing period), and
expires after ``ENTITLEMENTS_TTL`` as a safety net for edits made behind the app's back.

Publishing also makes sure the period's quota counter (``{org:N}:quota``) exists: when Redis
lost it (a restart without persistence) it is rebuilt from the requests PostgreSQL recorded
this period, so a restart never hands out a fresh monthly quota.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import connection

from plans.models import Plan
from plans.selectors import entitlements_for_org
from portal.redis import org_tag, redis_client

ENTITLEMENTS_TTL = 86_400
QUOTA_KEEP_AFTER_PERIOD = 40 * 86_400  # as admit.lua: a period's counter outlives it by 40 days


def entitlements_key(org_id: int) -> str:
    return f"{org_tag(org_id)}:ent"


def quota_key(org_id: int) -> str:
    return f"{org_tag(org_id)}:quota"


def window_key(org_id: int) -> str:
    return f"{org_tag(org_id)}:rl"


def _requests_recorded(*, org_id: int, since: int) -> int:
    """Requests of the organization PostgreSQL recorded since epoch ``since`` — the same count
    as ``usage.selectors.requests_in_period_db`` (not imported: selectors read the limiter)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM usage_event WHERE org_id = %s AND occurred_at >= %s",
            [org_id, datetime.fromtimestamp(since, tz=UTC)],
        )
        return cursor.fetchone()[0]


def entitlements_publish(*, org_id: int) -> dict[str, Any]:
    """Make the organization's current plan limits visible to the hot path immediately.

    Called after every subscription change (checkout confirmed, dunning downgrade, cancel,
    operator edit) so that "a plan change takes effect on the next request". Counters are
    kept, so an upgrade mid-period keeps the requests already used. Returns what was published.
    """
    entitlements = entitlements_for_org(org_id=org_id)
    key = entitlements_key(org_id)
    client = redis_client()
    pstart = entitlements["pstart"]
    pipe = client.pipeline(transaction=True)
    if not client.hexists(quota_key(org_id), pstart):
        # No counter for this period: a new period (PostgreSQL has nothing yet), or Redis lost
        # its data. HSETNX: an admission counted meanwhile is never overwritten.
        pipe.hsetnx(quota_key(org_id), pstart, _requests_recorded(org_id=org_id, since=pstart))
        pipe.expireat(quota_key(org_id), entitlements["pend"] + QUOTA_KEEP_AFTER_PERIOD)
    pipe.delete(key)
    # Missing fields mean "no limit" to the script: write only the limits that apply.
    pipe.hset(key, mapping={name: value for name, value in entitlements.items() if value is not None})
    pipe.expire(key, ENTITLEMENTS_TTL)
    pipe.execute()
    return entitlements


def plan_entitlements_refresh(*, plan: Plan) -> int:
    """After an operator edits a plan: drop every published copy of it so each organization
    picks up the new limits on its next request (the script asks for a missing hash)."""
    client = redis_client()
    dropped = 0
    for key in client.scan_iter(match="{org:*}:ent", count=1000):
        if client.hget(key, "plan") in (plan.code, plan.code.encode()):
            dropped += client.delete(key)
    return dropped
