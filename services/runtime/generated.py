"""Where the generated contracts live: gen/ (the Python stubs, on every process's path) and the
descriptor sets in it that the gateway reads.

``services.devtools.protogen`` writes them (``make gen``); the image carries gen/ as built, so
the gateway and the OpenAPI renderer need these names, never the generator.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "gen"
# Envoy's transcoder reads this set (no source info: it ships in the gateway's configuration).
DESCRIPTOR = "nexafi.pb"
# The nexafi files' proto comments only, which the OpenAPI document turns into descriptions.
DOCS_DESCRIPTOR = "nexafi.docs.pb"
