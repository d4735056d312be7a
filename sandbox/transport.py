"""Route the real clients' HTTP requests to the in-process sandbox handlers.

The Stripe SDK builds its form-encoded (v1) and JSON (v2) requests exactly as it would for
api.stripe.com; only the last hop — sending bytes over the network — is replaced.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import stripe

from sandbox import paystack_api, stripe_api
from sandbox.config import paystack_secret_key
from sandbox.faults import fault_take


def form_decode(body: str) -> dict:
    """Stripe's bracket notation (``line_items[0][price]=p``) back into nested dicts/lists."""
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = None if last else parts[i + 1]
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if nxt is None or not nxt.isdigit() else [])
                if last:
                    node[index] = value
                else:
                    if not isinstance(node[index], (dict, list)) or (
                        nxt.isdigit() and isinstance(node[index], dict) and not node[index]
                    ):
                        node[index] = [] if nxt.isdigit() else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt.isdigit() else {})
    return root


class SandboxStripeHTTPClient(stripe.HTTPClient):
    name = "tollgate-sandbox"

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if post_data:
            text = post_data.decode() if isinstance(post_data, bytes) else post_data
            if parts.path.startswith("/v2/"):
                params.update(json.loads(text))
            else:
                params.update(form_decode(text))
        idempotency_key = (headers or {}).get("Idempotency-Key", "")
        fault, where = fault_take("stripe", method, parts.path), f"{method.upper()} {parts.path}"
        if fault in ("connect_timeout", "timeout_before"):
            raise stripe.APIConnectionError(f"sandbox fault: {fault} on {where}", should_retry=True)
        if fault == "503_before":
            return _stripe_unavailable()
        status, body = stripe_api.handle(method.upper(), parts.path, params, idempotency_key=idempotency_key)
        if fault == "timeout_after":
            raise stripe.APIConnectionError(f"sandbox fault: read timeout after {where} was applied", should_retry=True)
        if fault == "503_after":
            return _stripe_unavailable()
        return json.dumps(body), status, {"request-id": "req_sandbox", "Content-Type": "application/json"}

    def request_stream(self, method, url, headers, post_data=None, *, _usage=None):
        raise NotImplementedError("the sandbox does not stream")

    def close(self):
        pass


def _stripe_unavailable():
    body = {"error": {"type": "api_error", "message": "sandbox fault: service unavailable"}}
    return json.dumps(body), 503, {"request-id": "req_sandbox", "Content-Type": "application/json"}


class SandboxPaystackTransport(httpx.BaseTransport):
    """The last hop of the Paystack client, with the faults of ``sandbox.faults``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization", "") != f"Bearer {paystack_secret_key()}":
            return httpx.Response(401, json={"status": False, "message": "Invalid key"})
        fault = fault_take("paystack", request.method, request.url.path)
        where = f"{request.method} {request.url.path}"
        if fault == "connect_timeout":
            raise httpx.ConnectTimeout(f"sandbox fault: connect timeout on {where}", request=request)
        if fault == "timeout_before":
            raise httpx.ReadTimeout(f"sandbox fault: read timeout on {where}", request=request)
        if fault == "503_before":
            return httpx.Response(503, json={"status": False, "message": "sandbox fault: service unavailable"})
        body = json.loads(request.content) if request.content else {}
        params = dict(request.url.params)
        status, payload = paystack_api.handle(request.method, request.url.path, params, body)
        if fault == "timeout_after":
            raise httpx.ReadTimeout(f"sandbox fault: read timeout after {where} was applied", request=request)
        if fault == "503_after":
            return httpx.Response(503, json={"status": False, "message": "sandbox fault: bad gateway"})
        return httpx.Response(status, json=payload)
