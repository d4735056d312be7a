"""Template filters of the public docs and pricing pages."""

from __future__ import annotations

import json
import re
from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def inline_code(text: str) -> SafeString:
    """`code` spans of a one-line text as <code>, escaped first (a unit rule in words)."""
    return mark_safe(re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(str(text))))  # noqa: S308 - escaped above


@register.filter
def as_json(value: Any) -> str:
    """An example value as the API sends it: indented JSON (true, null, double quotes)."""
    return json.dumps(value, indent=2, ensure_ascii=False)
