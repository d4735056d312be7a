from __future__ import annotations

import time

import jwt
import pytest
from django.conf import settings

from keys.cache import record_from_model
from keys.services import api_key_revoke
from keys.tokens import token_issue
from tests.gateway.conftest import TRACKING

PATH = f"/v1/demo/deliveries/{TRACKING}"
pytestmark = pytest.mark.usefixtures("roomy")


def exchange(api, raw):
    return api.post("/v1/auth/token", raw)


def test_key_exchanged_for_token_that_the_gateway_accepts(api, live_key):
    _key, raw = live_key
    response = exchange(api, raw)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and 0 < body["expires_in"] <= settings.JWT_TTL_SECONDS
    header = jwt.get_unverified_header(body["access_token"])
    assert header["kid"] == next(iter(settings.JWT_SIGNING_KEYS)) and header["alg"] == "HS256"
    served = api.get(PATH, body["access_token"])
    assert served.status_code == 200


def test_token_cannot_be_exchanged_for_another_token(api, live_key):
    _, raw = live_key
    token = exchange(api, raw).json()["access_token"]
    assert exchange(api, token).status_code == 401


def _forge(claims_update=None, *, kid=None, secret=None):
    kid = kid or next(iter(settings.JWT_SIGNING_KEYS))
    now = int(time.time())
    claims = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "sub": "1",
        "org": 1,
        "scp": [],
    }
    claims.update(claims_update or {})
    return jwt.encode(
        claims, secret or settings.JWT_SIGNING_KEYS.get(kid, "x" * 32), algorithm="HS256", headers={"kid": kid}
    )


def test_expired_token_is_refused(api, live_key):
    key, _ = live_key
    token, _ = token_issue(record=record_from_model(key), now=time.time() - settings.JWT_TTL_SECONDS - 5)
    response = api.get(PATH, token)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


@pytest.mark.parametrize(
    "claim, value, reason",
    [
        ("aud", "https://elsewhere.example/v1", "audience"),
        ("iss", "https://evil.example", "issuer"),
    ],
)
def test_wrong_audience_or_issuer_is_refused(api, live_key, claim, value, reason):
    key, _ = live_key
    response = api.get(PATH, _forge({claim: value, "sub": str(key.pk), "org": key.organization_id}))
    assert response.status_code == 401
    assert reason in response.json()["detail"]


def test_unknown_kid_and_bad_signature_are_refused(api, live_key):
    key, _ = live_key
    claims = {"sub": str(key.pk), "org": key.organization_id}
    assert "kid" in api.get(PATH, _forge(claims, kid="nope")).json()["detail"]
    assert api.get(PATH, _forge(claims, secret="wrong-secret-wrong-secret-wrong-secret")).status_code == 401


def test_signing_key_rotation_accepts_old_kid_until_dropped(api, live_key, settings):
    _, raw = live_key
    old_token = exchange(api, raw).json()["access_token"]
    old_kid, old_secret = next(iter(settings.JWT_SIGNING_KEYS.items()))
    settings.JWT_SIGNING_KEYS = {"k-new": "n" * 64, old_kid: old_secret}  # new key signs, old still verifies
    new_token = exchange(api, raw).json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == "k-new"
    assert api.get(PATH, old_token).status_code == 200
    assert api.get(PATH, new_token).status_code == 200
    settings.JWT_SIGNING_KEYS = {"k-new": "n" * 64}  # old kid retired
    assert api.get(PATH, old_token).status_code == 401
    assert api.get(PATH, new_token).status_code == 200


def test_revoking_the_key_kills_its_tokens(api, live_key, django_capture_on_commit_callbacks):
    key, raw = live_key
    token = exchange(api, raw).json()["access_token"]
    assert api.get(PATH, token).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(key=key)
    assert api.get(PATH, token).status_code == 401
    assert exchange(api, raw).status_code == 401


def test_token_keeps_the_key_scopes(api, org, make_key):
    _, raw = make_key(org, scopes=["delivery_status_get"])
    token = exchange(api, raw).json()["access_token"]
    assert api.get(PATH, token).status_code == 200
    assert api.post("/v1/demo/ai/completions", token, {"prompt": "hi"}).status_code == 403
