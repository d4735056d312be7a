"""Sign-up with mandatory email verification, login, logout, password change and reset."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from accounts.models import Membership, Role, User
from tests.accounts.helpers import NEW_PASSWORD, PASSWORD, link_in, path_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _signup(client, email="new@example.com", password=PASSWORD):
    return client.post("/accounts/signup/", {"email": email, "password1": password, "password2": password})


def test_signup_sends_verification_email_and_creates_personal_org(client, mailoutbox):
    response = _signup(client)
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    user = User.objects.get(email="new@example.com")
    assert user.check_password(PASSWORD)
    assert user.password.startswith("argon2")
    membership = Membership.objects.get(user=user)
    assert membership.role == Role.OWNER and membership.organization.is_personal
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new@example.com"]
    assert "/accounts/confirm-email/" in mailoutbox[0].body
    assert EmailAddress.objects.get(user=user).verified is False


def test_unverified_user_cannot_reach_the_dashboard(client, mailoutbox):
    _signup(client)
    client.logout()
    response = client.post("/accounts/login/", {"login": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/dashboard/").status_code == 302  # not signed in


def test_following_the_verification_link_verifies_and_signs_in(client, mailoutbox):
    _signup(client)
    confirm_path = path_of(link_in(mailoutbox[0], r"/accounts/confirm-email/"))
    page = client.get(confirm_path)
    assert page.status_code == 200
    assert b"Confirm" in page.content
    response = client.post(confirm_path)
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="new@example.com").verified is True
    dashboard = client.get("/dashboard/")
    assert dashboard.status_code == 200
    assert "new&#x27;s organization" in dashboard.content.decode()


def test_signup_errors_are_shown_on_the_form(client):
    UserFactory(email="taken@example.com")
    response = client.post(
        "/accounts/signup/", {"email": "taken@example.com", "password1": "short", "password2": "other"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "too short" in html or "same password" in html
    assert 'aria-invalid="true"' in html
    assert 'class="field-error"' in html
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_login_and_logout(client):
    user = UserFactory()
    response = client.post("/accounts/login/", {"login": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    client.post("/accounts/logout/")
    assert client.get("/dashboard/").status_code == 302


def test_wrong_password_is_refused_with_a_form_error(client):
    user = UserFactory()
    response = client.post("/accounts/login/", {"login": user.email, "password": "nope-nope-nope"})
    assert response.status_code == 200
    assert b"not correct" in response.content


def test_failed_logins_are_rate_limited_in_redis(client, redis_client):
    user = UserFactory()
    for _ in range(5):
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-password-1"})
    assert any(b"rl" in key or b"ratelimit" in key or b"allauth" in key for key in redis_client.keys("*")), (
        redis_client.keys("*")
    )
    # Even the right password is refused now: the per-account limit (5 per 5 minutes) is spent.
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code in (200, 429)
    assert b"Too many" in response.content
    assert client.get("/dashboard/").status_code == 302


def test_password_change(client):
    user = UserFactory()
    client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    response = client.post(
        "/accounts/password/change/", {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_password_reset_by_email(client, mailoutbox):
    user = UserFactory()
    response = client.post("/accounts/password/reset/", {"email": user.email})
    assert response.status_code == 302
    reset_path = path_of(link_in(mailoutbox[0], r"/accounts/password/reset/key/"))
    form_page = client.get(reset_path, follow=True)
    assert form_page.status_code == 200
    set_path = form_page.redirect_chain[-1][0] if form_page.redirect_chain else reset_path
    response = client.post(set_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.post("/accounts/login/", {"login": staff.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_signing_up_with_a_taken_address_does_not_reveal_it(client, mailoutbox):
    """Enumeration prevention: the page looks like a normal signup; the owner gets an email."""
    UserFactory(email="taken@example.com")
    response = _signup(client, email="Taken@example.com")
    assert response.status_code == 302
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert mailoutbox and mailoutbox[0].to[0].lower() == "taken@example.com"
