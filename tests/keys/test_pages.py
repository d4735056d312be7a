from __future__ import annotations

from keys.models import ApiKey
from keys.services import api_key_create


def test_key_page_lists_only_this_organizations_keys(member_client, org, other_org):
    api_key_create(org=org, name="Mine")
    api_key_create(org=other_org, name="Theirs")
    page = member_client.get("/keys/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Mine" in html and "Theirs" not in html
    assert "Create a key" in html and "keys/copy.js" in html


def test_create_with_htmx_shows_the_secret_once(member_client, org):
    response = member_client.post("/keys/create/", {"name": "CI", "mode": "test"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    key = ApiKey.objects.get(organization=org)
    assert 'id="keys-panel"' in html and "<html" not in html
    secret = html.split('id="new-key-secret">')[1].split("<")[0]
    assert secret.startswith("tg_test_") and secret[:16] == key.prefix
    assert 'data-copy-target="new-key-secret"' in html
    assert secret not in member_client.get("/keys/").content.decode()  # never shown again


def test_create_form_errors_are_friendly(member_client, org):
    response = member_client.post(
        "/keys/create/", {"name": "", "mode": "test", "expires_at": "2001-01-01T00:00"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "This field is required." in html and "Choose a time in the future." in html
    assert not ApiKey.objects.filter(organization=org).exists()


def test_revoke_and_rotate_from_the_page(member_client, org):
    key, _ = api_key_create(org=org, name="Prod", mode="live")
    rotated = member_client.post(f"/keys/{key.pk}/rotate/", {"overlap_seconds": "3600"}, HTTP_HX_REQUEST="true")
    assert rotated.status_code == 200 and "Replacement key" in rotated.content.decode()
    key.refresh_from_db()
    assert key.status == "rotating"
    revoked = member_client.post(f"/keys/{key.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert revoked.status_code == 200
    key.refresh_from_db()
    assert key.status == "revoked"


def test_billing_role_sees_keys_but_cannot_manage_them(billing_client, org):
    key, _ = api_key_create(org=org, name="Prod")
    html = billing_client.get("/keys/").content.decode()
    assert "Prod" in html and "Create a key" not in html and "Revoke" not in html
    assert billing_client.post("/keys/create/", {"name": "x", "mode": "test"}).status_code == 403
    assert billing_client.post(f"/keys/{key.pk}/revoke/").status_code == 403


def test_other_organizations_key_is_404_on_pages(member_client, other_org):
    foreign, _ = api_key_create(org=other_org, name="Theirs")
    assert member_client.post(f"/keys/{foreign.pk}/revoke/").status_code == 404
    assert member_client.post(f"/keys/{foreign.pk}/rotate/", {"overlap_seconds": "0"}).status_code == 404


def test_dashboard_card(member_client, org):
    empty = member_client.get("/keys/card/").content.decode()
    assert 'id="card-keys"' in empty and "Create a key" in empty
    api_key_create(org=org, name="a", mode="live")
    api_key_create(org=org, name="b", mode="test")
    card = member_client.get("/keys/card/").content.decode()
    assert "1 live · 1 test" in card
