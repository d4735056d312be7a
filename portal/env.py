"""Typed readers for environment variables that fail loudly.

A missing required variable or a malformed value raises ``ImproperlyConfigured`` naming
the variable, so a misconfigured deployment refuses to start instead of running wrong.
"""

from __future__ import annotations

import base64
import binascii
import os

from django.core.exceptions import ImproperlyConfigured

__all__ = ["ImproperlyConfigured", "env_bool", "env_bytes_b64", "env_float", "env_int", "env_list", "env_str"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str | None) -> str:
    """Return the variable as a string; ``default=None`` makes it required."""
    value = _raw(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int) -> int:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not an integer.") from None


def env_float(name: str, default: float) -> float:
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not a number.") from None


def env_list(name: str, default: list[str] | None) -> list[str]:
    """Comma-separated list; ``default=None`` makes it required."""
    value = _raw(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required (comma-separated).")
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_bytes_b64(name: str, default: str | None, *, length: int) -> bytes:
    """Base64-encoded key material of exactly ``length`` bytes."""
    return _b64_key(name, env_str(name, default), length=length)


def env_bytes_b64_list(name: str, *, length: int) -> list[bytes]:
    """Comma-separated base64 keys of exactly ``length`` bytes each (empty: none)."""
    return [_b64_key(name, encoded, length=length) for encoded in env_list(name, [])]


def _b64_key(name: str, encoded: str, *, length: int) -> bytes:
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured(f"Environment variable {name} is not valid base64.") from None
    if len(key) != length:
        raise ImproperlyConfigured(f"Environment variable {name} must decode to {length} bytes, got {len(key)}.")
    return key
