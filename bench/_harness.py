"""Shared by the bench scripts: start the portal like `make run` does, prepare a bench org.

Environment: DATABASE_URL and REDIS_URL (as for `make run`; `make bench` sets them),
BENCH_PORT (default 8300) and BENCH_UPSTREAM_PORT (default 8309: the demo product's upstream,
which `start_server` starts beside the portal as `make run` does).
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
UPSTREAM_PORT = int(os.environ.get("BENCH_UPSTREAM_PORT", "8309"))
# The demo product points here (seed_demo reads it); gateway and upstream share the identity secret.
os.environ.setdefault("DEMO_UPSTREAM_URL", f"http://127.0.0.1:{UPSTREAM_PORT}")
os.environ.setdefault("GATEWAY_IDENTITY_SECRET", "bench-identity-secret-" + "x" * 32)
_upstreams: list[subprocess.Popen] = []


def prepare_database() -> None:
    """migrate + seed_demo + collectstatic, exactly the steps of devtools/run.py."""
    manage = [sys.executable, "manage.py"]
    for args in (["migrate", "--noinput", "-v0"], ["seed_demo"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run([*manage, *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def django_setup():
    import django

    django.setup()


def bench_org(*, slug: str, rate_per_second=None, rate_per_minute=None, monthly_quota=None, overage_policy="bill"):
    """A private plan for a bench organization, its live subscription and a fresh live key."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Organization
    from keys.services import api_key_create
    from plans.models import Plan, Subscription
    from usage.entitlements import entitlements_publish

    org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": slug})
    plan, _ = Plan.objects.update_or_create(
        code=slug,
        defaults={
            "name": slug,
            "is_public": False,
            "organization": org,
            "rate_per_second": rate_per_second,
            "rate_per_minute": rate_per_minute,
            "monthly_quota": monthly_quota,
            "overage_policy": overage_policy,
        },
    )
    Subscription.objects.filter(organization=org).exclude(status="canceled").update(status="canceled")
    now = timezone.now()
    Subscription.objects.create(
        organization=org,
        plan=plan,
        current_period_start=now - timedelta(days=1),
        current_period_end=now + timedelta(days=29),
    )
    entitlements_publish(org_id=org.pk)
    _, raw = api_key_create(org=org, name=f"bench {now:%H:%M:%S}", mode="live")
    return org, raw


def start_server(
    *,
    port: int,
    workers: int,
    kind: str = "granian",
    app: str = "portal.asgi:application",
    extra_env: dict | None = None,
) -> subprocess.Popen:
    env = {**os.environ, **(extra_env or {})}
    if kind == "granian":  # what devtools/run.py (make run) starts
        cmd = [
            str(BIN / "granian"),
            "--interface",
            "asginl",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            app,
        ]
    elif kind == "gunicorn-uvicorn":
        cmd = [
            str(BIN / "gunicorn"),
            "-k",
            "uvicorn.workers.UvicornWorker",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app.replace(":", ":", 1),
        ]
    else:
        raise ValueError(kind)
    if app != UPSTREAM_APP and not _upstreams:
        _upstreams.append(upstream_start())
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    _wait_healthy(proc, port, kind)
    return proc


UPSTREAM_APP = "devtools.demo_upstream:app"


def upstream_start(workers: int = 1) -> subprocess.Popen:
    """The demo product's upstream on UPSTREAM_PORT. It verifies the identity signature unless
    BENCH_UPSTREAM_TRUSTING is set (bench_proxy calls it directly too, without one)."""
    env = dict(os.environ)
    if not os.environ.get("BENCH_UPSTREAM_TRUSTING"):
        env["TOLLGATE_IDENTITY_SECRET"] = os.environ["GATEWAY_IDENTITY_SECRET"]
    cmd = [str(BIN / "granian"), "--interface", "asginl", "--host", "127.0.0.1", "--port", str(UPSTREAM_PORT)]
    cmd += ["--workers", str(workers), "--log-level", "warning", UPSTREAM_APP]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    _wait_healthy(proc, UPSTREAM_PORT, "demo upstream")
    return proc


def _wait_healthy(proc: subprocess.Popen, port: int, what: str) -> None:
    deadline = time.time() + 40
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.25)
    _stop(proc)
    raise RuntimeError(f"{what} did not start on port {port}")


def stop_server(proc: subprocess.Popen) -> None:
    _stop(proc)
    while _upstreams:
        _stop(_upstreams.pop())


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wrk(url: str, *, seconds: int, connections: int, threads: int = 1, headers: dict | None = None) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {
        "rps": rps,
        "p50_ms": pct(50),
        "p99_ms": pct(99),
        "requests": total,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
        "raw": out,
    }
