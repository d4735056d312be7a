"""A configurable real upstream on a free loopback port (HTTP/1.1, ``http.server``): each path
answers with a scripted behaviour — JSON, a chunked stream, a slow or broken answer — and every
request is recorded as it arrived (method, raw target, headers, body, verified identity).

    upstream = ScriptedUpstream(secret).start()
    upstream.on("/big", chunked(1024 * 1024))
    upstream.on("/slow", json_answer({"ok": True}, delay=2))
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.gateway.upstream import Received, RecordingUpstream, documented_verifier

Answer = Callable[[BaseHTTPRequestHandler, Received], None]


def pattern(size: int) -> bytes:
    """``size`` deterministic bytes (the same every call, not compressible to nothing)."""
    block = hashlib.sha256(b"tollgate").digest() * 64
    return (block * (size // len(block) + 1))[:size]


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _head(handler, status: int, headers: list[tuple[str, str]]) -> None:
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Connection", "close")
    handler.end_headers()


def echo(handler: BaseHTTPRequestHandler, got: Received) -> None:
    """200 JSON describing the request (its body by length and digest)."""
    json_answer(
        {
            "method": got.method,
            "target": got.target,
            "body_length": len(got.body),
            "body_sha256": hashlib.sha256(got.body).hexdigest(),
            "identity": got.identity,
        }
    )(handler, got)


def json_answer(payload, *, status: int = 200, headers: Sequence[tuple[str, str]] = (), delay: float = 0) -> Answer:
    def answer(handler, got):
        time.sleep(delay)
        body = json.dumps(payload).encode()
        _head(
            handler,
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers],
        )
        handler.wfile.write(body)

    return answer


def chunked(size: int, *, chunk: int = 16 * 1024, pause: float = 0) -> Answer:
    """``pattern(size)`` with ``Transfer-Encoding: chunked`` (no declared length)."""

    def answer(handler, got):
        _head(handler, 200, [("Content-Type", "application/octet-stream"), ("Transfer-Encoding", "chunked")])
        data = pattern(size)
        for start in range(0, size, chunk):
            piece = data[start : start + chunk]
            handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            handler.wfile.flush()
            time.sleep(pause)
        handler.wfile.write(b"0\r\n\r\n")

    return answer


def sized(size: int) -> Answer:
    """``pattern(size)`` with its ``Content-Length`` declared."""

    def answer(handler, got):
        _head(handler, 200, [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        handler.wfile.write(pattern(size))

    return answer


def broken_body(*, declared: int, sent: int, stall: float = 0) -> Answer:
    """Declares ``declared`` bytes, sends ``sent``, waits ``stall`` s, then hangs up."""

    def answer(handler, got):
        _head(handler, 200, [("Content-Type", "application/octet-stream"), ("Content-Length", str(declared))])
        handler.wfile.write(pattern(sent))
        handler.wfile.flush()
        time.sleep(stall)

    return answer


@dataclass
class ScriptedUpstream(RecordingUpstream):
    script: dict[str, Answer] = field(default_factory=dict)  # path (no query) → answer

    def on(self, path: str, answer: Answer) -> ScriptedUpstream:
        self.script[path] = answer
        return self

    def start(self) -> ScriptedUpstream:
        verify = documented_verifier()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                body = _read_body(self)
                got = Received(
                    self.command, self.path, list(self.headers.items()), body, verify(self.headers, upstream.secret)
                )
                upstream.received.append(got)
                self.close_connection = True
                # The gateway may hang up on a slow or oversized answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    upstream.script.get(urlsplit(self.path).path, echo)(self, got)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, *args):
                pass

        return self._serve_with(Handler)
