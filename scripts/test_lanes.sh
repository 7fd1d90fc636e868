#!/usr/bin/env bash
# make test's driver: two lanes of stages side by side, each lane in order, stopping at its
# first failure; every line a stage prints starts with its name ("[unit] ..."), and each
# stage's time is printed when it ends. Then a line with the total and every stage's time (also
# written to $SUMMARY, when set, for the Makefile's closing line).
#   scripts/test_lanes.sh "lint unit nbval" "book-check browser-test"
# Why two lanes: the browser tests leave the CPU idle about a sixth of the time (page loads,
# network-idle waits) and the site's build is one process per edition; the unit tests and
# nbval fill those gaps. The lanes share no files (see the Makefile).
# The exit status is the first failing lane's (0 when all passed).
set -uo pipefail
MAKE=${MAKE:-make}
times=$(mktemp)
trap 'rm -f "$times"' EXIT

stage() {
  local name=$1 start status took
  start=$(date +%s)
  "$MAKE" --no-print-directory "$name" 2>&1 | sed -u "s/^/[$name] /"
  status=${PIPESTATUS[0]}
  took=$(( $(date +%s) - start ))
  echo "$name $took $status" >> "$times"
  echo "---- make $name: $took s$( [ "$status" = 0 ] || echo ", FAILED ($status)")"
  return "$status"
}

lane() {
  local name
  for name in $1; do
    stage "$name" || return $?
  done
}

start=$(date +%s)
pids=()
for stages in "$@"; do
  lane "$stages" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || { code=$?; [ "$status" = 0 ] && status=$code; }
done
total=$(( $(date +%s) - start ))

summary=""
failed=""
for name in $*; do  # every stage, in the order the lanes name them
  read -r _ took code < <(grep "^$name " "$times") || { summary+=", ${name%-*} not run"; continue; }
  summary+=", ${name%-*} $took s"
  [ "$code" = 0 ] || failed+=" $name"
done
summary="${summary#, }; two lanes side by side"
if [ "$status" = 0 ]; then
  echo "all stages passed in $total s ($summary)"
else
  summary="FAILED:${failed}; $summary"
  echo "$summary, after $total s"
fi
[ -z "${SUMMARY:-}" ] || echo "$summary" > "$SUMMARY"  # for the Makefile's closing line
exit "$status"
