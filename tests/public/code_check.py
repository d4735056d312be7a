"""Checks that generated code samples parse in their language (bash, node, python, php)."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path


def assert_valid_code(sources: dict[str, str], tmp_path: Path) -> None:
    """``sources``: language → source, as in ``x-codeSamples``. node and php are skipped when
    they are not installed."""
    ast.parse(sources["python"])
    result = subprocess.run(["bash", "-n"], input=sources["curl"], text=True, capture_output=True)
    assert result.returncode == 0, (result.stderr, sources["curl"])
    if shutil.which("node"):
        script = tmp_path / "sample.mjs"
        script.write_text(sources["javascript"])
        result = subprocess.run(["node", "--check", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, (result.stderr, sources["javascript"])
    if shutil.which("php"):
        script = tmp_path / "sample.php"
        script.write_text(sources["php"])
        result = subprocess.run(["php", "-l", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, (result.stdout, sources["php"])
