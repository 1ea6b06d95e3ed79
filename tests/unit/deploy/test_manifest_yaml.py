"""The manifests' YAML (PyYAML's safe dumper): block style, keys in the order written, and every
string read back as the same string by a YAML 1.1 reader (Go's yaml.v2 in kubectl reads "on",
"yes" or "0o17" as something else if they are written plain)."""

from __future__ import annotations

import pytest
import yaml

from services.deploy import k8s_objects

AMBIGUOUS = [
    "",
    " ",
    "true",
    "True",
    "FALSE",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "N",
    "null",
    "Null",
    "~",
    "1",
    "0",
    "-1",
    "1.5",
    "1e3",
    ".5",
    "0x1f",
    "0o17",
    "017",
    "12:30",
    "2024-01-01",
    "+1",
    ".inf",
    ".NaN",
    "-m",
    "- x",
    "a: b",
    "key:",
    "a #b",
    "#x",
    "*x",
    "&x",
    "!x",
    "%x",
    "@x",
    "`x",
    "|x",
    ">x",
    "{x}",
    "[x]",
    "x,y",
    "'x'",
    '"x"',
    "a\nb",
    "tab\there",
    " lead",
    "trail ",
    "a  b",
    "?x",
    "ü",
    "=",
    "<<",
]


def body(*documents: dict[str, object]) -> str:
    return k8s_objects.to_yaml(*documents).decode().removeprefix(k8s_objects.HEADER)


def test_block_style_keys_in_order_and_lists_indented_under_their_key():
    document = {
        "apiVersion": "v1",
        "metadata": {"name": "user", "labels": {"app.kubernetes.io/name": "user"}},
        "spec": {
            "ports": [{"name": "grpc", "port": 50051}],
            "empty": {},
            "none": [],
            "flag": True,
            "nothing": None,
        },
    }
    assert (
        body(document)
        == """\
apiVersion: v1
metadata:
  name: user
  labels:
    app.kubernetes.io/name: user
spec:
  ports:
    - name: grpc
      port: 50051
  empty: {}
  none: []
  flag: true
  nothing: null
"""
    )


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_every_string_reads_back_as_itself(text):
    assert yaml.safe_load(body({"value": text, text: "key"})) == {"value": text, text: "key"}


@pytest.mark.parametrize("text", ["0o17", "0b11", "1e3", "-1E+3", "1_000", "017", "9090", ".5"])
def test_strings_that_a_yaml_1_2_or_go_reader_takes_for_numbers_are_quoted(text):
    assert body({"value": text}) in (f'value: "{text}"\n', f"value: '{text}'\n")


def test_long_strings_stay_on_one_line():
    text = "x " * 200 + "end"
    assert body({"value": text}) == f"value: {text}\n"


def test_several_documents_after_the_header():
    out = k8s_objects.to_yaml({"a": 1}, {"b": [1]}).decode()
    assert out.startswith(k8s_objects.HEADER)
    assert list(yaml.safe_load_all(out)) == [{"a": 1}, {"b": [1]}]


def test_only_plain_data_is_written():
    with pytest.raises(yaml.representer.RepresenterError):
        k8s_objects.to_yaml({"a": object()})
