"""Invitations by email: the message, accepting signed in, accepting as a new signup."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, Role
from tests.accounts.helpers import PASSWORD, link_in
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _invite(member_client, email="teammate@example.com", role="developer"):
    return member_client.post("/orgs/invitations/", {"email": email, "role": role}, headers={"HX-Request": "true"})


def test_invite_sends_an_email_with_text_and_html(member_client, org, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(member_client)
    assert response.status_code == 200
    assert b"Invitation sent to teammate@example.com" in response.content
    assert b"teammate@example.com" in response.content  # listed under pending invitations
    invitation = Invitation.objects.get(organization=org, email="teammate@example.com")
    assert invitation.role == Role.DEVELOPER and invitation.is_open
    [mail] = mailoutbox
    assert mail.to == ["teammate@example.com"]
    assert org.name in mail.subject
    url = link_in(mail, r"/orgs/join/")
    assert url.endswith(f"/orgs/join/{invitation.token}/")
    html, mime = mail.alternatives[0]
    assert mime == "text/html" and url in html


def test_invite_rejects_bad_addresses_and_existing_members(member_client, org, user):
    response = _invite(member_client, email="not-an-email")
    assert response["X-Tollgate-Status"] == "400" and b"valid email" in response.content
    response = _invite(member_client, email=user.email.upper())
    assert response["X-Tollgate-Status"] == "400" and b"already a member" in response.content
    plain = member_client.post("/orgs/invitations/", {"email": "nope", "role": "developer"})
    assert plain.status_code == 400 and b"valid email" in plain.content  # without htmx: the full page
    assert not Invitation.objects.exists()


def test_inviting_again_resends_a_fresh_link(member_client, org, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(member_client)
        first = Invitation.objects.get().token
        _invite(member_client, email="Teammate@example.com", role="billing")
    invitation = Invitation.objects.get()
    assert invitation.token != first and invitation.role == Role.BILLING
    assert len(mailoutbox) == 2


def test_signed_in_invitee_accepts(client, org, user):
    invitee = UserFactory(email="teammate@example.com")
    invitation = services.invitation_create(
        organization=org, email="teammate@example.com", role=Role.ADMIN, invited_by=user
    )
    client.force_login(invitee)
    page = client.get(f"/orgs/join/{invitation.token}/")
    assert page.status_code == 200 and b"Accept and join" in page.content
    response = client.post(f"/orgs/join/{invitation.token}/")
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert Membership.objects.get(organization=org, user=invitee).role == Role.ADMIN
    dashboard = client.get("/dashboard/")
    assert dashboard.context["org"] == org
    # The link works once.
    again = client.post(f"/orgs/join/{invitation.token}/")
    assert again.status_code == 410


def test_invitation_for_another_address_is_refused(client, org, user):
    invitation = services.invitation_create(
        organization=org, email="teammate@example.com", role=Role.ADMIN, invited_by=user
    )
    stranger = UserFactory(email="stranger@example.com")
    client.force_login(stranger)
    response = client.post(f"/orgs/join/{invitation.token}/")
    assert response.status_code == 403
    assert b"Sign in with that address" in response.content
    assert not Membership.objects.filter(organization=org, user=stranger).exists()


def test_expired_and_unknown_invitations(client, org, user):
    invitation = services.invitation_create(
        organization=org, email="late@example.com", role=Role.DEVELOPER, invited_by=user
    )
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    late = UserFactory(email="late@example.com")
    client.force_login(late)
    response = client.get(f"/orgs/join/{invitation.token}/")
    assert response.status_code == 410 and b"expired" in response.content
    assert client.post(f"/orgs/join/{invitation.token}/").status_code == 410
    assert client.get("/orgs/join/not-a-real-token/").status_code == 404


def test_new_person_signs_up_from_the_invitation_without_a_second_verification_email(client, org, user, mailoutbox):
    invitation = services.invitation_create(
        organization=org, email="fresh@example.com", role=Role.BILLING, invited_by=user
    )
    page = client.get(f"/orgs/join/{invitation.token}/")
    assert page.status_code == 200 and b"Create an account with fresh@example.com" in page.content
    next_url = f"/orgs/join/{invitation.token}/"
    response = client.post(
        f"/accounts/signup/?next={next_url}",
        {"email": "fresh@example.com", "password1": PASSWORD, "password2": PASSWORD, "next": next_url},
    )
    # The invitation email proved the address: signed in straight away, back at the invitation.
    assert response.status_code == 302 and response["Location"] == next_url
    assert not [m for m in mailoutbox if "confirm-email" in m.body]
    response = client.post(next_url)
    assert response.status_code == 302
    assert Membership.objects.get(organization=org, user__email="fresh@example.com").role == Role.BILLING


def test_signing_up_with_a_different_address_keeps_only_the_invited_one_verified(client, org, user):
    """allauth adds the address the invitation proved (verified, primary) next to the typed
    one, which stays unverified until its owner confirms it."""
    from allauth.account.models import EmailAddress

    invitation = services.invitation_create(
        organization=org, email="fresh@example.com", role=Role.BILLING, invited_by=user
    )
    page = client.get("/accounts/signup/")
    assert b'value="fresh@example.com"' not in page.content  # nothing stashed before the link is opened
    client.get(f"/orgs/join/{invitation.token}/")
    assert b'value="fresh@example.com"' in client.get("/accounts/signup/").content  # prefilled
    client.post("/accounts/signup/", {"email": "other@example.com", "password1": PASSWORD, "password2": PASSWORD})
    addresses = {a.email: a for a in EmailAddress.objects.filter(user__email="fresh@example.com")}
    assert addresses["fresh@example.com"].verified and addresses["fresh@example.com"].primary
    assert addresses["other@example.com"].verified is False


def test_existing_user_logs_in_from_the_invitation(client, org, user):
    invitee = UserFactory(email="known@example.com")
    invitation = services.invitation_create(
        organization=org, email="known@example.com", role=Role.DEVELOPER, invited_by=user
    )
    next_url = f"/orgs/join/{invitation.token}/"
    response = client.post(
        f"/accounts/login/?next={next_url}", {"login": invitee.email, "password": PASSWORD, "next": next_url}
    )
    assert response["Location"] == next_url
    assert client.post(next_url).status_code == 302
    assert Membership.objects.filter(organization=org, user=invitee).exists()


def test_revoke_invitation(member_client, org, user):
    invitation = services.invitation_create(
        organization=org, email="gone@example.com", role=Role.DEVELOPER, invited_by=user
    )
    response = member_client.post(f"/orgs/invitations/{invitation.pk}/revoke/", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b"Revoked" in response.content
    assert not Invitation.objects.filter(pk=invitation.pk).exists()


def test_admin_cannot_invite_an_owner(org):
    admin = MembershipFactory(organization=org, role=Role.ADMIN)
    with pytest.raises(services.RoleNotAllowed):
        services.invitation_create(organization=org, email="boss@example.com", role=Role.OWNER, invited_by=admin.user)
