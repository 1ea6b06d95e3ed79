"""Small units everywhere: no module of any service package (each service, the shared runtime,
the development tooling, the gateway and the deployment renderer) grows past 500 lines; split
it by concern instead. Migrations are left out: each is one schema step, written once."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SERVICES = ROOT / "services"
PACKAGES = sorted(path.name for path in SERVICES.iterdir() if path.is_dir() and path.name != "__pycache__")
LIMIT = 500


def test_every_service_package_is_checked() -> None:
    assert {"runtime", "devtools", "gateway", "deploy", "ledger", "payment"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_over_500_lines(package: str) -> None:
    modules = sorted(
        path
        for path in (SERVICES / package).rglob("*.py")
        if "migrations" not in path.relative_to(SERVICES).parts
    )
    assert modules
    _assert_short(modules)


def test_no_top_level_module_over_500_lines() -> None:
    _assert_short(sorted(SERVICES.glob("*.py")))


def _assert_short(modules: list[Path]) -> None:
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in modules
        if (n := len(path.read_text().splitlines())) > LIMIT
    }
    assert too_long == {}
