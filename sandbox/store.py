"""Sandbox object storage (``sandbox.SandboxObject``) and object templates from the fixtures."""

from __future__ import annotations

import copy
import json
import secrets
import string
from functools import cache
from pathlib import Path

from sandbox.models import SandboxObject

HERE = Path(__file__).resolve().parent


@cache
def _shapes(provider: str) -> dict:
    return json.loads((HERE / f"{provider}_shapes.json").read_text())


def shape(provider: str, name: str) -> dict:
    """A deep copy of the official example object, to be overridden field by field."""
    return copy.deepcopy(_shapes(provider)[name])


def new_id(prefix: str, length: int = 24) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def put(provider: str, kind: str, object_id: str, data: dict) -> dict:
    SandboxObject.objects.update_or_create(provider=provider, kind=kind, object_id=object_id, defaults={"data": data})
    return data


def get(provider: str, kind: str, object_id: str) -> dict | None:
    row = SandboxObject.objects.filter(provider=provider, kind=kind, object_id=object_id).first()
    return row.data if row else None


def all_of(provider: str, kind: str) -> list[dict]:
    return [row.data for row in SandboxObject.objects.filter(provider=provider, kind=kind).order_by("id")]
