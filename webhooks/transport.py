"""One bounded HTTP POST to a customer's endpoint: an overall deadline and a cap on the bytes
read, whatever the receiver does.

Per-operation timeouts (httpx's) bound each socket read, not the request: a receiver that
trickles a byte every few seconds, in its headers or its body, or streams a body forever,
would keep a worker busy indefinitely. Here every connect, TLS handshake, write and read gets
at most the time left until one deadline, and the body is read only up to ``max_bytes``.
Built on httpcore (the engine under httpx) because httpx has no way to plug in such a socket
layer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

# What the network or the receiver can make httpcore raise; anything else is our bug.
_HTTP_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol)
_OPERATION_TIMEOUTS = {"connect": 5.0, "read": 10.0, "write": 10.0, "pool": 5.0}


@dataclass(frozen=True)
class Reply:
    """The receiver's status (None when no complete status line and headers arrived), the
    first ``max_bytes`` of its body, and what went wrong ("" when nothing did)."""

    status: int | None
    body: bytes
    error: str


def post_bounded(
    url: str, *, body: bytes, headers: dict[str, str], extensions: dict[str, Any], timeout: float, max_bytes: int
) -> Reply:
    """POST ``body`` and return within ``timeout`` seconds (plus scheduling noise), having
    read at most ``max_bytes`` of the response body (plus one network read)."""
    deadline = time.monotonic() + timeout
    status: int | None = None
    received = bytearray()
    try:
        with (
            httpcore.ConnectionPool(
                ssl_context=httpx.create_ssl_context(),
                retries=0,
                max_connections=1,
                network_backend=_DeadlineBackend(deadline),
            ) as pool,
            pool.stream(
                "POST",
                url,
                headers=list(headers.items()),
                content=body,
                extensions={**extensions, "timeout": _OPERATION_TIMEOUTS},
            ) as response,
        ):
            status = response.status
            for chunk in response.iter_stream():
                received += chunk
                if len(received) >= max_bytes:
                    break  # leaving the block closes the connection mid-body: nothing more is read
    except _HTTP_ERRORS as exc:
        if time.monotonic() >= deadline:
            what = "response body" if status is not None else "response"
            return Reply(status, bytes(received[:max_bytes]), f"The {what} did not complete within {timeout:g} s.")
        return Reply(status, bytes(received[:max_bytes]), f"{type(exc).__name__}: {exc}"[:2000])
    return Reply(status, bytes(received[:max_bytes]), "")


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with every operation's timeout capped at the time left."""

    def __init__(self, deadline: float):
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _time_left(self._deadline, timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise httpcore.UnsupportedProtocol("Webhook deliveries use TCP.")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: float):
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _time_left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _time_left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _time_left(deadline: float, timeout: float | None, expired: type[Exception]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("deadline reached")
    return left if timeout is None else min(timeout, left)
