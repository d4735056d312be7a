"""compose.yaml, deploy/Caddyfile, .env.example and the Procfile, checked by reading them (images
cannot be pulled here): every service is there and runs what it should, the proxy speaks TLS 1.3
only, no secret is written down, and .env.example names every variable the settings read — so
adding a setting without documenting it fails here."""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker", "beat", "consumer")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PEPPER|TOKEN|DSN|_KEYS?$")
# ${NAME}, ${NAME:-default}, ${NAME:?message}; `$${…}` is a literal dollar for the container.
COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _caddyfile() -> str:
    return (ROOT / "deploy" / "Caddyfile").read_text()


def _caddy_block(header: str) -> str:
    """The body of the first Caddyfile block opened by ``header`` (a regex), nested braces and
    placeholders like ``{scheme}`` included."""
    text = _caddyfile()
    match = re.search(header + r"\s*\{", text, re.MULTILINE)
    assert match, f"no block {header!r}"
    depth, start = 1, match.end()
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start:index]
    raise AssertionError(f"block {header!r} is not closed")


def _env_example() -> dict[str, tuple[str, bool]]:
    """NAME → (value, active) for `NAME=value` and optional `# NAME=value` lines."""
    names: dict[str, tuple[str, bool]] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line):
            names[match[2]] = (match[3], not match[1])
    return names


def _settings_variables() -> set[str]:
    """Every NAME in an ``env_*("NAME"`` call of portal/settings.py (calls may span lines)."""
    source = (ROOT / "portal" / "settings.py").read_text()
    return set(re.findall(r"\benv_[a-z0-9_]+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def test_compose_names_every_service():
    services = _compose()["services"]
    assert {*APP_SERVICES, "postgres", "redis", "caddy"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["caddy"]["image"].startswith("caddy:2")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_service_runs_the_image_entrypoint_with_its_process_type(name):
    service = _compose()["services"][name]
    assert service["command"] == [name]
    assert "entrypoint" not in service  # the image's: deploy/entrypoint.sh (test_dockerfile)
    assert service["image"] == _compose()["services"]["web"]["image"]
    assert service["env_file"] == ".env"
    assert service["restart"] == "unless-stopped"


def test_only_the_proxy_publishes_ports():
    services = _compose()["services"]
    assert [name for name, service in services.items() if service.get("ports")] == ["caddy"]
    assert {"80:80", "443:443"} <= set(services["caddy"]["ports"])


def test_every_dependency_waits_for_a_health_check_that_exists():
    services = _compose()["services"]
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert rule == {"condition": "service_healthy"}, (name, target)
            check = services[target].get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), f"{name} waits for {target}, which has no check"
    assert set(services["web"]["depends_on"]) == {"postgres", "redis"}
    for name in ("worker", "beat", "consumer", "caddy"):
        assert "web" in services[name]["depends_on"], f"{name} must wait for web's migrations"


def test_the_app_services_reach_the_compose_postgres_and_redis():
    for name in APP_SERVICES:
        environment = _compose()["services"][name]["environment"]
        assert re.fullmatch(
            r"postgres://tollgate:\$\{POSTGRES_PASSWORD[^}]*\}@postgres:5432/tollgate", environment["DATABASE_URL"]
        )
        assert environment["REDIS_URL"].startswith("redis://redis:6379/")
        assert environment["GATEWAY_TRUSTED_PROXIES"] == "1"  # Caddy


def test_redis_persists_the_usage_stream_with_aof():
    redis = _compose()["services"]["redis"]
    assert redis["command"][redis["command"].index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_postgres_and_caddy_keep_their_data_in_volumes():
    compose = _compose()
    assert {"postgres_data", "caddy_data", "redis_data"} <= set(compose["volumes"])
    assert "postgres_data:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    assert "caddy_data:/data" in compose["services"]["caddy"]["volumes"]


def test_caddy_requires_tls_1_3_and_sets_the_forwarded_headers_itself():
    caddy = _compose()["services"]["caddy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    site = _caddy_block(r"^\{\$DOMAIN\}")
    tls = _caddy_block(r"\btls")
    assert tls in site
    # `protocols <min> [<max>]`: the minimum is TLS 1.3.
    assert re.search(r"^\s*protocols\s+tls1\.3(\s+tls1\.3)?\s*$", tls, re.MULTILINE), tls
    proxy = _caddy_block(r"reverse_proxy\s+web:8000")
    assert proxy in site
    assert re.search(r"^\s*header_up\s+X-Forwarded-Proto\s+\{scheme\}\s*$", proxy, re.MULTILINE)
    assert re.search(r"^\s*header_up\s+X-Forwarded-For\s+\{remote_host\}\s*$", proxy, re.MULTILINE)


def _strings(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, (*path, str(index)))
    elif isinstance(node, str):
        yield path, node


def test_compose_writes_down_no_secret_only_references_to_env():
    for path, value in _strings(_compose()):
        key = path[-1]
        if SECRET_NAME.search(key):
            # The whole value is one reference; `:?` stops compose when it is unset, `:-` would
            # be a default secret.
            assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:\?[^}]*)?\}", value), (path, value)
        for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
            assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:\?[^}]*)?\}", password), (path, value)


