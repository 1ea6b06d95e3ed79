"""Development and test tooling: the dev stack (``make run``), embedded PostgreSQL and S3,
child-process helpers, the Envoy launcher and code generation.

Nothing here ships in the image (k8s/Dockerfile.dockerignore leaves this package out) and
nothing in ``services.runtime`` or a service's start-up imports it
(tests/unit/runtime/test_import_graph.py).
"""
