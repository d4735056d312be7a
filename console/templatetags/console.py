"""Template filters of the operator console."""

from __future__ import annotations

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def path_breaks(path: str) -> SafeString:
    """A URL path that may wrap after each "/" (long templates in narrow table cells)."""
    return mark_safe("/<wbr>".join(escape(part) for part in str(path).split("/")))  # noqa: S308 - parts are escaped
