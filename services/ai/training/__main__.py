"""Command line: ``python -m services.ai.training [--out DIR] [--seed N] [--small]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.ai.training.common import Progress
from services.ai.training.pipeline import DEFAULT_SEED, DEFAULT_VERSION, default_training_date, run, summary
from services.runtime.config import env_str

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "models"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.ai.training",
        description="Generate synthetic data, train, evaluate and export the AI service's ONNX models.",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output folder (default: services/ai/models)"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})"
    )
    parser.add_argument("--small", action="store_true", help="small data and models: a fast run for tests")
    parser.add_argument(
        "--version", default=None, help=f"model version folder for every model (default: {DEFAULT_VERSION})"
    )
    parser.add_argument(
        "--training-date",
        default=None,
        help="YYYY-MM-DD recorded in metadata (default: $SOURCE_DATE_EPOCH if set, else today, UTC)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    result = run(
        args.out,
        seed=args.seed,
        small=args.small,
        version=args.version,
        training_date=args.training_date or default_training_date(env_str("SOURCE_DATE_EPOCH")),
        progress=Progress(enabled=not args.quiet),
    )
    print(summary(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
