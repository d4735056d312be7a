"""DRF's JSON parser, made safe against a body nested deeper than the decoder recurses."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """A body like ``[[[[…`` (a few KB is enough in a server thread) makes the decoder raise
    ``RecursionError``, which DRF does not catch: answered as a 400 ``malformed-request``
    instead of a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body nests arrays or objects too deeply.") from None
