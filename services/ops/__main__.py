"""``python -m services.ops verify-books``: see services/ops/books.py."""

from __future__ import annotations

import sys

from services.ops.books import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
