from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from keys.services import api_key_revoke, api_key_rotate
from tests.gateway.conftest import TRACKING

PATH = f"/v1/demo/deliveries/{TRACKING}"
pytestmark = pytest.mark.usefixtures("roomy")


def test_missing_key_is_401_problem(api):
    response = api.get(PATH)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Authentication required"
    assert response["X-Request-Id"]


def test_unknown_and_malformed_keys_are_401(api):
    assert api.get(PATH, "tg_live_" + "x" * 32).status_code == 401
    assert api.get(PATH, "nonsense").status_code == 401


def test_valid_key_by_bearer_or_x_api_key(api, live_key):
    _, raw = live_key
    response = api.get(PATH, raw)
    assert response.status_code == 200, response.content
    assert response.json()["tracking_id"] == TRACKING
    assert response["X-Usage-Units"] == "1"
    assert response["X-Usage-Meter"] == "delivery.status_check"
    assert api.get(PATH, HTTP_X_API_KEY=raw).status_code == 200


def test_warm_key_costs_no_sql(api, live_key):
    _, raw = live_key
    assert api.get(PATH, raw).status_code == 200  # warms the caches
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert api.get(PATH, raw).status_code == 200
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_expired_key_is_refused(api, org, make_key):
    _key, raw = make_key(org, expires_at=timezone.now() + timedelta(seconds=1))
    assert api.get(PATH, raw).status_code == 200
    time.sleep(1.05)
    response = api.get(PATH, raw)
    assert response.status_code == 401
    assert response.json()["reason"] == "expired"


def test_revoked_key_is_refused_on_the_next_request_despite_warm_cache(
    api, live_key, django_capture_on_commit_callbacks
):
    key, raw = live_key
    assert api.get(PATH, raw).status_code == 200  # now cached in this process
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key=key)
    response = api.get(PATH, raw)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_rotation_keeps_old_key_during_overlap_then_refuses_it(api, live_key, django_capture_on_commit_callbacks):
    old, old_raw = live_key
    assert api.get(PATH, old_raw).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        new, new_raw = api_key_rotate(key=old, overlap=timedelta(seconds=1))
    assert new.rotated_from_id == old.pk
    assert api.get(PATH, old_raw).status_code == 200  # overlap
    assert api.get(PATH, new_raw).status_code == 200
    time.sleep(1.1)
    assert api.get(PATH, old_raw).status_code == 401
    assert api.get(PATH, new_raw).status_code == 200


def test_rotation_with_zero_overlap_refuses_old_key_at_once(api, live_key, django_capture_on_commit_callbacks):
    old, old_raw = live_key
    assert api.get(PATH, old_raw).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        _, new_raw = api_key_rotate(key=old, overlap=timedelta(0))
    assert api.get(PATH, old_raw).status_code == 401
    assert api.get(PATH, new_raw).status_code == 200


def test_scopes_limit_operations(api, org, make_key):
    _, raw = make_key(org, scopes=["delivery_status_get"])
    assert api.get(PATH, raw).status_code == 200
    response = api.post("/v1/demo/sms", raw, {"to": ["+2348012345678"], "message": "hi"})
    assert response.status_code == 403
    assert response.json()["operation"] == "sms_send"


def test_wrong_method_is_405(api, live_key):
    _, raw = live_key
    assert api.get("/v1/demo/sms", raw).status_code == 405
