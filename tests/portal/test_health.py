from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_each_dependency(client):
    response = client.get("/readyz")
    body = response.json()
    assert set(body["checks"]) == {"postgres", "redis", "celery"}
    assert body["checks"]["postgres"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    # No Celery worker runs in this test, so the probe must say so and the answer is 503.
    assert body["checks"]["celery"]["ok"] is False
    assert response.status_code == 503


@pytest.mark.django_db
def test_landing_page_invites_signup(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Get a free API key" in response.content


@pytest.mark.django_db
def test_favicon_ico_redirects_to_the_svg_logo(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
