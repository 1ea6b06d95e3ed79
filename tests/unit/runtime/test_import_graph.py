"""The floors of the code: the shared runtime imports only itself (never a service, the gateway
or the development tooling), and the gateway only the runtime and itself. Every import counts,
also one inside a function: a lazy import is still a dependency of the floor it is written on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "services"


def _imported_modules(path: Path) -> set[str]:
    """Every module an ``import``/``from ... import`` anywhere in ``path`` names, resolved."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = package[: len(package) - node.level + 1]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.add(base)
            # `from services import devtools` names the package through its alias.
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _project_floors(path: Path) -> set[str]:
    """The ``services.<floor>`` packages ``path`` imports (ignoring modules that are not packages)."""
    floors = set()
    for module in _imported_modules(path):
        parts = module.split(".")
        if parts[0] == "services" and len(parts) > 1 and (SERVICES / parts[1]).is_dir():
            floors.add(parts[1])
    return floors


def _violations(floor: str, allowed: set[str]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((SERVICES / floor).rglob("*.py")):
        outside = sorted(_project_floors(path) - allowed)
        if outside:
            found[str(path.relative_to(ROOT))] = outside
    return found


def test_the_runtime_imports_only_itself():
    assert list((SERVICES / "runtime").rglob("*.py")), "services/runtime has no module"
    assert _violations("runtime", {"runtime"}) == {}


def test_the_gateway_imports_only_the_runtime():
    assert _violations("gateway", {"gateway", "runtime"}) == {}


@pytest.mark.parametrize(
    "source, floors",
    [
        ("from services.devtools.embedded_pg import EmbeddedPostgres", {"devtools"}),
        ("from services import devtools", {"devtools"}),
        ("import services.gateway.render", {"gateway"}),
        ("def f():\n    from services.payment import spec\n", {"payment"}),
        ("from .clock import Clock", {"runtime"}),
        ("from services.runtime.clock import Clock\nimport os", {"runtime"}),
    ],
)
def test_the_check_sees_every_form_of_import(tmp_path, monkeypatch, source, floors):
    # A module placed as services/runtime/probe.py in a tree of its own (relative imports resolve there).
    for name in ("runtime", "devtools", "gateway", "payment"):
        (tmp_path / "services" / name).mkdir(parents=True)
    module = tmp_path / "services" / "runtime" / "probe.py"
    module.write_text(source)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    monkeypatch.setitem(globals(), "SERVICES", tmp_path / "services")
    assert _project_floors(module) == floors
