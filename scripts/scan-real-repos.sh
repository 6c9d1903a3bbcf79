#!/usr/bin/env bash
# Run `agentci modules scan` over checked-out Dagger module repositories and print one summary
# line per repository (see docs/real-repos.md). Not part of the test suite; needs no network.
#
#   scripts/scan-real-repos.sh DIR...        # each DIR a checked-out repository
#
# Uses target/debug/agentci (run `cargo build` first) and jq. Writes each report to
# ${OUT:-/tmp/agentci-real-repos}/<name>.json.
set -euo pipefail
bin="$(dirname "$0")/../target/debug/agentci"
out="${OUT:-/tmp/agentci-real-repos}"
mkdir -p "$out"
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }
[ -x "$bin" ] || { echo "build first: cargo build" >&2; exit 2; }
printf '%-36s %4s %7s %8s %6s %6s %6s %8s %7s\n' repository rc modules functions checks gens errors problems seconds
for dir in "$@"; do
  name="$(basename "$dir")"
  start=$(date +%s.%N)
  set +e
  "$bin" modules scan --json "$dir" >"$out/$name.json" 2>"$out/$name.err"
  rc=$?
  set -e
  end=$(date +%s.%N)
  jq -r --arg name "$name" --arg rc "$rc" --arg t "$(echo "$end - $start" | bc)" '
    [ $name, $rc, (.modules|length),
      ([.modules[].functions|length]|add // 0),
      ([.modules[].checks|length]|add // 0),
      ([.modules[].generators|length]|add // 0),
      (.errors|length),
      ([.modules[].problems|length]|add // 0),
      ($t|tonumber*100|round/100) ]
    | @tsv' "$out/$name.json" |
    awk -F'\t' '{ printf "%-36s %4s %7s %8s %6s %6s %6s %8s %7s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
done
