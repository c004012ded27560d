#!/usr/bin/env bash
# Sets the machine up, builds wirespeed and runs the gateway in the lab, with
# traffic through it to show that it works.
#
#   sudo scripts/run.sh           ... then serves until Ctrl-C
#   sudo scripts/run.sh --once    exits 0 only if the pings and iperf3 passed
#   WIRESPEED_BUILD_DIR=DIR       build there instead of build/
#
# The lab (scripts/lib/lab.sh, the same one the lab tests use): a LAN host
# 10.8.0.2 / fd00:8::2 behind the gateway's net_tap port, a wireguard-go peer
# 10.8.1.2 / fd00:1::2 behind a veth on the gateway's net_af_packet port, each
# in its own network namespace; nothing touches the host's interfaces.
# Everything is torn down on exit, Ctrl-C or error; logs and the gateway's
# config stay in the directory printed at the start.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
TAG=run
BUILD=${WIRESPEED_BUILD_DIR:-build}  # the build directory, relative to the repository or absolute

once=0
for arg in "$@"; do
  case $arg in
    --once) once=1 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "run: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

say() { echo "run: $*"; }
lab() { bash "$ROOT/scripts/lib/lab.sh" "$@"; }
die() { echo "run: error: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must be run as root (try: sudo $0)"

bash scripts/setup.sh || die "scripts/setup.sh failed"

say "building $BUILD/ (release)"
if [[ -f $BUILD/build.ninja ]]; then
  meson setup --reconfigure "$BUILD" --buildtype=release -Dwerror=true >"$BUILD.setup.log" 2>&1
else
  meson setup "$BUILD" --buildtype=release -Dwerror=true >"$BUILD.setup.log" 2>&1
fi || { cat "$BUILD.setup.log" >&2; die "meson setup failed"; }
meson compile -C "$BUILD" wirespeed-dataplane wirespeed-controlplane >"$BUILD.ninja.log" 2>&1 \
  || { grep -E -A5 'error|FAILED' "$BUILD.ninja.log" | head -60 >&2; die "build failed (log: $BUILD.ninja.log)"; }

LOGS=$(mktemp -d /tmp/wirespeed-run.XXXXXX)
say "logs and config in $LOGS"

# A previous run killed before its teardown leaves its lab behind.
[[ -e /run/wirespeed-lab/$TAG ]] && lab down "$TAG" >/dev/null 2>&1

teardown() {
  trap - EXIT INT TERM
  say "tearing the lab down"
  lab down "$TAG" | sed 's/^/  /'
  say "logs kept in $LOGS"
}
trap teardown EXIT
trap 'echo; exit 130' INT TERM

lab up "$TAG" "$LOGS" --build "$BUILD" >/dev/null || die "the lab could not be made"
lab start-gateway "$TAG" || die "the gateway did not start (logs in $LOGS)"

failures=0
check() {  # check DESCRIPTION CMD...: runs it, shows its output, counts a failure
  local what=$1
  shift
  echo
  say "$what"
  if "$@" 2>&1 | sed 's/^/  /'; then
    say "ok: $what"
  else
    say "FAILED: $what"
    failures=$((failures + 1))
  fi
}
in_lab() { lab exec "$TAG" "$@"; }

check "ping from the LAN host to the remote peer's tunnel address (IPv4)" \
  in_lab lan ping -n -c 3 -i 0.2 -w 10 10.8.1.2
check "ping from the LAN host to the remote peer's tunnel address (IPv6)" \
  in_lab lan ping -n -c 3 -i 0.2 -w 10 fd00:1::2
check "ping back from the remote peer to the LAN host" \
  in_lab remote ping -n -c 3 -i 0.2 -w 10 10.8.0.2

echo
say "iperf3 for 5 s from the LAN host to the remote peer, through the tunnel"
in_lab remote iperf3 --server --one-off --bind 10.8.1.2 --daemon --pidfile "$LOGS/iperf3-server.pid" \
  --logfile "$LOGS/iperf3-server.log"
sleep 0.5
check "iperf3 -c 10.8.1.2 -t 5" in_lab lan timeout 30 iperf3 --client 10.8.1.2 --time 5 --connect-timeout 10000

echo
say "gateway state (wirespeed-controlplane --show):"
lab show "$TAG" | sed 's/^/  /' || { say "FAILED: --show"; failures=$((failures + 1)); }

echo
if ((failures > 0)); then
  say "$failures check(s) failed; see $LOGS"
  ((once)) && exit 1
else
  say "all checks passed"
  ((once)) && exit 0
fi

say "the gateway is serving. Try:"
say "  ip netns exec lan-$TAG ping 10.8.1.2"
say "  ip netns exec remote-$TAG wg show"
say "  bash scripts/lib/lab.sh show $TAG"
say "Ctrl-C stops it and removes the lab."
while true; do
  for p in dataplane controlplane; do
    pid=$(cat "$LOGS/$p.pid" 2>/dev/null) || pid=""
    if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
      say "wirespeed-$p exited; last lines of its log:"
      tail -n 20 "$LOGS/$p.log" | sed 's/^/  /'
      exit 1
    fi
  done
  sleep 1
done
