"""A revocation reaches the hot path even when Redis fails at the moment of revoking."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
import redis

from keys.cache import key_digest, local_cache_clear, redis_record_key
from keys.models import ApiKey
from keys.services import api_key_create, api_key_revoke, api_key_rotate
from keys.tasks import api_keys_propagate_pending_task
from plans.models import Plan
from tests.factories import subscribe
from tests.redis_trouble import closed_port, redis_at
from usage.entitlements import entitlements_publish

PATH = "/v1/demo/deliveries/trk_0123456789abcdef01234567"


@pytest.fixture
def working_key(demo_product, org, user):
    subscribe(org, Plan.objects.get(code="enterprise"))
    entitlements_publish(org_id=org.pk)
    local_cache_clear()
    key, raw = api_key_create(org=org, user=user, name="k", mode="live")
    yield key, raw
    local_cache_clear()


def call(client, raw) -> int:
    local_cache_clear()  # what another process sees once its memory copy is gone
    return client.get(PATH, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code


def test_revoke_while_redis_is_down_commits_and_the_sweep_propagates_it(
    client, working_key, settings, django_capture_on_commit_callbacks
):
    key, raw = working_key
    assert call(client, raw) == 200  # the key record is now cached in Redis too
    with redis_at(settings, f"redis://127.0.0.1:{closed_port()}/0"):
        with django_capture_on_commit_callbacks(execute=True):
            api_key_revoke(key=key)  # must not fail: the database is the source of truth
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert api_keys_propagate_pending_task() == 1
    assert call(client, raw) == 401
    assert api_keys_propagate_pending_task() == 0  # done: nothing left to send


def test_revoking_again_propagates_a_revocation_that_was_lost(
    client, working_key, settings, django_capture_on_commit_callbacks
):
    key, raw = working_key
    assert call(client, raw) == 200
    with redis_at(settings, f"redis://127.0.0.1:{closed_port()}/0"):
        with contextlib.suppress(redis.ConnectionError), django_capture_on_commit_callbacks(execute=True):
            api_key_revoke(key=key)
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key=key)  # the operator tries again
    assert call(client, raw) == 401


def test_rotation_while_redis_is_down_still_ends_the_old_key(
    client, working_key, settings, django_capture_on_commit_callbacks
):
    key, raw = working_key
    assert call(client, raw) == 200
    with redis_at(settings, f"redis://127.0.0.1:{closed_port()}/0"):
        with django_capture_on_commit_callbacks(execute=True):
            _, new_raw = api_key_rotate(key=key, overlap=timedelta(0))
    api_keys_propagate_pending_task()
    assert call(client, raw) == 401
    assert call(client, new_raw) == 200


def test_the_redis_copy_of_a_key_record_lives_five_minutes_at_most(client, working_key, redis_client):
    _, raw = working_key
    assert call(client, raw) == 200
    ttl = redis_client.ttl(redis_record_key(key_digest(raw)))
    assert 0 < ttl <= 300, ttl
