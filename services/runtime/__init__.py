"""The shared runtime every NexaFi service uses: settings, the call graph, server bootstrap, auth,
errors, database sessions, migrations, ids, money, telemetry. (The development tooling, embedded
PostgreSQL included, is services.devtools.)"""

import os

# Every launcher (the dev stack, the test session, the embedded servers' owners) forks only
# to exec at once, while grpc's threads run. grpc's fork handlers are for fork without exec, and
# in a fork-then-exec child they can abort it before the exec (grpc/grpc#13873, #41768); set before
# grpc is first imported, which this package's modules do.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
