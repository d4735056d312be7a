"""Sign up in real Chromium: the form, the verification email, login, the dashboard."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from accounts.models import Membership

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    # The live server runs in this process: its emails land in django.core.mail.outbox.
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.SITE_URL = "http://testserver.invalid"  # links are rebased onto live_server below
    mail.outbox = []


def _verification_path(message) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_signup_verify_login_dashboard(page, live_server, artifacts_dir):
    console_errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            console_errors.append(msg.text) if msg.type == "error" and "Content Security Policy" in msg.text else None
        ),
    )

    page.goto(live_server.url + "/")
    page.get_by_role("button", name="Get a free API key").click()  # a link styled as a button
    page.get_by_label("Email").fill("newdev@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.screenshot(path=str(artifacts_dir / "signup.png"), full_page=True)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/accounts/confirm-email/")
    assert page.get_by_role("heading", name="Verify Your Email Address").is_visible()

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newdev@example.com"]
    page.goto(live_server.url + _verification_path(mail.outbox[0]))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/dashboard/")

    # Log out and back in with the verified address.
    page.get_by_text("newdev's organization").first.click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server.url + "/")
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("newdev@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.screenshot(path=str(artifacts_dir / "login.png"), full_page=True)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")
    assert page.get_by_role("heading", name="newdev's organization").is_visible()
    assert page.locator("#card-keys").is_visible()
    page.wait_for_timeout(300)  # let the htmx cards settle
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)

    assert Membership.objects.get(user__email="newdev@example.com").organization.is_personal
    assert console_errors == []


@pytest.mark.django_db(transaction=True)
def test_mobile_navigation_opens_and_closes(page, live_server, artifacts_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/")
    toggle = page.get_by_role("button", name="Menu")
    assert toggle.is_visible()
    menu = page.locator("#site-nav")
    assert not menu.is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert menu.is_visible()
    assert menu.get_by_role("link", name="Log in").is_visible()
    page.screenshot(path=str(artifacts_dir / "mobile-nav.png"))
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not menu.is_visible()
