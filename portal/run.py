"""``make run``: services, migrations, demo data, Celery worker + beat, and the ASGI server.

Ctrl-C (or SIGTERM) stops the server and the worker, then the embedded databases this run
started, and exits 0. Running it again reuses the data under ``var/``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from portal import devservices

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
WEB_WORKERS = os.environ.get("WEB_WORKERS", "2")


def _bin(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


def main() -> int:
    started_embedded = not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))
    os.environ.update(devservices.resolve("run"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], check=True)
    subprocess.run([*manage, "seed_demo"], check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], check=True)

    children = [
        subprocess.Popen([_bin("celery"), "-A", "portal", "worker", "--beat", "--loglevel=INFO", "--concurrency=2",
                          "--schedule", str(devservices.VAR / "celerybeat-schedule")]),
        subprocess.Popen([_bin("granian"), "--interface", "asgi", "--host", HOST, "--port", PORT,
                          "--workers", WEB_WORKERS, "portal.asgi:application"]),
    ]
    print(f"\n  Tollgate is serving on http://{HOST}:{PORT}/  (Ctrl-C stops everything)\n", flush=True)

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    code = 0
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        code = 1  # a child died on its own
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if started_embedded:
            devservices.stop_embedded_redis() if not os.environ.get("KEEP_SERVICES") else None
            devservices.stop_embedded_postgres() if not os.environ.get("KEEP_SERVICES") else None
    return code


if __name__ == "__main__":
    sys.exit(main())
