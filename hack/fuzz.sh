#!/usr/bin/env bash
# Runs each of the daemon's fuzz targets for a fixed budget, one after the
# other, and prints how many inputs each one tried.
#
#   hack/fuzz.sh          # 20s per target
#   hack/fuzz.sh 2m       # any -fuzztime value: a duration, or a count like 100000x
#
# Go runs one fuzz target per `go test` invocation, hence the loop. A failing
# input is written under the package's testdata/fuzz/ and fails the script;
# commit it with the fix, so that it stays a regression test of `go test`.
set -euo pipefail

budget="${1:-20s}"
cd "$(dirname "$0")/.."
export GOFLAGS=-mod=vendor GOTOOLCHAIN=local

# package target
targets=(
  "./pkg/daemon/proxy FuzzClassify"
  "./pkg/daemon/proxy FuzzParseRequest"
  "./pkg/daemon FuzzParseVIPs"
  "./pkg/daemon FuzzOptions"
)

log=$(mktemp)
trap 'rm -f "${log}"' EXIT
results=()
for entry in "${targets[@]}"; do
  read -r package target <<<"${entry}"
  echo "fuzzing ${target} (${package}) for ${budget}" >&2
  if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "${budget}" "${package}" >"${log}" 2>&1; then
    cat "${log}" >&2
    echo "${target}: FAILED; the failing input is under ${package#./}/testdata/fuzz/${target}/" >&2
    exit 1
  fi
  # The last progress line carries the total: "fuzz: elapsed: 20s, execs: 1234 (61/sec), ..."
  execs=$(grep -o 'execs: [0-9]*' "${log}" | tail -n 1 | cut -d' ' -f2)
  results+=("$(printf '%-14s %-22s %12s execs in %s' "${target}" "${package}" "${execs:-?}" "${budget}")")
done

printf '%s\n' "${results[@]}"
