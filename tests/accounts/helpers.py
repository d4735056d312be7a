"""Small helpers shared by the accounts tests (no fakes: real allauth flows over HTTP)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "A-much-longer-passphrase-42"


def totp_now(secret: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP computed independently of allauth's implementation."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % (10**digits)
    return str(code).zfill(digits)


def link_in(message, pattern: str) -> str:
    """The first URL in an email body that matches ``pattern``."""
    for url in re.findall(r"https?://\S+", message.body):
        if re.search(pattern, url):
            return url.rstrip(".>)")
    raise AssertionError(f"no link matching {pattern!r} in:\n{message.body}")


def path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path
