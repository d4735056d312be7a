"""Create a personal access token in the browser, script the API with it, revoke it."""

from __future__ import annotations

import httpx
import pytest

from tests.factories import OrganizationFactory


@pytest.fixture
def signed_in(page, live_server, user, org):
    OrganizationFactory(owner=user, name="Acme Payments")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    return page


@pytest.mark.django_db(transaction=True)
def test_create_copy_use_and_revoke_a_token(signed_in, live_server, artifacts_dir):
    page = signed_in
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("details.org-menu summary")
    page.click("text=Access tokens")
    page.wait_for_url("**/accounts/tokens/")
    page.screenshot(path=str(artifacts_dir / "tokens-empty.png"), full_page=True)

    page.fill("input[name=name]", "Deploy script")
    page.select_option("select[name=organization]", label="Acme Payments (Owner)")
    page.check("input[name=scopes][value='keys:read']")
    page.check("input[name=scopes][value='usage:read']")
    page.select_option("select[name=expires_in_days]", "30")
    page.click("text=Create token")
    secret = page.locator("#new-token-secret")
    secret.wait_for()
    raw = secret.inner_text()
    assert raw.startswith("tgp_")
    page.click("button.copy-button")
    page.wait_for_selector("button.copy-button.copied")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    page.screenshot(path=str(artifacts_dir / "tokens-created.png"), full_page=True)

    headers = {"Authorization": f"Bearer {raw}"}
    assert httpx.get(f"{live_server.url}/api/keys/", headers=headers).status_code == 200
    refused = httpx.post(f"{live_server.url}/api/keys/create/", json={"name": "x"}, headers=headers)
    assert refused.status_code == 403 and refused.json()["required_scope"] == "keys:write"

    page.goto(f"{live_server.url}/accounts/tokens/")
    assert "Acme Payments" in page.locator(".token-list").inner_text()
    assert "never" not in page.locator(".token-list tbody tr").first.inner_text()  # last used: just now
    page.click("button[aria-label='Revoke Deploy script']")
    page.wait_for_selector("text=Requests with it are refused")
    page.screenshot(path=str(artifacts_dir / "tokens-revoked.png"), full_page=True)
    assert httpx.get(f"{live_server.url}/api/keys/", headers=headers).status_code == 401
    assert not [e for e in errors if "Content Security Policy" in e], errors
