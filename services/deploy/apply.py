"""What a client-side ``kubectl apply`` stores on an object, and whether the API server takes it.

A client-side apply (``kubectl apply -f/-k`` without ``--server-side``) copies the object it sends
into the annotation ``kubectl.kubernetes.io/last-applied-configuration``, so that the next apply can
compute a three-way merge. The API server refuses any object whose annotations (keys and values,
in bytes) add up to more than 256 KiB: ``metadata.annotations: Too long: must have at most 262144
bytes`` (kubernetes/kubectl#712). A ConfigMap holding about 240 KB of files hits that although it is
far below a ConfigMap's own 1 MiB limit, and no schema validator notices, because the annotation
only exists once kubectl has written it. ``annotations_size`` computes it offline, as kubectl does.
"""

from __future__ import annotations

import json
from typing import Any

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# apimachinery's TotalAnnotationSizeLimitB.
ANNOTATIONS_LIMIT = 256 * 1024
# Our ceiling, a quarter below the server's: an object that grows towards the limit (a new route,
# more OpenAPI text in the gateway's config) fails the tests long before an apply fails.
ANNOTATIONS_BUDGET = ANNOTATIONS_LIMIT * 3 // 4


def _go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, non-ASCII kept, ``<``, ``>``, ``&``, U+2028
    and U+2029 escaped (HTML-safe), followed by the newline json.Encoder appends."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text + "\n"


def last_applied_configuration(obj: dict[str, Any]) -> str:
    """The annotation's value: the object as sent, without a previous value of that annotation
    (kubectl's ``GetModifiedConfiguration``, encoded by the unstructured JSON scheme)."""
    metadata = dict(obj.get("metadata") or {})
    # kubectl deletes its own key from the annotations and encodes what is left, an empty map
    # included: the stored value always has "annotations" (measured on kube-apiserver 1.20).
    metadata["annotations"] = {
        k: v for k, v in (metadata.get("annotations") or {}).items() if k != LAST_APPLIED
    }
    return _go_json({**obj, "metadata": metadata})


def annotations_size(obj: dict[str, Any]) -> int:
    """Bytes the API server counts against ANNOTATIONS_LIMIT once a client-side apply has written
    ``obj``: every key and value of its annotations, the last-applied configuration included."""
    others = {
        k: v for k, v in ((obj.get("metadata") or {}).get("annotations") or {}).items() if k != LAST_APPLIED
    }
    total = sum(len(k.encode()) + len(str(v).encode()) for k, v in others.items())
    return total + len(LAST_APPLIED) + len(last_applied_configuration(obj).encode())
