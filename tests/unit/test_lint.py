"""`make lint` as a test, so CI keeps ruff, mypy and buf lint clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=ROOT, capture_output=True, text=True)


def test_ruff_is_clean():
    result = run(str(BIN / "ruff"), "check", "services", "tests")
    assert result.returncode == 0, result.stdout[-4000:]


def test_ruff_format_is_applied():
    result = run(str(BIN / "ruff"), "format", "--check", "services", "tests")
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.slow
def test_mypy_is_clean():
    result = run(str(BIN / "mypy"), "services", "tests/benchmarks")
    assert result.returncode == 0, result.stdout[-4000:]


def test_buf_lint_is_clean():
    buf = ROOT / "node_modules" / ".bin" / "buf"
    if not buf.exists():
        pytest.fail("buf is not installed: run `make tools`")
    result = run(str(buf), "lint")
    assert result.returncode == 0, result.stdout + result.stderr
