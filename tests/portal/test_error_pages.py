"""Friendly error pages with DEBUG off (what production serves)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.DEBUG = False


def test_404_is_the_site_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We couldn&#x27;t find that page" in html or "We couldn't find that page" in html
    assert 'href="/static/css/app.css"' in html  # inside the site shell, styled


@pytest.mark.urls("tests.portal.urls_errors")
def test_500_is_friendly_and_renders_without_context(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "RuntimeError" not in html and "Traceback" not in html


def test_403_explains_the_role(member_client, org):
    from accounts.models import Membership, Role

    Membership.objects.filter(organization=org).update(role=Role.DEVELOPER)
    response = member_client.post("/orgs/invitations/", {"email": "a@example.com", "role": "developer"})
    assert response.status_code == 403
    assert "Your role can" in response.content.decode()


def test_csrf_failure_is_friendly():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert "Your form expired" in response.content.decode()
