"""Create a key in the browser: the secret is shown once and the copy button works (CSP-clean)."""

from __future__ import annotations

import pytest


@pytest.fixture
def signed_in(page, live_server, user, org, demo_product):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard/")
    return page


@pytest.mark.django_db(transaction=True)
def test_create_copy_rotate_revoke_key_in_the_browser(signed_in, live_server, artifacts_dir):
    page = signed_in
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.wait_for_selector("#card-keys a")
    page.screenshot(path=str(artifacts_dir / "keys-dashboard-card.png"), full_page=True)
    page.goto(f"{live_server.url}/keys/")
    page.screenshot(path=str(artifacts_dir / "keys-empty.png"), full_page=True)
    page.fill("input[name=name]", "Production server")
    page.check("input[name=mode][value=live]")
    page.check("input[name=scopes][value=sms_send]")
    page.click("text=Create key")
    secret = page.locator("#new-key-secret")
    secret.wait_for()
    assert secret.inner_text().startswith("tg_live_")
    page.click("button.copy-button")
    page.wait_for_selector("button.copy-button.copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret.inner_text()
    page.screenshot(path=str(artifacts_dir / "keys-created.png"), full_page=True)
    page.click("details.rotate summary")
    page.select_option("select[name=overlap_seconds]", "86400")
    page.click("text=Issue replacement")
    page.wait_for_selector("text=Replacement key")
    assert page.locator("text=Rotating").count() == 1
    page.screenshot(path=str(artifacts_dir / "keys-rotated.png"), full_page=True)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#keys-panel form button.danger").first.click()
    page.wait_for_selector("text=Key revoked")
    page.screenshot(path=str(artifacts_dir / "keys-revoked.png"), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors
