"""TOTP two-factor authentication with recovery codes, through allauth.mfa's real views."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

from tests.accounts.helpers import PASSWORD, totp_now
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _login(client, user):
    return client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})


def _reauthenticate(client):
    """Security settings ask for the password again (allauth's reauthentication)."""
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302


def _activate_totp(client) -> str:
    _reauthenticate(client)
    page = client.get("/accounts/2fa/totp/activate/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in html  # the QR code: allowed by img-src 'self' data:
    assert "script-src 'self' 'nonce-" in page["Content-Security-Policy"]
    secret = page.context["form"].secret
    response = client.post("/accounts/2fa/totp/activate/", {"code": totp_now(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return secret


def test_activating_totp_requires_a_valid_code(client):
    user = UserFactory()
    _login(client, user)
    assert client.get("/accounts/2fa/totp/activate/").status_code == 302  # asks for the password again
    _reauthenticate(client)
    page = client.get("/accounts/2fa/totp/activate/")
    response = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})
    assert response.status_code == 200
    assert b"Incorrect code" in response.content
    assert not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert page.status_code == 200


def test_totp_is_required_at_the_next_login(client):
    user = UserFactory()
    _login(client, user)
    secret = _activate_totp(client)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    client.post("/accounts/logout/")

    response = _login(client, user)
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/authenticate/"
    assert client.get("/dashboard/").status_code == 302  # password alone is not enough

    wrong = client.post("/accounts/2fa/authenticate/", {"code": "123456" if totp_now(secret) != "123456" else "654321"})
    assert wrong.status_code == 200
    assert client.get("/dashboard/").status_code == 302

    # The code from the same 30 s step may already have been used at activation (replay
    # protection); the next step's code is valid within allauth's tolerance window.
    import time

    for at in (time.time() + 30, time.time()):
        response = client.post("/accounts/2fa/authenticate/", {"code": totp_now(secret, at=at)})
        if response.status_code == 302:
            break
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200


def test_a_recovery_code_signs_in_once(client):
    user = UserFactory()
    _login(client, user)
    _activate_totp(client)
    codes_page = client.get("/accounts/2fa/recovery-codes/")
    assert codes_page.status_code == 200
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    code = RecoveryCodes(authenticator).get_unused_codes()[0]
    assert code in codes_page.content.decode()
    client.post("/accounts/logout/")

    _login(client, user)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")

    _login(client, user)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200  # used up
    assert client.get("/dashboard/").status_code == 302
