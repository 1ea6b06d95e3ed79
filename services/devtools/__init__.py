"""Development and test tooling: the dev stack (``make run``), embedded PostgreSQL and S3,
child-process helpers, the Envoy launcher and code generation.

Nothing here ships in the image (k8s/Dockerfile.dockerignore leaves this package out) and
nothing in ``services.runtime`` or a service's start-up imports it
(tests/unit/runtime/test_import_graph.py).
"""

# First, before grpc is imported by any launcher here: the runtime's package turns grpc's fork
# handlers off (GRPC_ENABLE_FORK_SUPPORT), which these launchers need as much as the services do.
import services.runtime  # noqa: F401
