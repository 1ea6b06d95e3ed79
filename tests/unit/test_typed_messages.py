"""mypy reads the generated message stubs: a wrong field name on a message is a type error.

If the stubs were skipped again (``follow_imports = "skip"`` for ``nexafi.*``) or the protobuf
runtime lost its types (``types-protobuf``), every message would be ``Any`` and `mypy services`
would pass over any misspelt field; this runs mypy, with the project's configuration, on a
snippet that misuses a message, and requires the errors.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MYPY = Path(sys.executable).parent / "mypy"

SNIPPET = """\
from nexafi.ledger.v1 import ledger_pb2

account = ledger_pb2.Account(id="acc_1", type=ledger_pb2.ACCOUNT_TYPE_ASSET)
owner: str = account.owner_id
print(owner, account.no_such_field)
ledger_pb2.Account(no_such_field="x")
account.balance_rule = 7
"""


@pytest.mark.slow
def test_mypy_reports_misuse_of_a_generated_message(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET)
    result = subprocess.run(
        [
            str(MYPY),
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(snippet),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    errors = sorted(
        line.split(": error: ", 1)[1] for line in result.stdout.splitlines() if ": error: " in line
    )
    assert errors == sorted(
        [
            '"Account" has no attribute "no_such_field"  [attr-defined]',
            'Unexpected keyword argument "no_such_field" for "Account"  [call-arg]',
            'Incompatible types in assignment (expression has type "int", variable has type "BalanceRule")'
            "  [assignment]",
        ]
    ), result.stdout + result.stderr
