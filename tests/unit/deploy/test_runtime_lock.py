"""requirements-runtime.lock, what the image installs: pinned with hashes, the same versions as the
development lock, none of the test, lint, training or generation tools, and every distribution the
image's entry points import when they start (a dependency added to requirements.lock alone would
pass every test here and fail in the cluster)."""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from services.deploy import k8s

ROOT = Path(__file__).resolve().parents[3]
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"
DEV_LOCK = ROOT / "requirements.lock"
# Tools of development, tests, training and code generation: never in the image.
NOT_IN_IMAGE = {
    "pytest",
    "pytest-timeout",
    "hypothesis",
    "mypy",
    "ruff",
    "moto",
    "flask",
    "pgserver",
    "grpcio-tools",
    "scikit-learn",
    "skl2onnx",
    "onnx",
    "pip-tools",
    "scipy",
    "opencv-python",
}
# In the runtime lock only: the installer (requirements.lock is `pip freeze`, which leaves it out)
# and OpenCV's headless build, which replaces opencv-python (same cv2 module and version).
RUNTIME_ONLY = {"pip", "setuptools", "opencv-python-headless"}
SUBSTITUTES = {"opencv-python": "opencv-python-headless"}
# What the image runs: every service, the user service's CLI (create-admin in the cluster), the
# signing-keys init container and the OpenAPI renderer of the image build.
ENTRY_POINTS = [
    *(f"services.{s}.__main__" for s in k8s.discover_services()),
    "services.user.cli",
    "services.deploy.signing_keys",
    "services.gateway.openapi",
]


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s\\;]+)", line)
        if match:
            found[normalize(match[1])] = match[2]
    return found


def test_every_package_is_pinned_with_hashes():
    text = RUNTIME_LOCK.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1] if text.startswith("#") else text)
    requirements = [e for e in entries if re.match(r"^[A-Za-z0-9]", e)]
    assert len(requirements) == len(pins(RUNTIME_LOCK)) > 20
    for entry in requirements:
        assert "==" in entry.splitlines()[0] and "--hash=sha256:" in entry, entry.splitlines()[0]


def test_runtime_pins_match_the_development_lock():
    runtime, dev = pins(RUNTIME_LOCK), pins(DEV_LOCK)
    assert set(runtime) >= RUNTIME_ONLY
    for name, version in runtime.items():
        if name in RUNTIME_ONLY - {"opencv-python-headless"}:
            continue
        dev_name = next((d for d, r in SUBSTITUTES.items() if r == name), name)
        assert dev.get(dev_name) == version, f"{name}=={version} here, {dev.get(dev_name)} in the dev lock"


def test_no_development_tool_in_the_image():
    assert not NOT_IN_IMAGE & set(pins(RUNTIME_LOCK))


def _module_path(module: str) -> Path | None:
    base = ROOT / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _start_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: its top-level statements (and their if/try
    blocks). Imports inside functions run later, on paths the image may not take (the embedded
    PostgreSQL of local runs): those are not followed."""
    found: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and not (
                isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            ):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(ast.parse(path.read_text()).body)
    return found


@cache
def start_modules() -> frozenset[str]:
    """The project modules the image's entry points import at start (those that exist)."""
    return frozenset(m for m in _walk_entry_points()[0] if _module_path(m) is not None)


@cache
def imported_distributions() -> dict[str, set[str]]:
    """Third-party distribution → the project modules that import it at start, from the entry points."""
    return _walk_entry_points()[1]


@cache
def _walk_entry_points() -> tuple[frozenset[str], dict[str, set[str]]]:
    distributions = packages_distributions()
    seen: set[str] = set()
    queue = list(ENTRY_POINTS)
    needed: dict[str, set[str]] = {}
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_path(module)
        if path is None:
            continue
        for imported in _start_imports(path):
            top = imported.split(".")[0]
            if top in ("services", "nexafi"):
                if top == "services":
                    parts = imported.split(".")
                    queue.extend(".".join(parts[:i]) for i in range(2, len(parts) + 1))
                continue
            if top in sys.stdlib_module_names or top == "__future__":
                continue
            for dist in distributions.get(top, [f"<no distribution for {top}>"]):
                needed.setdefault(normalize(dist), set()).add(module)
    return frozenset(seen), needed


def test_the_image_starts_without_the_development_tooling():
    # k8s/Dockerfile.dockerignore leaves services/devtools out of the image.
    assert "services.runtime.server" in start_modules()
    assert sorted(m for m in start_modules() if m.startswith("services.devtools")) == []
    assert "services/devtools/" in (ROOT / "k8s" / "Dockerfile.dockerignore").read_text().splitlines()


def test_entry_points_import_only_what_the_runtime_lock_has():
    runtime = set(pins(RUNTIME_LOCK))
    needed = imported_distributions()
    assert "grpcio" in needed and "sqlalchemy" in needed  # the walk reached the services
    missing = {
        dist: sorted(modules)
        for dist, modules in needed.items()
        if SUBSTITUTES.get(dist, dist) not in runtime
    }
    assert not missing, (
        "imported at start by the image's entry points but not in requirements-runtime.lock "
        f"(add it to requirements-runtime.in, then `make lock-runtime`): {missing}"
    )
