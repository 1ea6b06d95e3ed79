"""gen/ matches proto/, and every documented route is bound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.devtools import protogen

ROOT = Path(__file__).resolve().parents[3]
CHECKER = ROOT.parent / "shared" / "tools" / "check_seed_routes.py"


def test_gen_is_up_to_date(tmp_path: Path):
    protogen.generate(tmp_path / "gen")
    stale = protogen.differences(tmp_path / "gen", protogen.GEN)
    assert not stale, f"gen/ is stale, run `make gen`: {stale[:10]}"


def test_descriptor_set_has_every_service_and_the_error_detail_types():
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet.FromString((protogen.GEN / protogen.DESCRIPTOR).read_bytes())
    names = {f.name for f in fds.file}
    assert {"google/rpc/status.proto", "google/rpc/error_details.proto", "google/api/http.proto"} <= names
    services = {f"{f.package}.{s.name}" for f in fds.file for s in f.service}
    for name in ["user", "payment", "ledger", "credit", "analytics", "ai", "document"]:
        assert any(s.startswith(f"nexafi.{name}.v1.") for s in services), name


@pytest.mark.skipif(not CHECKER.exists(), reason="the mission's route checker is not beside the repository")
def test_every_documented_route_is_bound():
    result = subprocess.run([sys.executable, str(CHECKER), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "27 of 27 documented routes bound" in result.stdout
