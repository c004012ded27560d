#!/usr/bin/env bash
# Sets the machine up, builds wirespeed and runs every test suite.
#
#   scripts/test.sh        as root on Debian 12
#
# Suites: 'unit' (release build, warnings fatal), 'unit' again under
# AddressSanitizer + UndefinedBehaviorSanitizer, the libFuzzer targets for
# 10 s each (scripts/fuzz.sh; one test per target), and 'lab' (real
# wireguard-go in network namespaces). The last line is "tests: N passed,
# N failed", counted from the test cases that ran; the exit status is
# non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
finish() {
  echo "tests: ${passed} passed, ${failed} failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit $?
}

step_failed() {
  echo "test: $1" >&2
  failed=$((failed + 1))
  finish
}

bash scripts/setup.sh || step_failed "scripts/setup.sh failed; nothing was built or run"

build() {  # build DIR [meson options...]
  local dir=$1
  shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
  else
    meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
  fi || { cat "$dir.setup.log" >&2; return 1; }
  ninja -C "$dir" >"$dir.ninja.log" 2>&1 || { grep -E -A5 'error|FAILED' "$dir.ninja.log" | head -60 >&2; return 1; }
}

echo "test: building build/ (release, warnings fatal)"
build build --buildtype=release -Dwerror=true || step_failed "release build failed"
echo "test: building build-sanitize/ (address,undefined)"
build build-sanitize --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
  || step_failed "sanitizer build failed"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_suites() {  # run_suites DIR LABEL SUITE...
  local out counts
  out=$(python3 scripts/lib/run_gtests.py "$@")
  echo "$out" | grep -v '^counts:'
  counts=$(echo "$out" | sed -n 's/^counts: //p' | tail -n 1)
  if [ -z "$counts" ]; then
    echo "test: the runner for $2 printed no counts" >&2
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + ${counts% *}))
  failed=$((failed + ${counts#* }))
}

echo "test: unit suites"
run_suites build unit unit
echo "test: unit suites under ASan+UBSan"
run_suites build-sanitize unit-sanitize unit
# The libFuzzer targets (tests/fuzz/, scripts/fuzz.sh): each runs a few
# seconds and counts as one test; so does the check that the handshake seeds
# still get past mac1. No clang, no libFuzzer or a failed build: one failure.
run_fuzz() {  # run_fuzz SECONDS
  local out line name rest
  out=$(bash scripts/fuzz.sh "$1" 2>&1)
  local counted=0
  while IFS= read -r line; do
    if [[ $line =~ ^fuzz:\ ([a-z_]+)\ +(ok|FAILED)\ +(.*)$ ]]; then
      name=${BASH_REMATCH[1]}
      rest=${BASH_REMATCH[3]}
      counted=$((counted + 1))
      if [[ ${BASH_REMATCH[2]} == ok ]]; then
        echo "  ok   [fuzz] $name: $rest"
        passed=$((passed + 1))
      else
        echo "  FAIL [fuzz] $name: $rest"
        failed=$((failed + 1))
      fi
    elif [[ $line =~ ^fuzz:\ \ \ (.*)$ ]]; then
      echo "       ${BASH_REMATCH[1]}"
    fi
  done <<<"$out"
  if [ "$counted" -eq 0 ]; then
    echo "  FAIL [fuzz] no target ran:"
    echo "$out" | tail -n 20 | sed 's/^/       /'
    failed=$((failed + 1))
  fi
}

echo "test: fuzz targets (libFuzzer, ASan+UBSan, 10 s each)"
run_fuzz 10
echo "test: lab suites (wireguard-go in network namespaces)"
run_suites build lab lab

finish
