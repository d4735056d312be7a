"""The usage API, CSV, pages: validation as problem+json, and another org's usage never shows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import MembershipFactory
from tests.usage.conftest import admit, ingest, make_event

NOW = datetime.now(UTC)


@pytest.fixture
def two_orgs_usage(db, redis_client, org, other_org, free_plan):
    admit(org.pk, 8)  # what the hot path counted for the 8 requests below (before their events are stored)
    admit(other_org.pk, 5)
    ingest(
        redis_client,
        [make_event(org.pk, request_id=f"mine{i}", key="tg_live_mine", operation="sms_send") for i in range(7)]
        + [make_event(org.pk, status=503, request_id="mine-err", key="tg_live_mine", operation="sms_send")],
    )
    ingest(
        redis_client,
        [
            make_event(other_org.pk, request_id=f"theirs{i}", key="tg_live_them", operation="secret_op", units=100)
            for i in range(5)
        ],
    )
    return org, other_org


def test_usage_api_returns_series_totals_and_breakdown(member_client, two_orgs_usage):
    response = member_client.get("/api/usage/", {"window": "24h", "group_by": "key"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["granularity"] == "hour"
    assert body["totals"]["requests"] == 8
    assert body["totals"]["errors"] == 1
    assert body["totals"]["latency_p95_ms"] is not None
    assert sum(p["requests"] for p in body["series"]) == 8
    assert [row["group"] for row in body["breakdown"]] == ["tg_live_mine"]


def test_usage_api_filters_by_key_and_operation(member_client, two_orgs_usage):
    assert member_client.get("/api/usage/", {"key": "tg_live_other"}).json()["totals"]["requests"] == 0
    assert member_client.get("/api/usage/", {"operation": "sms_send"}).json()["totals"]["requests"] == 8
    day = member_client.get("/api/usage/", {"from": (NOW - timedelta(days=3)).isoformat(), "granularity": "day"}).json()
    assert day["granularity"] == "day" and day["totals"]["requests"] == 8


def test_another_orgs_usage_is_never_visible(member_client, two_orgs_usage):
    _, _other = two_orgs_usage
    for group_by in ("key", "operation", "meter", "status_class"):
        body = member_client.get("/api/usage/", {"window": "30d", "group_by": group_by}).json()
        assert body["totals"]["requests"] == 8
        assert "tg_live_them" not in str(body) and "secret_op" not in str(body)
    # Filtering by the other org's key shows nothing rather than their data.
    assert member_client.get("/api/usage/", {"key": "tg_live_them"}).json()["totals"]["requests"] == 0
    csv_body = b"".join(member_client.get("/api/usage/ledger.csv", {"window": "30d"}).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(csv_body)))
    assert len(rows) == 8 and {r["api_key_prefix"] for r in rows} == {"tg_live_mine"}
    page = member_client.get("/usage/").content.decode()
    assert "secret_op" not in page and "tg_live_them" not in page


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "yesterday"}, "from"),
        ({"granularity": "minute"}, "granularity"),
        ({"group_by": "org"}, "group_by"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z", "granularity": "hour"}, "granularity"),
    ],
)
def test_bad_parameters_are_problem_json(member_client, free_plan, params, field):
    response = member_client.get("/api/usage/", params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in str(response.json())


def test_usage_api_requires_sign_in(client, db):
    response = client.get("/api/usage/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


def test_quota_api_reports_remaining_and_projection(member_client, two_orgs_usage):
    body = member_client.get("/api/usage/quota/").json()
    assert body["quota"] == 100
    assert body["used"] == 8  # live requests this period
    assert body["remaining"] == 92
    assert body["projected"] >= 8


def test_dashboard_page_and_card_render(member_client, two_orgs_usage):
    page = member_client.get("/usage/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "chart.umd.min.js" in html and "usage/dashboard.js" in html
    assert "No requests yet" not in html
    card = member_client.get("/usage/card/").content.decode()
    assert 'id="card-usage"' in card and "92" in card


def test_dashboard_empty_state_explains_the_first_call(member_client, free_plan):
    html = member_client.get("/usage/").content.decode()
    assert "No requests yet" in html and "Authorization: Bearer" in html


def test_billing_role_may_view_usage(client, org, free_plan):
    member = MembershipFactory(organization=org, role="billing").user
    client.force_login(member)
    session = client.session
    session["active_org_id"] = org.pk
    session.save()
    assert client.get("/api/usage/").status_code == 200


def test_beat_drain_task_makes_a_new_request_visible_on_the_dashboard_api(member_client, org, free_plan, redis_client):
    from tests.usage.conftest import produce
    from usage.tasks import usage_ingest_drain

    assert member_client.get("/api/usage/").json()["totals"]["requests"] == 0
    produce(redis_client, [make_event(org.pk, request_id="first-call")])
    usage_ingest_drain()  # what beat runs every 2 s; it enqueues the rollup of touched slices
    assert member_client.get("/api/usage/").json()["totals"]["requests"] == 1
    assert redis_client.get("usage:ingest:drain-lock") is None
