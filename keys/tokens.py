"""Short-lived JWTs minted from an API key (``POST /v1/auth/token``).

HS256 with a ``kid`` header. ``JWT_SIGNING_KEYS`` holds several kid → secret pairs: the first
signs, all verify, so a signing key is rotated by prepending a new one and dropping the old
one after ``JWT_TTL_SECONDS``. Issuer, audience and expiry are always checked.
"""

from __future__ import annotations

import time
import uuid

import jwt
from django.conf import settings

from keys.cache import KeyRecord

ALGORITHM = "HS256"


class TokenInvalid(Exception):
    pass


def token_issue(*, record: KeyRecord, now: float | None = None) -> tuple[str, int]:
    """A signed token for ``record`` and its lifetime in seconds (never beyond the key's)."""
    now = int(now or time.time())
    exp = now + settings.JWT_TTL_SECONDS
    if record.valid_until is not None:
        exp = min(exp, int(record.valid_until))
    kid, secret = next(iter(settings.JWT_SIGNING_KEYS.items()))
    claims = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "jti": uuid.uuid4().hex,
        "sub": str(record.id),
        "org": record.org_id,
        "pfx": record.prefix,
        "mode": record.mode,
        "scp": list(record.scopes),
        "uid": record.user_id,
        "isc": record.idem_scope or record.id,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": kid}), exp - now


# token -> (record, exp, kid): skips re-verifying the signature of a token seen before.
_verified: dict[str, tuple[KeyRecord, float, str]] = {}


def token_verify(token: str) -> KeyRecord:
    """The key record a token stands for; raises ``TokenInvalid`` with a reason."""
    hit = _verified.get(token)
    if hit is not None:
        if time.time() < hit[1] and hit[2] in settings.JWT_SIGNING_KEYS:
            return hit[0]
        del _verified[token]
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.PyJWTError as exc:
        raise TokenInvalid("malformed token") from exc
    secret = settings.JWT_SIGNING_KEYS.get(kid) if isinstance(kid, str) else None
    if secret is None:
        raise TokenInvalid("unknown signing key (kid)")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("token expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise TokenInvalid("token audience is not this API") from exc
    except jwt.InvalidIssuerError as exc:
        raise TokenInvalid("token issuer is not trusted") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("invalid token") from exc
    record = KeyRecord(
        id=int(claims["sub"]),
        org_id=int(claims["org"]),
        prefix=claims.get("pfx", ""),
        mode=claims.get("mode", "live"),
        scopes=tuple(claims.get("scp") or ()),
        valid_until=float(claims["exp"]),
        revoked=False,
        user_id=claims.get("uid"),
        idem_scope=int(claims.get("isc") or claims["sub"]),
    )
    if len(_verified) > 50_000:
        _verified.clear()
    _verified[token] = (record, float(claims["exp"]), kid)
    return record
