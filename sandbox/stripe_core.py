"""Sandbox Stripe primitives shared by its endpoint modules: the error, object look-up and
the clock."""

from __future__ import annotations

import time

from sandbox import store

P = "stripe"
MONTH = 30 * 86400


class StripeSandboxError(Exception):
    def __init__(self, status: int, message: str, code: str = "", type_: str = "invalid_request_error"):
        self.status, self.body = status, {"error": {"type": type_, "message": message, "code": code or None}}


def _missing(kind: str, object_id: str):
    raise StripeSandboxError(404, f"No such {kind}: '{object_id}'", "resource_missing")


def _get(kind: str, object_id: str) -> dict:
    return store.get(P, kind, object_id) or _missing(kind, object_id)


def now() -> int:
    return int(time.time())
