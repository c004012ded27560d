#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) and runs each of them.
#
#   scripts/fuzz.sh [SECONDS]     SECONDS per target, default 60
#
# build-fuzz/ is configured with clang, AddressSanitizer + UndefinedBehavior-
# Sanitizer and libFuzzer coverage on every library the targets link. Each
# target starts from a copy of its seed corpus tests/fuzz/corpus/<target>/
# in build-fuzz/fuzz-runs/<target>/corpus (the committed corpus never grows),
# with crash/leak/timeout reproducers written beside it. One line per target
# says "ok" or "FAILED" with executions, executions per second, coverage
# (libFuzzer's cov = edges, ft = features) and corpus growth; a failure names
# its reproducer, to be run as `build-fuzz/tests/fuzz/fuzz_<target> FILE`.
# Before fuzzing, `fuzz_make_seeds check` proves the handshake seeds still
# get past mac1 (the line "seeds"). The exit status is non-zero on any
# failure. scripts/test.sh runs this with a short SECONDS.
set -uo pipefail
cd "$(dirname "$0")/.."

TARGETS=(frame initiation response cookie_reply data uapi config wg_quick)
seconds=${1:-60}
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2; }
BUILD=build-fuzz
RUNS=$BUILD/fuzz-runs

say() { echo "fuzz: $*"; }
die() { echo "fuzz: error: $*" >&2; exit 1; }

# --- toolchain ------------------------------------------------------------------
command -v clang++ >/dev/null || die "clang++ not found: install clang (scripts/setup.sh does)"
runtime="$(clang++ -print-resource-dir)/lib/linux/libclang_rt.fuzzer-x86_64.a"
[[ -f $runtime ]] || die "libFuzzer runtime $runtime not found: install libclang-rt-14-dev (scripts/setup.sh does)"

# --- build ----------------------------------------------------------------------
options=(--buildtype=debugoptimized -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
         -Dcpp_args=-fsanitize=fuzzer-no-link)
say "building $BUILD/ (clang, ASan+UBSan, libFuzzer)"
if [[ -f $BUILD/build.ninja ]]; then
  meson setup --reconfigure "$BUILD" "${options[@]}" >"$BUILD.setup.log" 2>&1
else
  CC=clang CXX=clang++ meson setup "$BUILD" "${options[@]}" >"$BUILD.setup.log" 2>&1
fi || { cat "$BUILD.setup.log" >&2; die "meson setup $BUILD failed"; }
grep -q "C++ compiler for the host machine: clang++" "$BUILD.setup.log" \
  || die "$BUILD is not configured with clang++: remove it and run again"
nice ninja -C "$BUILD" fuzzers >"$BUILD.ninja.log" 2>&1 \
  || { grep -E -A5 'error|FAILED' "$BUILD.ninja.log" | head -60 >&2; die "building the fuzz targets failed"; }

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1

ok=0
bad=0
if out=$("$BUILD/tests/fuzz/fuzz_make_seeds" check tests/fuzz/corpus 2>&1); then
  say "$(printf '%-13s' seeds) ok      ${out#fuzz seeds: }"
  ok=$((ok + 1))
else
  say "$(printf '%-13s' seeds) FAILED  $(echo "$out" | tr '\n' ' ')"
  bad=$((bad + 1))
fi

# --- fuzz -----------------------------------------------------------------------
# The last "#N ... cov: C ft: F corp: K/..." status line libFuzzer printed.
field() {  # field NAME LOG
  grep -E '^#[0-9]+' "$2" | tail -n 1 | sed -n "s/.* $1: \([0-9]*\).*/\1/p"
}
stat() {  # stat NAME LOG: from -print_final_stats
  sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

for t in "${TARGETS[@]}"; do
  exe=$BUILD/tests/fuzz/fuzz_$t
  dir=$RUNS/$t
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$dir/corpus/"
  seeds=$(ls "$dir/corpus" | wc -l)
  log=$dir/fuzz.log
  # -timeout: one input may take at most 10 s; -rss_limit_mb: the whole
  # process at most 2 GiB (the machine is shared). Leaks are checked
  # (ASan's LeakSanitizer, -detect_leaks=1 is libFuzzer's default).
  nice "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$log" 2>&1
  rc=$?
  execs=$(stat number_of_executed_units "$log")
  rate=$(stat average_exec_per_sec "$log")
  cov=$(field cov "$log")
  ft=$(field ft "$log")
  corp=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
  figures="execs ${execs:-?}  exec/s ${rate:-?}  cov ${cov:-?}  ft ${ft:-?}  corpus $seeds -> ${corp:-?}"
  reproducer=$(ls "$dir"/artifacts/* 2>/dev/null | head -n 1)
  if [[ $rc -eq 0 && -z $reproducer ]]; then
    say "$(printf '%-13s' "$t") ok      $figures"
    ok=$((ok + 1))
  else
    kind=$(grep -o -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)[^(]*|runtime error: .*|ALARM: .*' "$log")
    say "$(printf '%-13s' "$t") FAILED  $figures"
    say "  ${kind:-exit status $rc}"
    say "  reproducer: ${reproducer:-none written; see $log}  (log: $log)"
    bad=$((bad + 1))
  fi
done

say "$((ok + bad)) checks, $ok ok, $bad failed ($seconds s per target)"
[[ $bad -eq 0 ]]
