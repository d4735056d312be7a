"""The members page in Chromium: htmx invite, role change and removal without page reloads."""

from __future__ import annotations

import pytest
from django.core import mail

from accounts.models import Invitation, Membership, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []


def _login(page, live_server, user):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/dashboard/")


def _settled(page) -> None:
    """Wait until htmx has finished swapping and settling (it wires new elements on settle)."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


@pytest.mark.django_db(transaction=True)
def test_owner_manages_the_team_with_htmx(page, live_server, artifacts_dir):
    owner = UserFactory(email="owner@example.com", full_name="Olu Owner")
    org = OrganizationFactory(name="Acme Payments", owner=owner)
    dev = MembershipFactory(
        organization=org, user=UserFactory(email="dev@example.com", full_name="Dee Dev"), role=Role.DEVELOPER
    )

    from accounts.services import organization_create_personal

    organization_create_personal(user=owner)  # the personal org becomes the default…
    _login(page, live_server, owner)
    page.goto(live_server.url + "/orgs/")
    page.get_by_role("button", name="Switch to Acme Payments").click()  # …so switch to the team
    page.wait_for_url("**/dashboard/")
    page.goto(live_server.url + "/orgs/members/")
    assert page.get_by_role("heading", name="Members of Acme Payments").is_visible()
    page.evaluate("window.__marker = 'same page'")  # survives only if htmx swaps, not reloads

    page.get_by_label("Email address").fill("newbie@example.com")
    page.locator("#members-panel form[action$='/orgs/invitations/'] select").select_option("billing")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to newbie@example.com").wait_for()
    _settled(page)  # the swapped-in panel must be wired by htmx before the next change event
    assert Invitation.objects.get(organization=org).role == Role.BILLING
    assert len(mail.outbox) == 1 and "/orgs/join/" in mail.outbox[0].body

    page.get_by_label("Role of dev@example.com").select_option("admin")
    page.get_by_text("dev@example.com is now admin").wait_for()
    _settled(page)
    dev.refresh_from_db()
    assert dev.role == Role.ADMIN

    page.get_by_label("Email address").fill("not-an-address")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Enter a valid email address").wait_for()
    assert page.evaluate("window.__marker") == "same page"
    page.screenshot(path=str(artifacts_dir / "members.png"), full_page=True)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove dev@example.com").click()
    page.get_by_text("Removed dev@example.com").wait_for()
    assert not Membership.objects.filter(pk=dev.pk).exists()
