"""Generate gen/ from proto/: Python stubs, Envoy's descriptor set and the contracts' comments.

``nexafi.pb`` (Envoy's, no source info: it is shipped in the gateway's configuration) and
``nexafi.docs.pb``: the nexafi files' proto comments only (source_code_info reduced to the
commented locations, without spans), which the OpenAPI document turns into summaries and
descriptions.

``python -m services.devtools.protogen gen`` rewrites gen/; ``check`` regenerates into
a temporary folder and fails when gen/ differs (a stale gen/ fails the tests).
"""

from __future__ import annotations

import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

from services.runtime.generated import DESCRIPTOR, DOCS_DESCRIPTOR, GEN, ROOT

PROTO = ROOT / "proto"
THIRD_PARTY = PROTO / "third_party"
# google.rpc types go into the descriptor set so Envoy can unpack error details.
EXTRA_DESCRIPTOR_INPUTS = ["google/rpc/status.proto", "google/rpc/error_details.proto"]


def proto_files() -> list[str]:
    return sorted(str(p.relative_to(PROTO)) for p in (PROTO / "nexafi").rglob("*.proto"))


def generate(out: Path) -> None:
    # Imported here: ``make check-gen`` and the tests import this module's helpers without
    # generating anything.
    from grpc_tools import protoc

    out.mkdir(parents=True, exist_ok=True)
    include = protoc._get_resource_file_name("grpc_tools", "_proto")
    files = proto_files()
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO}",
        f"-I{THIRD_PARTY}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed generating Python stubs")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO}",
        f"-I{THIRD_PARTY}",
        f"-I{include}",
        "--include_imports",
        f"--descriptor_set_out={out / DESCRIPTOR}",
        *files,
        *EXTRA_DESCRIPTOR_INPUTS,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed writing the descriptor set")
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / "full.pb"
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO}",
            f"-I{THIRD_PARTY}",
            f"-I{include}",
            "--include_source_info",
            f"--descriptor_set_out={full}",
            *files,
        ]
        if protoc.main(args) != 0:
            raise SystemExit("protoc failed writing the descriptor set with comments")
        (out / DOCS_DESCRIPTOR).write_bytes(_comments_only(full.read_bytes()))
    for package in (out / "nexafi").rglob("*"):
        if package.is_dir():
            (package / "__init__.py").touch()
    (out / "nexafi" / "__init__.py").touch()


def _comments_only(serialized: bytes) -> bytes:
    """The set with each file's source info reduced to its commented locations (path and comments)."""
    from google.protobuf import descriptor_pb2

    file_set = descriptor_pb2.FileDescriptorSet.FromString(serialized)
    for file in file_set.file:
        kept = [
            loc for loc in file.source_code_info.location if loc.leading_comments or loc.trailing_comments
        ]
        file.ClearField("source_code_info")
        for loc in kept:
            file.source_code_info.location.add(
                path=loc.path, leading_comments=loc.leading_comments, trailing_comments=loc.trailing_comments
            )
    return file_set.SerializeToString(deterministic=True)


def differences(left: Path, right: Path) -> list[str]:
    """Relative paths that differ between two trees (ignoring __pycache__)."""

    def files(root: Path) -> set[str]:
        return {
            str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
        }

    a, b = files(left), files(right)
    changed = sorted(a ^ b)
    changed += sorted(f for f in a & b if not filecmp.cmp(left / f, right / f, shallow=False))
    return changed


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "gen"
    if action == "gen":
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp) / "gen")
            if GEN.exists():
                shutil.rmtree(GEN)
            shutil.copytree(Path(tmp) / "gen", GEN)
        print(f"generated {GEN.relative_to(ROOT)}/ from {len(proto_files())} proto files")
        return 0
    if action == "check":
        with tempfile.TemporaryDirectory() as tmp:
            generate(Path(tmp) / "gen")
            stale = differences(Path(tmp) / "gen", GEN)
        if stale:
            print("gen/ is stale; run `make gen`. Differences: " + ", ".join(stale[:10]))
            return 1
        print("gen/ is up to date")
        return 0
    print("usage: protogen gen|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
