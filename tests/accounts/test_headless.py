"""allauth headless (/_allauth/…): JSON sign-up, verification and login for SPAs and scripts."""

from __future__ import annotations

import json
import re

import pytest

from accounts.models import Membership, User
from tests.accounts.helpers import PASSWORD

pytestmark = pytest.mark.django_db


def _post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def _key_from(message) -> str:
    match = re.search(r"/accounts/confirm-email/([^/\s]+)/", message.body)
    assert match, message.body
    from urllib.parse import unquote

    return unquote(match.group(1))


def test_browser_client_signup_verify_and_session(client, mailoutbox):
    response = _post(client, "/_allauth/browser/v1/auth/signup", {"email": "spa@example.com", "password": PASSWORD})
    assert response.status_code == 401  # signed up, but a flow is pending
    flows = {f["id"]: f for f in response.json()["data"]["flows"]}
    assert flows["verify_email"]["is_pending"] is True
    assert Membership.objects.filter(user__email="spa@example.com", organization__is_personal=True).exists()

    response = _post(client, "/_allauth/browser/v1/auth/email/verify", {"key": _key_from(mailoutbox[0])})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"]["is_authenticated"] is True
    assert body["data"]["user"]["email"] == "spa@example.com"
    # The same browser session now opens the HTML dashboard too.
    assert client.get("/dashboard/").status_code == 200


def test_app_client_login_returns_a_session_token(client, mailoutbox):
    response = _post(client, "/_allauth/app/v1/auth/signup", {"email": "cli@example.com", "password": PASSWORD})
    assert response.status_code == 401
    token = response.json()["meta"]["session_token"]
    response = _post(
        client, "/_allauth/app/v1/auth/email/verify", {"key": _key_from(mailoutbox[0])}, X_Session_Token=token
    )
    assert response.status_code == 200, response.content

    client.cookies.clear()
    bad = _post(client, "/_allauth/app/v1/auth/login", {"email": "cli@example.com", "password": "wrong-password-9"})
    assert bad.status_code == 400
    login = _post(client, "/_allauth/app/v1/auth/login", {"email": "cli@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.content
    session_token = login.json()["meta"]["session_token"]

    client.cookies.clear()
    session = client.get("/_allauth/app/v1/auth/session", headers={"X-Session-Token": session_token})
    assert session.status_code == 200
    assert session.json()["data"]["user"]["email"] == "cli@example.com"
    assert client.get("/_allauth/app/v1/auth/session").status_code == 401
    assert User.objects.get(email="cli@example.com").emailaddress_set.get().verified
