#!/usr/bin/env bash
# Builds the libfaketime that `make test-clocks` preloads, into the path given as $1.
#
# Debian's libfaketime 0.9.10 does not fit this suite. With FAKETIME_DONT_FAKE_MONOTONIC=1 (faked,
# Python's timed waits never end) it still translates deadlines on the real monotonic clock:
# Python 3.11's time.sleep fails with EINVAL (clock_nanosleep) and every timed condition wait
# (Python's GIL, gRPC) returns at once. A signal handler that reads the clock while libfaketime
# sits in a real poll/epoll_wait gets the real time: PostgreSQL's statement_timeout never fires.
# And Envoy hangs at start (its tcmalloc re-enters libfaketime's initialization).
# The same 0.9.10 source, as python-libfaketime 3.0.1 vendors it in its PyPI sdist (hash-pinned
# in requirements.txt), is built here without the sleep group (FAKE_SLEEP, as python-libfaketime
# builds it: in offset mode nothing needs it), stateless (no shared memory: see below) and with
# libfaketime-0.9.10.patch for the rest.
set -euo pipefail

out=${1:?usage: build.sh OUTPUT_LIBRARY}
here=$(cd "$(dirname "$0")" && pwd)
py=${PY:-.venv/bin/python}

for tool in cc make patch; do
  if ! command -v "$tool" >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc make patch libc6-dev
    elif command -v sudo >/dev/null; then
      sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends gcc make patch libc6-dev
    else
      echo "build.sh: $tool is missing and apt-get needs root" >&2; exit 1
    fi
    break
  fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
  --require-hashes -r "$here/requirements.txt" -d "$work/dl"
tar -xzf "$work"/dl/libfaketime-*.tar.gz -C "$work"
src=$(echo "$work"/libfaketime-*/libfaketime/vendor/libfaketime)
grep -q 'version\[\] = "0.9.10"' "$src/src/faketime.c" || { echo "build.sh: expected libfaketime 0.9.10" >&2; exit 1; }
patch --quiet -d "$src" -p1 < "$here/libfaketime-0.9.10.patch"
# Sleeps, poll and epoll_wait are not interposed (as python-libfaketime builds it): a signal
# handler that reads the clock while libfaketime waits in the real function gets the real time
# (PostgreSQL then put statement_timeout days away), and nothing here needs a faked rate.
# FAKE_STATELESS: no shared memory or semaphores. 0.9.10 otherwise creates /faketime_sem_<pid> and
# /faketime_shm_<pid> in every process (only runtime clock changes need them); a SIGKILLed process
# leaves them behind, a later process with the same pid (the embedded PostgreSQL runs as another
# user) cannot open them and exits ("libfaketime: sem_name was /faketime_sem_N"). An offset clock
# needs no shared state.
FAKETIME_COMPILE_CFLAGS="-UFAKE_SLEEP -DFAKE_STATELESS" make --quiet -C "$src/src" libfaketime.so.1 >/dev/null
mkdir -p "$(dirname "$out")"
install -m 0644 "$src/src/libfaketime.so.1" "$out"
echo "built $out (libfaketime 0.9.10 + libfaketime-0.9.10.patch)"
