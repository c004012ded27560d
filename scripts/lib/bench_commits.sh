#!/usr/bin/env bash
# What each optimisation bought: builds wirespeed-bench at each given commit
# (in a temporary git worktree) and measures the same data-path figures with
# each commit's own bench, so a change is measured against its parent on the
# same machine in the same session.
#
#   scripts/lib/bench_commits.sh [--repeat N] COMMIT...    (as root)
#
# Per commit and scenario: `wirespeed-bench --only SCENARIO --size S
# --passes 20` (one lcore), N times (default 5); the median of the mean ns
# per packet is printed. The commits must contain tests/bench (791918f and
# later). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."

REPEAT=5
if [[ ${1:-} == --repeat ]]; then REPEAT=$2; shift 2; fi
(($# > 0)) || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench-commits: must be run as root (hugepages)" >&2; exit 1; }

SCENARIOS=("encap-many 64" "decap-many 64" "encap-many 1420" "decap-many 1420" "encap-one 1420" "decap-one 1420")
TMP=$(mktemp -d /tmp/wirespeed-bench-commits.XXXXXX)
cleanup() {
  for wt in "$TMP"/wt-*; do [[ -d $wt ]] && git worktree remove --force "$wt" >/dev/null 2>&1; done
  rm -rf "$TMP"
}
trap cleanup EXIT

printf '%-10s' commit
for s in "${SCENARIOS[@]}"; do printf ' %16s' "${s// /@}"; done
printf '   (ns per packet, median of %s)\n' "$REPEAT"
for c in "$@"; do
  sha=$(git rev-parse --short "$c")
  wt=$TMP/wt-$sha
  git worktree add --detach "$wt" "$sha" >/dev/null 2>&1
  if ! (meson setup "$wt/build" "$wt" --buildtype=release >"$TMP/$sha.log" 2>&1 &&
        ninja -C "$wt/build" tests/wirespeed-bench >>"$TMP/$sha.log" 2>&1); then
    echo "bench-commits: $sha does not build its bench:" >&2
    tail -20 "$TMP/$sha.log" >&2
    exit 1
  fi
  printf '%-10s' "$sha"
  for s in "${SCENARIOS[@]}"; do
    read -r scenario size <<<"$s"
    values=()
    for ((i = 0; i < REPEAT; i++)); do
      out=$("$wt/build/tests/wirespeed-bench" --only "$scenario" --size "$size" --passes 20 | tail -n 1)
      values+=("$(sed -n 's/^[^:]*: \([0-9.]*\) ns\/packet.*/\1/p' <<<"$out")")
    done
    printf ' %16s' "$(printf '%s\n' "${values[@]}" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
  done
  printf '   %s\n' "$(git log -1 --format=%s "$sha" | cut -c1-60)"
  git worktree remove --force "$wt" >/dev/null 2>&1
done
