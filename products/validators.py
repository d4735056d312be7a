"""Field rules of an API product and its operations, shared by the models, the services and
the console's forms. Pure functions: no database access (the base-path overlap check that
needs the other products lives in ``products.services``)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from products.pointers import PointerInvalid, dotted_to_pointer, pointer_parse

# One or more path segments of unreserved URL characters after /v1/.
BASE_PATH_RE = re.compile(r"^/v1(/[A-Za-z0-9._~-]+)+$")
# The gateway's own endpoints live under these prefixes: a product may not shadow them.
RESERVED_BASE_PATHS = ("/v1/auth", "/v1/keys")
# RFC 9110 token characters: a header name.
HEADER_NAME_RE = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Headers the gateway sets or strips itself; an upstream credential may not take their place.
FORBIDDEN_AUTH_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "cookie",
        "set-cookie",
    }
)


def validate_base_path(value: str) -> None:
    """``/v1/messaging``: under /v1/, no trailing slash, no dot segments, no empty segments."""
    if not BASE_PATH_RE.match(value):
        raise ValidationError(
            "Use /v1/ followed by one or more segments of letters, digits, '.', '_', '~' or '-', "
            "without a trailing slash (e.g. /v1/messaging).",
            code="base_path_format",
        )
    if any(segment in {".", ".."} for segment in value.split("/")):
        raise ValidationError("Dot segments ('.', '..') are not allowed.", code="base_path_dots")
    if any(base_paths_overlap(value, reserved) for reserved in RESERVED_BASE_PATHS):
        raise ValidationError(f"{value} overlaps the gateway's own endpoints.", code="base_path_reserved")


def base_paths_overlap(a: str, b: str) -> bool:
    """Two base paths overlap when one is a whole-segment prefix of the other (``/v1/sms`` and
    ``/v1/sms/eu``), so one request path could belong to both products."""
    a_parts, b_parts = a.lower().split("/"), b.lower().split("/")
    shortest = min(len(a_parts), len(b_parts))
    return a_parts[:shortest] == b_parts[:shortest]


def validate_upstream_url(value: str) -> None:
    """An absolute http(s) URL with a host and no credentials, query or fragment: the gateway
    appends the operation's path to it."""
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise ValidationError("Not a valid URL.", code="upstream_url_invalid") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError("Use an absolute http:// or https:// URL.", code="upstream_url_scheme")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "Put credentials in the upstream auth header, not in the URL.", code="upstream_url_userinfo"
        )
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValidationError("The upstream URL may not have a query or fragment.", code="upstream_url_query")
    if port == 0:
        raise ValidationError("Port 0 is not a valid upstream port.", code="upstream_url_port")
    if any(segment in {".", ".."} for segment in parts.path.split("/")):
        raise ValidationError("Dot segments ('.', '..') are not allowed.", code="upstream_url_dots")


def validate_auth_header(value: str) -> None:
    if value == "":
        return
    if not HEADER_NAME_RE.match(value):
        raise ValidationError("Not a valid HTTP header name.", code="header_name")
    if value.lower() in FORBIDDEN_AUTH_HEADERS:
        raise ValidationError(f"{value} is managed by the gateway.", code="header_reserved")


def unit_source_normalize(rule: str, source: str) -> str:
    """Validate ``source`` for a unit rule and return its stored form; ``ValidationError``
    otherwise. JSON rules take a JSON pointer (``/to``) or the dotted form (``usage.total_tokens``),
    ``""`` meaning the whole body; the form rule a field name; the header rule a header name;
    ``fixed`` and ``free`` read nothing."""
    source = source.strip()
    if rule in {"fixed", "free"}:
        if source:
            raise ValidationError("This unit rule reads no field; leave the unit source empty.", code="source_unused")
        return ""
    if rule in {"request_json_array_length", "response_json_field"}:
        pointer = dotted_to_pointer(source)
        try:
            pointer_parse(pointer)
        except PointerInvalid as exc:
            raise ValidationError(f"Not a JSON pointer: {exc}.", code="source_pointer") from exc
        return pointer
    if rule == "request_form_field_count":
        if not source or len(source) > 200 or any(ord(ch) < 32 or ord(ch) == 127 for ch in source):
            raise ValidationError("Name the form field to count (e.g. To).", code="source_field")
        return source
    if rule == "response_header":
        if not HEADER_NAME_RE.match(source):
            raise ValidationError(
                "Name the response header that reports the units (e.g. Tollgate-Units).", code="source_header"
            )
        return source
    raise ValidationError(f"Unknown unit rule {rule!r}.", code="unit_rule")
