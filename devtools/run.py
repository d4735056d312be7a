"""``make run``: services, migrations, demo data, a Celery worker for every queue, beat, the
demo product's upstream API (``devtools/demo_upstream.py``) and the ASGI server.

Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM stops the
server and the worker, then the embedded databases this run started, and exits 0. Running
it again reuses the data under ``var/``. A failing step (e.g. a migration) also stops the
embedded databases before exiting non-zero.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time

from devtools import services
from portal.celery import QUEUES

HOST = os.environ.get("HOST", "127.0.0.1")
PORT = os.environ.get("PORT", "8000")
WEB_WORKERS = os.environ.get("WEB_WORKERS", "2")
DEMO_UPSTREAM_PORT = os.environ.get("DEMO_UPSTREAM_PORT", "8100")


def _bin(name: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), name)


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _granian(app: str, host: str, port: str, *options: str, env: dict | None = None) -> subprocess.Popen:
    # asginl: ASGI without lifespan events (Django has none), so granian does not warn.
    return subprocess.Popen(
        [_bin("granian"), "--interface", "asginl", "--host", host, "--port", port, *options, app], env=env
    )


def _serve() -> int:
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput"], check=True)
    subprocess.run([*manage, "seed_demo"], check=True)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], check=True)

    children: list[subprocess.Popen] = []
    try:
        # The demo product's upstream: the gateway reaches it only through the catalogue. It
        # refuses calls whose Tollgate-Signature does not verify, like a real upstream.
        children.append(
            _granian(
                "devtools.demo_upstream:app",
                "127.0.0.1",
                DEMO_UPSTREAM_PORT,
                "--log-level",
                "warning",
                env={**os.environ, "TOLLGATE_IDENTITY_SECRET": os.environ["GATEWAY_IDENTITY_SECRET"]},
            )
        )
        # One worker for every queue; beat on its own (redbeat takes its lock in `celery beat`).
        children.append(
            subprocess.Popen(
                [
                    _bin("celery"),
                    "-A",
                    "portal",
                    "worker",
                    "--loglevel=WARNING",
                    "--concurrency=2",
                    "-Q",
                    ",".join(QUEUES),
                ]
            )
        )
        children.append(subprocess.Popen([_bin("celery"), "-A", "portal", "beat", "--loglevel=WARNING"]))
        children.append(_granian("portal.asgi:application", HOST, PORT, "--workers", WEB_WORKERS))
        print(f"\n  Tollgate is serving on http://{HOST}:{PORT}/  (Ctrl-C stops everything)\n", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("[run] a child process exited on its own; stopping the rest", file=sys.stderr)
        return 1
    finally:
        _stop_children(children)


def main() -> int:
    def _terminate(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    # Explicit, because a shell that starts us in the background hands us SIGINT ignored.
    signal.signal(signal.SIGINT, _terminate)
    service_env = services.resolve("run")
    started_embedded = [name for name in service_env.pop("TOLLGATE_EMBEDDED_STARTED").split(",") if name]
    os.environ.update(service_env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    # Shared by the gateway and the demo upstream for the signed identity headers.
    os.environ.setdefault("GATEWAY_IDENTITY_SECRET", secrets.token_hex(32))
    os.environ.setdefault("DEMO_UPSTREAM_URL", f"http://127.0.0.1:{DEMO_UPSTREAM_PORT}")
    # Links in emails point at the address this run actually serves on.
    os.environ.setdefault("SITE_URL", f"http://{HOST}:{PORT}")
    # Prometheus counters of every web and Celery process, added up at /metrics: emptied
    # first, or the files of the last run would add their old counts (docs/metrics.md).
    metrics_dir = os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(services.VAR / "prometheus"))
    shutil.rmtree(metrics_dir, ignore_errors=True)
    os.makedirs(metrics_dir)
    code = 0
    try:
        code = _serve()
    except KeyboardInterrupt:
        # The terminal's Ctrl-C reached the children too; _serve's finally waited for them.
        print("\n[run] stopped", file=sys.stderr)
    except subprocess.CalledProcessError as exc:
        print(f"[run] {' '.join(map(str, exc.cmd[1:3]))} failed with exit code {exc.returncode}", file=sys.stderr)
        code = exc.returncode or 1
    finally:
        # Stop only the embedded servers this run started (KEEP_SERVICES=1 leaves them up).
        if started_embedded and not os.environ.get("KEEP_SERVICES"):
            services.stop(started_embedded)
    return code


if __name__ == "__main__":
    sys.exit(main())
