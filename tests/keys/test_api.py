from __future__ import annotations

import pytest

from keys.models import ApiKey
from keys.services import api_key_create
from plans.models import Plan
from tests.factories import subscribe
from tests.gateway.conftest import TRACKING

GATEWAY = f"/v1/demo/deliveries/{TRACKING}"


def create(client, **data):
    data.setdefault("name", "Server")
    return client.post("/api/keys/create/", data, content_type="application/json")


def test_create_returns_secret_once_and_it_works_on_the_gateway(member_client, client, org, user):
    response = create(member_client, mode="live")
    assert response.status_code == 201
    body = response.json()
    assert body["key"].startswith("tg_live_") and len(body["key"]) == 40
    assert body["prefix"] == body["key"][:16] and body["status"] == "active"
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.organization == org and stored.created_by == user
    assert body["key"] not in (stored.digest, stored.prefix)  # only a digest is stored
    listed = member_client.get("/api/keys/").json()
    assert [k["id"] for k in listed] == [body["id"]] and "key" not in listed[0]
    assert client.get(GATEWAY, HTTP_X_API_KEY=body["key"]).status_code == 200


def test_create_validates_input_as_problem_json(member_client):
    response = create(member_client, name="", mode="prod", scopes=["nope"])
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert set(response.json()["errors"]) == {"name", "mode", "scopes"}


def test_test_mode_and_scopes(member_client):
    body = create(member_client, mode="test", scopes=["sms_send"]).json()
    assert body["key"].startswith("tg_test_") and body["scopes"] == ["sms_send"]


def test_revoke_and_rotate(member_client, client, org, user, django_capture_on_commit_callbacks):
    subscribe(org, Plan.objects.get(code="enterprise"))
    key, raw = api_key_create(org=org, user=user, name="old", mode="live")
    assert client.get(GATEWAY, HTTP_X_API_KEY=raw).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        rotated = member_client.post(
            f"/api/keys/{key.pk}/rotate/", {"overlap_seconds": 3600}, content_type="application/json"
        )
    assert rotated.status_code == 201
    new = rotated.json()
    assert new["rotated_from"] == key.pk and new["key"] != raw
    assert member_client.get(f"/api/keys/{key.pk}/").json()["status"] == "rotating"
    assert client.get(GATEWAY, HTTP_X_API_KEY=raw).status_code == 200  # inside the overlap
    with django_capture_on_commit_callbacks(execute=True):
        revoked = member_client.post(f"/api/keys/{key.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.get(GATEWAY, HTTP_X_API_KEY=raw).status_code == 401
    assert client.get(GATEWAY, HTTP_X_API_KEY=new["key"]).status_code == 200
    again = member_client.post(f"/api/keys/{key.pk}/rotate/", {}, content_type="application/json")
    assert again.status_code == 409


def test_billing_role_can_list_but_not_create_or_revoke(billing_client, org, user):
    key, _ = api_key_create(org=org, user=user, name="k")
    assert billing_client.get("/api/keys/").status_code == 200
    assert create(billing_client).status_code == 403
    assert billing_client.post(f"/api/keys/{key.pk}/revoke/").status_code == 403
    assert billing_client.post(f"/api/keys/{key.pk}/rotate/").status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None


def test_anonymous_is_refused(client):
    assert client.get("/api/keys/").status_code in (401, 403)


@pytest.mark.parametrize("action", ["", "revoke/", "rotate/"])
def test_another_organizations_key_is_a_404(member_client, other_org, action):
    foreign, _ = api_key_create(org=other_org, name="theirs")
    url = f"/api/keys/{foreign.pk}/{action}"
    response = member_client.get(url) if not action else member_client.post(url, {}, content_type="application/json")
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None and foreign.overlap_until is None
    assert member_client.get("/api/keys/").json() == []
