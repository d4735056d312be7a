"""Typed readers for environment variables that fail loudly.

A missing required variable or a malformed value raises ``ImproperlyConfigured`` naming
the variable, so a misconfigured deployment refuses to start instead of running wrong.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

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


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None or value == "":
        return _at_least(name, default, minimum)
    try:
        return _at_least(name, int(value), minimum)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not an integer.") from None


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    value = _raw(name)
    if value is None or value == "":
        return _at_least(name, default, minimum)
    try:
        return _at_least(name, float(value), minimum)
    except ValueError:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} is not a number.") from None


def _at_least[N: (int, float)](name: str, value: N, minimum: N | None) -> N:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"Environment variable {name} must be at least {minimum}, got {value}.")
    return value


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


def env_secret(name: str, *, derived: str, required: bool, why: str, min_length: int = 32) -> str:
    """A shared secret of at least ``min_length`` characters; unset, ``derived`` (development)
    unless ``required``, in which case start-up stops and says ``why``."""
    value = env_str(name, "")
    if not value:
        if required:
            raise ImproperlyConfigured(f"{name} is required: {why}.")
        return derived
    if len(value) < min_length:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} characters.")
    return value


def env_kid_secrets(name: str, default: list[str]) -> dict[str, str]:
    """``kid:secret,kid2:secret2`` pairs in order (the first signs, all verify); secrets of at
    least 32 characters."""
    pairs: dict[str, str] = {}
    for item in env_list(name, default):
        kid, _, secret = item.partition(":")
        if not kid or len(secret) < 32:
            raise ImproperlyConfigured(f"{name} must be 'kid:secret,…' with secrets of 32+ characters.")
        pairs[kid] = secret
    return pairs


def env_mailers(name: str, *, console_backend: str) -> dict[str, Any]:
    """Django's ``MAILERS`` from a mail URL: ``smtp://user:pass@host:587`` (STARTTLS) or
    ``smtps://user:pass@host:465`` (TLS), user and password URL-decoded. Empty: ``console_backend``."""
    url = env_str(name, "")
    if not url:
        return {"default": {"BACKEND": console_backend}}
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ImproperlyConfigured(f"Environment variable {name} must start with smtp:// or smtps://.")
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": parts.hostname or "localhost",
                "port": parts.port or 587,
                "username": unquote(parts.username or ""),
                "password": unquote(parts.password or ""),
                "use_tls": parts.scheme == "smtp",
                "use_ssl": parts.scheme == "smtps",
                "timeout": 10,
            },
        }
    }
