"""Run every benchmark: ``python -m tests.benchmarks``."""

from __future__ import annotations

import importlib
import sys

# Each module has a main() that prints its figures and returns an exit code.
BENCHMARKS = [
    "tests.benchmarks.ledger_bench",
    "tests.benchmarks.gateway_bench",
    "tests.benchmarks.ai_bench",
    "tests.benchmarks.payment_bench",
    "tests.benchmarks.document_bench",
    "tests.benchmarks.analytics_bench",
    "tests.benchmarks.revocation_bench",
    "tests.benchmarks.replicas",
    "tests.benchmarks.clearing_bench",
    "tests.benchmarks.reconciliation_bench",
    "tests.benchmarks.runtime_bench",
    # Last: it ends with the one table of figures against the performance targets.
    "tests.benchmarks.deployed",
]


def main() -> int:
    status = 0
    for name in BENCHMARKS:
        print(f"== {name}", flush=True)
        status |= importlib.import_module(name).main()
    return status


if __name__ == "__main__":
    sys.exit(main())
