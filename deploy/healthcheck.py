"""The web container's health check (Dockerfile ``HEALTHCHECK``, compose.yaml): exit 0 when
``/healthz`` on this container's ``PORT`` answers 200, else 1.

Standard library only, no Django start-up, so it is cheap every few seconds. The request names
the first of ``ALLOWED_HOSTS`` as its host: Django refuses a host it does not serve (400), and
in production that list holds the public name only.
"""

from __future__ import annotations

import http.client
import os
import sys


def probe_host() -> str:
    first = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
    return "localhost" if first in ("", "*") else first


def main() -> int:
    conn = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT", "8000")), timeout=4)
    try:
        conn.request("GET", "/healthz", headers={"Host": probe_host()})
        status = conn.getresponse().status
    except OSError as exc:
        print(f"healthcheck: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if status != 200:
        print(f"healthcheck: /healthz answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
