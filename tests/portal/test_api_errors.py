"""API paths never answer with an HTML error page, whatever failed."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.portal.urls_api_errors")]


@pytest.fixture
def raw_client(client):
    client.raise_request_exception = False  # as a real server: an exception becomes a response
    return client


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/boom/", "/v1/boom"])
def test_an_unexpected_error_on_an_api_path_is_a_500_problem(raw_client, settings, path, debug):
    settings.DEBUG = debug  # the debug page is HTML too
    response = raw_client.get(path)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("#error") and "boom" not in response.content.decode()


def test_pages_keep_their_html_error_page(raw_client, settings):
    settings.DEBUG = False
    response = raw_client.get("/boom-page/")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
