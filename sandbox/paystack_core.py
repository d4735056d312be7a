"""Sandbox Paystack primitives shared by its endpoint modules: the error, the response
envelope, timestamps and object look-up."""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox import store

P = "paystack"


class PaystackSandboxError(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.body = status, {"status": False, "message": message}


def ok(message: str, data) -> dict:
    return {"status": True, "message": message, "data": data}


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _get(kind: str, object_id: str) -> dict:
    found = store.get(P, kind, str(object_id))
    if found is None:
        raise PaystackSandboxError(404, f"{kind.capitalize()} not found")
    return found
