"""The demo product (products/demo_openapi.yaml, served by devtools/demo_upstream.py) through
the gateway: units per its operations' rules, idempotency, and a hot path that runs no SQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import RequestFactory

from gateway.idempotency import request_fingerprint
from keys.models import ApiKey
from keys.services import api_key_rotate, api_keys_touch_last_used
from tests.gateway.catalogue_kit import problem_slug, stream_events
from tests.gateway.conftest import TRACKING, settle
from usage import limiter
from usage.limiter import quota_used
from usage.recorder import recorder

pytestmark = pytest.mark.usefixtures("roomy")
SMS = {"to": ["+2348012345678", "+2348098765432", "+14155550100"], "message": "Your code is 123456"}


def test_sms_charges_one_unit_per_recipient_and_records_the_event(api, org, live_key, redis_client):
    key, raw = live_key
    response = api.post("/v1/demo/sms", raw, SMS, HTTP_X_REQUEST_ID="req-abc-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["units"] == 3 and len(body["recipients"]) == 3 and body["livemode"] is True
    assert response["X-Usage-Units"] == "3" and response["X-Usage-Meter"] == "sms.sent"
    assert response["X-Request-Id"] == "req-abc-1"
    [event] = stream_events(redis_client)
    assert (event.org_id, event.api_key_id, event.operation_id, event.units, event.meter, event.status) == (
        org.pk,
        key.pk,
        "sms_send",
        3,
        "sms.sent",
        201,
    )
    assert event.request_id == "req-abc-1" and event.plan == "enterprise" and event.api_key_prefix == key.prefix
    status = api.get(f"/v1/demo/deliveries/{body['recipients'][0]['tracking_id']}", raw)
    assert status.status_code == 200 and status.json()["status"] in {"queued", "sent", "delivered", "failed"}
    assert status["X-Usage-Units"] == "1" and status["X-Usage-Meter"] == "delivery.status_check"


def test_a_test_key_reaches_the_demo_upstream_as_test(api, org, make_key):
    _, raw = make_key(org, mode="test")
    response = api.post("/v1/demo/sms", raw, {"to": ["+2348012345678"], "message": "hi"})
    assert response.status_code == 201 and response.json()["livemode"] is False


def test_invalid_input_is_a_400_problem_and_charges_no_units(api, org, live_key, redis_client):
    _, raw = live_key
    response = api.post("/v1/demo/sms", raw, {"to": ["0801"], "message": ""})
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert response["X-Usage-Units"] == "0"
    errors = response.json()["errors"]
    assert "to" in errors and "message" in errors
    assert api.get("/v1/demo/deliveries/not-a-tracking-id", raw).status_code == 400
    # Counted as requests (tests/gateway/test_bad_input.py), never as units.
    assert [(event.status, event.units) for event in stream_events(redis_client)] == [(400, 0), (400, 0)]


def test_completion_is_deterministic_and_charges_the_reported_tokens(api, live_key, redis_client):
    _, raw = live_key
    first = api.post("/v1/demo/ai/completions", raw, {"prompt": "Write a haiku about Lagos", "max_tokens": 20})
    second = api.post("/v1/demo/ai/completions", raw, {"prompt": "Write a haiku about Lagos", "max_tokens": 20})
    assert first.status_code == 200
    assert first.json()["text"] == second.json()["text"]
    usage = first.json()["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] <= 20 and usage["total_tokens"] > 1
    assert first["X-Usage-Units"] == str(usage["total_tokens"]) and first["X-Usage-Meter"] == "ai.tokens"
    assert [event.units for event in stream_events(redis_client)] == [usage["total_tokens"]] * 2


def test_idempotency_key_replays_the_response_without_charging_again(api, org, live_key, redis_client):
    _, raw = live_key
    first = api.post("/v1/demo/sms", raw, SMS, HTTP_IDEMPOTENCY_KEY="order-42")
    recorder.flush_all()  # the stored response is written right after the response
    replay = api.post("/v1/demo/sms", raw, SMS, HTTP_IDEMPOTENCY_KEY="order-42")
    assert replay.status_code == first.status_code == 201
    assert replay.content == first.content
    assert replay["Idempotent-Replayed"] == "true" and replay["X-Usage-Units"] == "0"
    assert "Idempotent-Replayed" not in first and first["X-Usage-Units"] == "3"
    assert quota_used(org_id=org.pk) == 1
    assert [event.units for event in stream_events(redis_client)] == [3]


def test_idempotency_key_reused_with_another_body_is_422(api, live_key):
    _, raw = live_key
    api.post("/v1/demo/sms", raw, SMS, HTTP_IDEMPOTENCY_KEY="order-43")
    recorder.flush_all()
    other = api.post("/v1/demo/sms", raw, {**SMS, "message": "different"}, HTTP_IDEMPOTENCY_KEY="order-43")
    assert other.status_code == 422 and problem_slug(other) == "idempotency-key-reused"


def test_idempotent_request_in_flight_is_a_conflict(api, org, live_key, redis_client):
    key, raw = live_key
    body = json.dumps(SMS).encode()
    fingerprint = request_fingerprint(RequestFactory().post("/v1/demo/sms", body, "application/json"), body)
    # The first request with this key is still at the upstream (admitted, answer not stored yet).
    first = limiter.admit(org_id=org.pk, key_id=key.pk, idem="k1", idem_scope=key.pk, fingerprint=fingerprint)
    assert first.admitted
    retry = api.post("/v1/demo/sms", raw, SMS, HTTP_IDEMPOTENCY_KEY="k1")
    assert retry.status_code == 409 and problem_slug(retry) == "idempotency-conflict"
    assert retry["Retry-After"] == "1"
    settle()
    assert quota_used(org_id=org.pk) == 1 and stream_events(redis_client) == []


def test_idempotency_is_scoped_to_the_organization(api, org, other_org, live_key, make_key):
    _, raw = live_key
    _, other_raw = make_key(other_org)
    api.post("/v1/demo/sms", raw, SMS, HTTP_IDEMPOTENCY_KEY="shared")
    recorder.flush_all()
    other = api.post("/v1/demo/sms", other_raw, SMS, HTTP_IDEMPOTENCY_KEY="shared")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other


def test_idempotency_keys_of_a_test_key_never_answer_a_live_key(api, org, make_key):
    _, test_raw = make_key(org, mode="test")
    _, live_raw = make_key(org, mode="live")
    test = api.post("/v1/demo/sms", test_raw, SMS, HTTP_IDEMPOTENCY_KEY="order-1")
    recorder.flush_all()
    live = api.post("/v1/demo/sms", live_raw, SMS, HTTP_IDEMPOTENCY_KEY="order-1")
    assert live.status_code == 201 and "Idempotent-Replayed" not in live
    assert (test.json()["livemode"], live.json()["livemode"]) == (False, True)


def test_idempotency_keys_are_scoped_per_api_key(api, org, make_key):
    _, first_raw = make_key(org, mode="live")
    _, second_raw = make_key(org, mode="live")
    api.post("/v1/demo/sms", first_raw, SMS, HTTP_IDEMPOTENCY_KEY="order-2")
    recorder.flush_all()
    other = api.post("/v1/demo/sms", second_raw, {**SMS, "message": "another service"}, HTTP_IDEMPOTENCY_KEY="order-2")
    assert other.status_code == 201 and "Idempotent-Replayed" not in other


def test_a_retry_with_the_rotated_key_is_still_deduplicated(api, org, make_key, django_capture_on_commit_callbacks):
    old, old_raw = make_key(org, mode="live")
    first = api.post("/v1/demo/sms", old_raw, SMS, HTTP_IDEMPOTENCY_KEY="order-3")
    recorder.flush_all()
    with django_capture_on_commit_callbacks(execute=True):
        _, new_raw = api_key_rotate(key=old, overlap=timedelta(hours=1))
    retry = api.post("/v1/demo/sms", new_raw, SMS, HTTP_IDEMPOTENCY_KEY="order-3")
    assert retry["Idempotent-Replayed"] == "true" and retry.content == first.content
    assert retry["X-Usage-Units"] == "0"


def test_a_warm_request_runs_no_sql_and_last_used_at_is_batched(api, live_key, django_assert_num_queries):
    key, raw = live_key
    path = f"/v1/demo/deliveries/{TRACKING}"
    assert api.get(path, raw).status_code == 200  # cold: catalogue, key and entitlements loaded
    with django_assert_num_queries(0):
        warm = api.get(path, raw)
    assert warm.status_code == 200 and warm["X-Usage-Units"] == "1"
    key.refresh_from_db()
    assert key.last_used_at is None  # no write on the hot path
    recorder.flush_all()
    assert api_keys_touch_last_used() == 1
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    assert api_keys_touch_last_used() == 0  # hash consumed
