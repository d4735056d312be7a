"""Who is calling: the credential of a gateway request (API key or a JWT minted from one),
resolved from process memory to its key record, with failed authentications counted per
client address (``gateway.guard``). Used by the gateway (``gateway.proxy``), the
token exchange, the verify API and the proxy.
"""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest

from gateway.guard import blocked_for, client_address, failure_note
from gateway.responses import InvalidCredentials, TooManyAuthFailures, Unauthenticated
from keys.cache import KeyRecord, key_in_memory, key_lookup, looks_like_key
from keys.tokens import TokenInvalid, token_verify


def credential_of(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.META.get("HTTP_X_API_KEY", "").strip()


_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


def authenticate(request: HttpRequest) -> KeyRecord:
    """The key behind the request (API key or a JWT minted from one); raises a 401 Problem,
    or a 429 once the client's address has failed too often (``gateway.guard``)."""
    raw = credential_of(request)
    if not raw:
        raise Unauthenticated(
            "Send your API key as `Authorization: Bearer tg_live_…` or `X-API-Key`.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    address = client_address(request)  # "" for the verify API's stand-in request: not counted
    if address and (wait := blocked_for(address)) and key_in_memory(raw) is None:
        raise _too_many_failures(wait)
    record, guess = _resolve(raw)
    if guess is not None:  # the credential matches nothing: one more failure for this address
        if address and (wait := failure_note(address)):
            raise _too_many_failures(wait)
        raise guess
    return _usable(cast(KeyRecord, record))  # no guess: a record


def authenticate_local(request: HttpRequest) -> KeyRecord | None:
    """``authenticate`` for an API key this process holds in memory, with no I/O; None when
    it cannot decide without I/O (then ``authenticate`` does). Raises the same Problems."""
    record = key_in_memory(credential_of(request))
    return None if record is None else _usable(record)


def _usable(record: KeyRecord) -> KeyRecord:
    reason = record.refusal()
    if reason:
        raise InvalidCredentials(f"This API key is {reason}.", reason=reason, headers=_INVALID_TOKEN)
    return record


def _resolve(raw: str) -> tuple[KeyRecord | None, InvalidCredentials | None]:
    if looks_like_key(raw):
        record = key_lookup(raw)
        if record is None:
            return None, InvalidCredentials("This API key does not exist.", headers=_INVALID_TOKEN)
        return record, None
    if raw.count(".") == 2:
        try:
            return token_verify(raw), None
        except TokenInvalid as exc:
            return None, InvalidCredentials(f"Bearer token rejected: {exc}.", headers=_INVALID_TOKEN)
    return None, InvalidCredentials(
        "Malformed credential: expected an API key (tg_live_…/tg_test_…) or a token.", headers=_INVALID_TOKEN
    )


def _too_many_failures(wait: int) -> TooManyAuthFailures:
    return TooManyAuthFailures(
        f"Too many failed authentications from your address; retry after {wait} s.",
        retry_after=wait,
        headers={"Retry-After": str(wait)},
    )
