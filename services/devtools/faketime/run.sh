#!/usr/bin/env bash
# Runs the `make test` suite (the same pytest invocation) once per instant given, with every
# process's wall clock shifted to that instant by the libfaketime that build.sh makes:
#   run.sh LIBRARY "2026-12-08 02:00Z" ["2026-12-13 20:00Z" ...]
# Extra pytest arguments (paths, --basetemp=...) come from $PYTEST_ARGS.
# The clock is an offset from now, not a frozen instant: the embedded PostgreSQL runs as its own
# user and cannot share a start-at timeline, so every process moves on together from the instant.
# The monotonic clock stays real (faked, Python's timed waits never end).
set -uo pipefail

lib=$(realpath "${1:?usage: run.sh LIBRARY INSTANT...}"); shift
[ $# -gt 0 ] || { echo "run.sh: give at least one instant, e.g. \"2026-12-08 02:00Z\"" >&2; exit 2; }
py=${PY:-.venv/bin/python}
logs=${CLOCK_LOGS:-.data/faketime/logs}
mkdir -p "$logs"
read -r -a extra <<< "${PYTEST_ARGS:-}"

results=()
status=0
for at in "$@"; do
  target=$(date -u -d "$at" +%s) || { echo "run.sh: cannot read instant '$at'" >&2; exit 2; }
  want=$(date -u -d "@$target" '+%a %H:%M')
  log="$logs/$(date -u -d "@$target" +%Y%m%dT%H%MZ).log"
  offset=$(( target - $(date +%s) ))
  sign=+; [ "$offset" -lt 0 ] && sign=
  fake=(env LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" FAKETIME="$sign$offset" FAKETIME_DONT_FAKE_MONOTONIC=1)
  # A preload that silently does nothing would turn this into an ordinary run: check the clock
  # the suite will see, and that sleeps and timed waits still end, before running it.
  seen=$("${fake[@]}" timeout 20 "$py" -c 'import datetime as d, threading, time
time.sleep(0.01); threading.Event().wait(0.01)
print(d.datetime.now(d.timezone.utc).strftime("%a %H:%M"))' 2>&1 | tail -n 1)
  # Envoy (tcmalloc) hung at start under an unpatched libfaketime: a hang here fails at once.
  envoy=$(dirname "$py")/envoy
  if [ -x "$envoy" ] && ! "${fake[@]}" timeout 20 "$envoy" --version >/dev/null 2>&1; then
    seen="$seen; envoy --version fails or hangs"
  fi
  if [ "$seen" != "$want" ]; then
    echo "run.sh: under the preload the clock reads '$seen', not '$want'" >&2
    results+=("$want UTC ($at): BROKEN CLOCK ($seen)"); status=1; continue
  fi
  echo "=== suite at $want UTC ($at), FAKETIME=$sign$offset, log $log"
  "${fake[@]}" "$py" -m pytest -q "${extra[@]}" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  summary=$(grep -E '(passed|failed|errors?|no tests ran).* in [0-9.]+s' "$log" | tail -n 1 | sed 's/^=* *//; s/ *=*$//')
  if [ "$rc" = 0 ]; then results+=("$want UTC ($at): PASS  $summary")
  else results+=("$want UTC ($at): FAIL (pytest exit $rc)  $summary"); status=1; fi
done

echo
echo "=== suite under a pinned clock, per instant"
printf '%s\n' "${results[@]}"
exit $status