def test_every_variable_compose_caddy_and_the_entrypoint_use_is_in_env_example():
    listed = set(_env_example())
    used = set(COMPOSE_VARIABLE.findall((ROOT / "compose.yaml").read_text()))
    used |= set(re.findall(r"\{\$([A-Z_][A-Z0-9_]*)\}", _caddyfile()))
    used |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*):-", (ROOT / "deploy" / "entrypoint.sh").read_text()))
    assert {"POSTGRES_PASSWORD", "DOMAIN", "ACME_EMAIL", "WEB_WORKERS", "WORKER_QUEUES"} <= used
    assert used - listed == set()


def test_env_example_lists_every_variable_the_settings_read():
    read = _settings_variables()
    assert {"DEBUG", "SECRET_KEY", "EMAIL_URL", "GATEWAY_IDENTITY_SECRET", "JWT_SIGNING_KEYS"} <= read
    assert len(read) > 60
    assert read - set(_env_example()) == set()


def test_env_example_holds_no_secret_value():
    for name, (value, _active) in _env_example().items():
        if SECRET_NAME.search(name):
            assert value == "", f"{name} has a value in .env.example"


def _load_settings(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import django; from django.conf import settings; settings.INSTALLED_APPS; print(settings.DEBUG)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def _env_from_example(**overrides: str) -> dict[str, str]:
    """The process environment compose would give the web service from .env.example."""
    base = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    active = {name: value for name, (value, active) in _env_example().items() if active}
    return {
        **base,
        "DJANGO_SETTINGS_MODULE": "portal.settings",  # the image's ENV
        **active,
        "DATABASE_URL": "postgres://tollgate:x@postgres:5432/tollgate",
        **overrides,
    }


def test_env_example_as_is_refuses_to_start_until_the_secrets_are_filled_in():
    result = _load_settings(_env_from_example())
    assert result.returncode != 0
    assert "ImproperlyConfigured: Environment variable SECRET_KEY is required" in result.stderr, result.stderr[-2000:]


def test_env_example_with_generated_secrets_is_a_working_production_configuration():
    result = _load_settings(
        _env_from_example(
            SECRET_KEY=secrets.token_urlsafe(50),
            FIELD_ENCRYPTION_KEY=base64.b64encode(os.urandom(32)).decode(),
            API_KEY_PEPPER=secrets.token_urlsafe(50),
            GATEWAY_IDENTITY_SECRET=secrets.token_urlsafe(40),
            POSTGRES_PASSWORD=secrets.token_hex(32),
        )
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "False"  # production: DEBUG is off


def test_procfile_runs_every_process_through_the_entrypoint():
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert lines == {
        "release": "deploy/entrypoint.sh migrate",
        **{name: f"deploy/entrypoint.sh {name}" for name in APP_SERVICES},
    }
