"""A real upstream API on a free loopback port, for the proxy tests.

It records every request exactly as it arrived (method, raw request-target, headers, body) and
checks the gateway's identity headers with the very snippet operators are given in
docs/keys-and-limits.md, so the documented verification is the tested one.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from asgiref.sync import async_to_sync
from django.test import AsyncClient
from django.test.client import FakePayload

DOCS = Path(__file__).resolve().parents[2] / "docs" / "keys-and-limits.md"


def documented_verifier():
    """``tollgate_identity(headers, secret)`` as published in the docs (executed from the page)."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    source = next(block for block in blocks if "def tollgate_identity(" in block)
    namespace: dict = {}
    exec(compile(source, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["tollgate_identity"]


@dataclass
class Received:
    method: str
    target: str  # the raw request-target, as sent on the wire
    headers: list[tuple[str, str]]
    body: bytes
    identity: dict | None  # the verified identity, None when the signature did not verify

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass
class RecordingUpstream:
    secret: str
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def start(self) -> RecordingUpstream:
        verify = documented_verifier()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                identity = verify(self.headers, upstream.secret)
                upstream.received.append(Received(self.command, self.path, list(self.headers.items()), body, identity))
                status = 401 if identity is None else (404 if "/missing" in self.path else 200)
                payload = json.dumps({"target": self.path, "identity": identity}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.send_header("X-Upstream", "yes")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args):
                pass

        return self._serve_with(Handler)

    def _serve_with(self, handler: type[BaseHTTPRequestHandler]):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def last(self) -> Received:
        assert self.received, "the upstream received nothing"
        return self.received[-1]


def proxy_call(
    method: str,
    target: str,
    *,
    body: bytes = b"",
    raw_path: bool = True,
    content_type: str = "application/json",
    **headers: str,
) -> tuple:
    """Call the gateway as an ASGI server does, through Django's test handler: ``path`` decoded as
    UTF-8, the still-encoded ``raw_path`` (left out with ``raw_path=False``, as some servers do),
    the raw query string. Reads the streamed body on the same event loop: (response, content)."""
    parts = urlsplit(target)
    scope = {
        "method": method,
        "path": unquote(parts.path),
        "query_string": parts.query.encode("latin-1"),
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode()),
            *[(name.replace("_", "-").lower().encode(), value.encode("latin-1")) for name, value in headers.items()],
        ],
        "_body_file": FakePayload(body),
    }
    if raw_path:
        scope["raw_path"] = parts.path.encode("latin-1")

    async def run():
        response = await AsyncClient().request(**scope)
        if response.streaming:
            return response, b"".join([chunk async for chunk in response.streaming_content])
        return response, response.content

    return async_to_sync(run)()
