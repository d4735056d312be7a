"""`key.expiring`: customers hear once, a week ahead, that a key will stop working."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from keys.services import api_key_create, api_key_revoke, api_key_rotate, api_keys_notify_expiring
from webhooks.delivery import secret_new
from webhooks.models import CustomerEvent, WebhookEndpoint


def _listen(org):
    return WebhookEndpoint.objects.create(
        organization=org, url="https://hooks.example.com/tollgate", event_types=["key.expiring"], secret=secret_new()
    )


def test_expiring_key_is_announced_once_to_subscribed_endpoints(org, user, django_capture_on_commit_callbacks):
    _listen(org)
    now = timezone.now()
    soon, _ = api_key_create(org=org, user=user, name="soon", mode="live", expires_at=now + timedelta(days=3))
    api_key_create(org=org, user=user, name="later", mode="live", expires_at=now + timedelta(days=30))
    api_key_create(org=org, user=user, name="forever", mode="live")

    with django_capture_on_commit_callbacks():  # deliveries are enqueued, not sent, here
        assert api_keys_notify_expiring(now=now) == 1
        assert api_keys_notify_expiring(now=now + timedelta(hours=1)) == 0

    events = list(CustomerEvent.objects.filter(organization=org, type="key.expiring"))
    assert len(events) == 1
    assert events[0].data["key"]["id"] == soon.pk
    assert events[0].data["reason"] == "expiry"
    assert events[0].deliveries.count() == 1


def test_rotation_overlap_end_is_announced_and_revoked_keys_are_not(org, user, django_capture_on_commit_callbacks):
    _listen(org)
    old, _ = api_key_create(org=org, user=user, name="old", mode="live")
    api_key_rotate(key=old, overlap=timedelta(days=2), user=user)
    gone, _ = api_key_create(
        org=org, user=user, name="gone", mode="live", expires_at=timezone.now() + timedelta(days=1)
    )
    api_key_revoke(key=gone, user=user)

    with django_capture_on_commit_callbacks():
        assert api_keys_notify_expiring() == 1

    event = CustomerEvent.objects.get(organization=org, type="key.expiring")
    assert event.data["key"]["id"] == old.pk
    assert event.data["reason"] == "rotation"


def test_other_organizations_hear_nothing_about_my_keys(org, other_org, user, django_capture_on_commit_callbacks):
    _listen(other_org)
    api_key_create(org=org, user=user, name="soon", mode="live", expires_at=timezone.now() + timedelta(days=2))
    with django_capture_on_commit_callbacks():
        api_keys_notify_expiring()
    assert not CustomerEvent.objects.filter(organization=other_org).exists()
