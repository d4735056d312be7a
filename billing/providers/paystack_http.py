"""Paystack's JSON API over a pooled httpx client, with a retry policy that never repeats a
request Paystack may already have applied.

* GETs are retried after network errors, timeouts and 5xx.
* POSTs Paystack deduplicates — those carrying a transaction ``reference`` (initialize,
  charge_authorization) — are retried the same way: a repeat that arrives after the first
  was applied is refused as a duplicate reference (``ReferenceInUse``), which the caller
  resolves by verifying the reference.
* Any other POST (plan, subscription, refund, enable/disable) is retried only when it
  certainly never reached Paystack (no connection). After a timeout or a 5xx its outcome is
  unknown: ``create_once`` looks the object up before sending it again, and when even the
  look-up fails the caller gets ``ProviderOutcomeUnknown``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from billing.providers.base import ProviderError, ProviderOutcomeUnknown, ProviderUnavailable

API_BASE = "https://api.paystack.co"
RETRIES = 2
BACKOFF_SECONDS = 0.2
# Failures that prove the request was never sent: repeating it cannot apply it twice.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class ReferenceInUse(ProviderError):
    """Paystack refused a transaction because its reference was used before (by an earlier
    attempt of the same request whose answer was lost, or a double submission)."""


class PaystackClient:
    def __init__(
        self, *, secret_key: str, transport: httpx.BaseTransport | None = None, base_url: str = API_BASE
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {secret_key}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(10.0, connect=5.0),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            # The transport itself only retries failed connects (nothing was sent).
            transport=transport or httpx.HTTPTransport(retries=RETRIES),
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict | None = None,
        params: dict | None = None,
        deduplicated: bool = False,
    ) -> Any:
        """The ``data`` of Paystack's answer. ``deduplicated``: a POST Paystack refuses to apply
        twice (it carries a transaction reference), so it may be repeated like a GET."""
        repeatable = method == "GET" or deduplicated
        maybe_applied, last_error = False, ""
        for attempt in range(RETRIES + 1):
            if attempt:
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                response = self.http.request(method, path, json=json_body, params=params)
            except NOT_SENT as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                continue
            except httpx.TransportError as exc:  # sent, then the answer was lost
                last_error, maybe_applied = f"{type(exc).__name__}: {exc}", method != "GET"
                if not repeatable:
                    break
                continue
            if response.status_code >= 500:
                last_error, maybe_applied = f"answered {response.status_code}", method != "GET"
                if not repeatable:
                    break
                continue
            return self._data(response, path)
        if maybe_applied:
            raise ProviderOutcomeUnknown(f"Paystack: {method} {path} may or may not have been applied ({last_error}).")
        raise ProviderUnavailable(f"Paystack: {method} {path} failed ({last_error}).")

    @staticmethod
    def _data(response: httpx.Response, path: str) -> Any:
        try:
            body = response.json()
        except ValueError as exc:
            raise ProviderUnavailable("Paystack answered with a non-JSON body") from exc
        if response.status_code >= 400 or not body.get("status"):
            message = str(body.get("message", response.status_code))
            if "duplicate transaction reference" in message.lower():
                raise ReferenceInUse(f"Paystack: {message}")
            raise ProviderError(f"Paystack: {message}")
        return body.get("data") or {}

    def create_once(self, path: str, body: dict, *, find: Callable[[], Any]) -> Any:
        """POST an object Paystack does not deduplicate, at most once: after an unknown outcome
        ``find()`` looks it up (None: certainly absent), and only then is it sent again."""
        for _attempt in range(RETRIES + 1):
            try:
                return self.request("POST", path, json_body=body)
            except ProviderOutcomeUnknown as exc:
                unknown = exc
            try:
                found = find()
            except ProviderUnavailable as exc:
                raise ProviderOutcomeUnknown(f"{unknown.detail} Looking it up failed too: {exc.detail}") from exc
            if found is not None:
                return found
        raise ProviderUnavailable(f"Paystack: POST {path} did not go through ({unknown.detail}).")
