"""Settings validation, run in a fresh interpreter per case (settings are read once per process)."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests in this process; a deployment never has it.
MANAGED = (
    "DEBUG",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEY",
    "ALLOWED_HOSTS",
    "EMAIL_URL",
    "TESTING",
    "SECURE_HSTS_SECONDS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "GATEWAY_IDENTITY_SECRET",
)


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in MANAGED and not k.startswith("PYTEST")}
    env.update({"DJANGO_SETTINGS_MODULE": "portal.settings", "PYTHONPATH": str(ROOT)})
    env.update(overrides)
    return env


def _production(**overrides: str) -> dict[str, str]:
    production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "portal.example.com",
        "EMAIL_URL": "smtp://mailer:s3cret@smtp.example.com:587",
        "STRIPE_SECRET_KEY": "sk_live_example",
        "STRIPE_WEBHOOK_SECRET": "whsec_example",
        "PAYSTACK_SECRET_KEY": "sk_live_paystack_example",
        "GATEWAY_IDENTITY_SECRET": secrets.token_urlsafe(40),
    }
    return _env(**{**production, **overrides})


def _load_settings(env: dict[str, str], expr: str = "'ok'") -> subprocess.CompletedProcess:
    code = f"import django; from django.conf import settings; settings.INSTALLED_APPS; print({expr})"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_development_defaults_load():
    result = _load_settings(_env(DEBUG="1"), "settings.DEBUG, settings.PASSWORD_HASHERS[0]")
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout and "Argon2PasswordHasher" in result.stdout


def test_unset_debug_means_production_and_refuses_to_start_without_secrets():
    result = _load_settings(_env())
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_unset_debug_with_production_secrets_is_production():
    env = _production()
    del env["DEBUG"]
    result = _load_settings(
        env, "settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "False"]


def test_production_settings_load_and_are_hardened():
    expr = "settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, settings.SECURE_HSTS_SECONDS, settings.MAILERS['default']['BACKEND']"
    result = _load_settings(_production(), expr)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "31536000", "django.core.mail.backends.smtp.EmailBackend"]


@pytest.mark.parametrize("missing", ["SECRET_KEY", "FIELD_ENCRYPTION_KEY", "ALLOWED_HOSTS"])
def test_production_requires_each_secret(missing):
    env = _production()
    del env[missing]
    result = _load_settings(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing in result.stderr


def test_production_refuses_the_development_secret_key():
    result = _load_settings(_production(SECRET_KEY="dev-insecure-secret-key-change-me-0123456789abcdef0123456789"))
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("SECURE_SSL_REDIRECT", "yess", "is not a boolean"),
        ("DB_CONN_MAX_AGE", "sixty", "DB_CONN_MAX_AGE='sixty' is not an integer"),
        ("INVITATION_TTL_DAYS", "7d", "is not an integer"),
        ("FIELD_ENCRYPTION_KEY", "not base64!", "not valid base64"),
        ("FIELD_ENCRYPTION_KEY", base64.b64encode(b"short").decode(), "must decode to 32 bytes"),
        ("DATABASE_URL", "sqlite:///tmp/db.sqlite3", "must point at PostgreSQL"),
    ],
)
def test_bad_values_fail_loudly(name, value, message):
    result = _load_settings(_env(**{"DEBUG": "1", name: value}))
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-2000:]


@pytest.mark.django_db
def test_check_deploy_is_clean_with_production_env():
    # Some checks (drf-spectacular's schema generation) read the database: point the
    # subprocess at the migrated test database rather than a possibly unmigrated dev one.
    from django.db import connection

    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    if db.get("PASSWORD"):
        from urllib.parse import quote

        database_url = (
            f"postgres://{db['USER']}:{quote(db['PASSWORD'], safe='')}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production(DATABASE_URL=database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_without_email_url_is_flagged_by_check_deploy():
    env = _production()
    del env["EMAIL_URL"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "mail.E001" in result.stdout + result.stderr


def test_development_console_email_is_readable(capsys):
    from django.core.mail import EmailMessage

    from portal.mail import ReadableConsoleBackend

    long_link = "http://127.0.0.1:8000/accounts/confirm-email/" + "x" * 90 + "/"
    ReadableConsoleBackend().send_messages(
        [EmailMessage("Confirm", f"Go to {long_link}\n", "from@example.com", ["to@example.com"])]
    )
    out = capsys.readouterr().out
    assert long_link in out and "Email to: to@example.com" in out and "Subject: Confirm" in out


def test_production_refuses_a_provider_left_on_the_sandbox():
    """An enabled provider without a key would let test cards buy plans in production."""
    result = _load_settings(_production(PAYSTACK_SECRET_KEY=""))
    assert result.returncode != 0
    assert "Paystack enabled without a secret key" in result.stderr
    opted_in = _load_settings(
        _production(PAYSTACK_SECRET_KEY="", BILLING_SANDBOX_ALLOWED="1"), "settings.BILLING_SANDBOX"
    )
    assert opted_in.returncode == 0, opted_in.stderr
    assert "True" in opted_in.stdout
    turned_off = _load_settings(_production(PAYSTACK_SECRET_KEY="", PAYSTACK_ENABLED="0"), "settings.BILLING_SANDBOX")
    assert turned_off.returncode == 0 and "False" in turned_off.stdout


def test_real_stripe_key_requires_a_real_webhook_secret():
    env = _production()
    del env["STRIPE_WEBHOOK_SECRET"]
    result = _load_settings(env)
    assert result.returncode != 0
    assert "STRIPE_WEBHOOK_SECRET" in result.stderr
