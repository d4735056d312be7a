"""The Dockerfile, checked by reading it (images cannot be pulled here), and its build-time
collectstatic run for real on a copy of the build context."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def _stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            current = stages.setdefault(rest.split(" AS ")[-1].strip(), [])
        current.append((keyword, rest))
    return stages


def test_multi_stage_on_python_3_13_slim():
    stages = _stages()
    assert list(stages) == ["builder", "static", "runtime"]
    assert "ARG PYTHON_IMAGE=python:3.13-slim" in (ROOT / "Dockerfile").read_text()
    assert stages["runtime"][0] == ("FROM", "${PYTHON_IMAGE} AS runtime")  # not on top of the builder


def test_builder_installs_requirements_with_hashes_when_the_file_has_them():
    runs = [rest for keyword, rest in _stages()["builder"] if keyword == "RUN"]
    install = next(run for run in runs if "requirements.txt" in run)
    assert "grep -q -- '--hash='" in install
    assert "pip install --require-hashes --only-binary=:all: -r /tmp/requirements.txt" in install
    assert "pip install -r /tmp/requirements.txt" in install


@pytest.mark.parametrize("hashed", [True, False])
def test_the_install_branch_follows_the_requirements_file(tmp_path, hashed):
    runs = [rest for keyword, rest in _stages()["builder"] if keyword == "RUN"]
    install = next(run for run in runs if "requirements.txt" in run).removeprefix("RUN ")
    requirements = "django==6.1.3 \\\n    --hash=sha256:" + "0" * 64 if hashed else "django==6.1.3"
    (tmp_path / "requirements.txt").write_text(requirements + "\n")
    fake_pip = tmp_path / "bin" / "pip"
    fake_pip.parent.mkdir()
    fake_pip.write_text('#!/bin/sh\necho "pip $*"\n')
    fake_pip.chmod(0o755)
    script = install.replace("/tmp/requirements.txt", str(tmp_path / "requirements.txt"))  # noqa: S108 - the image path, replaced
    result = subprocess.run(
        ["/bin/sh", "-c", script],
        env={"PATH": f"{fake_pip.parent}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert ("--require-hashes" in result.stdout) is hashed


def test_runtime_runs_as_a_non_root_user_with_the_entrypoint_and_a_health_check():
    runtime = _stages()["runtime"]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8000") in runtime
    assert ("ENTRYPOINT", '["/app/deploy/entrypoint.sh"]') in runtime
    assert ("CMD", '["web"]') in runtime
    healthcheck = next(rest for keyword, rest in runtime if keyword == "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["python", "deploy/healthcheck.py"]')
    assert "/healthz" in (ROOT / "deploy" / "healthcheck.py").read_text()
    assert ("COPY", "--from=static /app/var/staticfiles /app/var/staticfiles") in runtime


def _collectstatic_run() -> str:
    runs = [rest for keyword, rest in _stages()["static"] if keyword == "RUN"]
    return next(run for run in runs if "collectstatic" in run)


def test_collectstatic_runs_at_build_with_build_only_secrets_that_stay_in_their_stage():
    run = _collectstatic_run()
    assert "manage.py collectstatic --noinput" in run
    assert "build-only" in run
    # The runtime stage never sees them: no ENV, no ARG carries them over.
    runtime = " ".join(rest for _keyword, rest in _stages()["runtime"])
    assert "SECRET_KEY" not in runtime and "build-only" not in runtime


@pytest.mark.slow
def test_build_time_collectstatic_succeeds_on_the_build_context(tmp_path):
    """The stage's command on a copy of what `COPY . .` sends (.dockerignore applied roughly),
    with production static storage: a static file that names a missing one fails the build."""
    context = tmp_path / "app"
    ignored = shutil.ignore_patterns(
        ".git", ".venv", "var", "staticfiles", "test-artifacts", "__pycache__", "tests", "bench", ".*cache", ".env"
    )
    shutil.copytree(ROOT, context, ignore=ignored, symlinks=True)
    assignments, command = _collectstatic_run().split("python manage.py", 1)
    env = dict(word.split("=", 1) for word in shlex.split(assignments))
    result = subprocess.run(
        [sys.executable, "manage.py", *shlex.split(command)],
        cwd=context,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (context / "var" / "staticfiles" / "staticfiles.json").exists()  # the hashed manifest


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    lines = set((ROOT / ".dockerignore").read_text().splitlines())
    assert {".git", ".venv", ".env", "var/"} <= lines
