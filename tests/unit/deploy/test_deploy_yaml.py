"""The small YAML emitter behind the Kubernetes manifests: exact output, and no string that a YAML
reader could take for something else is written plain."""

from __future__ import annotations

import json

import pytest

from services.deploy import yaml


def test_block_style_document():
    document = {
        "apiVersion": "v1",
        "metadata": {"name": "user", "labels": {"app.kubernetes.io/name": "user"}},
        "spec": {
            "ports": [{"name": "grpc", "port": 50051}],
            "command": ["python", "-m", "services.user"],
            "empty": {},
            "none": [],
            "flag": True,
            "off": False,
            "nothing": None,
            "nested": [["a", "b"], [{"x": 1}]],
        },
    }
    assert yaml.dump(document) == """\
apiVersion: v1
metadata:
  name: user
  labels:
    app.kubernetes.io/name: user
spec:
  ports:
    - name: grpc
      port: 50051
  command:
    - python
    - "-m"
    - services.user
  empty: {}
  none: []
  flag: true
  "off": false
  nothing: null
  nested:
    - - a
      - b
    - - x: 1
"""


@pytest.mark.parametrize("text", [
    "", " ", "true", "True", "FALSE", "yes", "No", "on", "OFF", "y", "N", "null", "Null", "~",
    "1", "0", "-1", "1.5", "1e3", ".5", "0x1f", "0o17", "12:30", "2024-01-01", "+1", ".inf", ".NaN",
    "-m", "- x", "a: b", "key:", "a #b", "#x", "*x", "&x", "!x", "%x", "@x", "`x", "|x", ">x",
    "{x}", "[x]", "x,y", "'x'", '"x"', "a\nb", "tab\there", " lead", "trail ", "a  b", "?x", "ü",
])
def test_ambiguous_strings_are_quoted_as_json(text):
    out = yaml.scalar(text)
    assert out.startswith('"') and json.loads(out) == text


@pytest.mark.parametrize("text", [
    "user", "user:50051", "app.kubernetes.io/name", "/etc/envoy", "kubernetes.io/h2c", "RuntimeDefault",
    "python", "services.user", "nexafi-config", "LOG_FORMAT=json", "Run the user service",
])
def test_unambiguous_strings_stay_plain(text):
    assert yaml.scalar(text) == text


def test_scalars_and_refusals():
    assert yaml.scalar(0) == "0"
    assert yaml.scalar(True) == "true"
    assert yaml.scalar(None) == "null"
    with pytest.raises(TypeError):
        yaml.scalar(1.5)
    with pytest.raises(TypeError):
        yaml.dump({1: "a"})
    with pytest.raises(TypeError):
        yaml.dump({"a": ("tuple",)})


def test_several_documents_with_a_header():
    assert yaml.dump_all([{"a": 1}, {"b": [1]}], "# head\n") == "# head\na: 1\n---\nb:\n  - 1\n"
