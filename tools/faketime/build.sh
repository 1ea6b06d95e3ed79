#!/usr/bin/env bash
# Builds the libfaketime that `make test-clocks` preloads, into the path given as $1.
#
# Debian's libfaketime 0.9.10 does not fit this suite: with FAKETIME_DONT_FAKE_MONOTONIC=1 it
# still translates deadlines on the (real) monotonic clock, so Python 3.11's time.sleep fails
# with EINVAL and every timed condition wait (Python's GIL, gRPC) returns at once; and Envoy
# hangs at start (its tcmalloc re-enters libfaketime's initialization). Faking the monotonic
# clock instead makes timed waits such as Event.wait never end. The same 0.9.10 source, as
# python-libfaketime 3.0.1 vendors it in its PyPI sdist (hash-pinned in requirements.txt), is
# built here with libfaketime-0.9.10.patch, which fixes those three, and upstream's default
# features.
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
make --quiet -C "$src/src" libfaketime.so.1 >/dev/null
mkdir -p "$(dirname "$out")"
install -m 0644 "$src/src/libfaketime.so.1" "$out"
echo "built $out (libfaketime 0.9.10 + libfaketime-0.9.10.patch)"
