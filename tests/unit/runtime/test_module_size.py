"""Small units on the platform floors: no module of the shared runtime, the development tooling,
the gateway or the deployment renderer grows past 500 lines (split it by concern instead)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FLOORS = ("runtime", "devtools", "gateway", "deploy")
LIMIT = 500


@pytest.mark.parametrize("floor", FLOORS)
def test_no_module_over_500_lines(floor: str) -> None:
    modules = sorted((ROOT / "services" / floor).rglob("*.py"))
    assert modules
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in modules
        if (n := len(path.read_text().splitlines())) > LIMIT
    }
    assert too_long == {}
