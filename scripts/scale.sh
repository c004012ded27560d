#!/usr/bin/env bash
# Scale report (issue 6): a gateway of 10,000 configured peers in the lab,
# and what it costs. Reports, never asserts: every figure printed is measured
# by this run.
#
#   scripts/scale.sh [--peers N] [--build DIR] [--bench-passes N]
#                    [--handshake-load BINARY] [--keep]
#
# As root, after a release build (ninja -C build). It
#   1. brings up a lab (scripts/lib/lab.sh up), appends N-1 generated peers
#      (scripts/lib/scale_peers.py: fresh X25519 keys, one /32 each, half of
#      them with an endpoint) to the lab's one real peer (wireguard-go);
#   2. starts the dataplane and the control plane, timing each to "ready" and
#      the control plane to "every peer installed in the dataplane" (the
#      dataplane's own peer count, /wirespeed/info over DPDK telemetry);
#   3. measures hugepages (HugePages_Free before/after, the state memzone's
#      size), RSS of both processes, `wirespeed-controlplane --show` and
#      `wg show` (UAPI get of every peer) times, and checks forwarding: a ping
#      through the real peer's tunnel, and a packet to the last generated
#      peer's /32 routed (staged for a handshake, not no_route);
#   4. wirespeed-bench --only {encap,decap}-many, 1420 B, with --peers 1 and
#      --peers N (traffic spread over all N): ns per packet, median of 3;
#   5. build/tests/tools/wirespeed-handshake-load --seconds 10 (or the one
#      --handshake-load names): handshakes per second of the control plane on
#      one core, its "handshakes_per_second:" line.
# Ends with a summary table. Exit 0 when everything ran; non-zero when a step
# could not run (a missing binary is named), after reporting the rest.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

PEERS=10000
BUILD=$ROOT/build
PASSES=20
KEEP=no
LOAD_BIN=""
while (($#)); do
  case $1 in
    --peers) PEERS=${2:-}; shift ;;
    --build) BUILD=${2:-}; shift ;;
    --bench-passes) PASSES=${2:-}; shift ;;
    --handshake-load) LOAD_BIN=${2:-}; shift ;;
    --keep) KEEP=yes ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "scale: unknown option '$1'" >&2; exit 2 ;;
  esac
  shift
done
[[ $PEERS =~ ^[0-9]+$ ]] && ((PEERS >= 2 && PEERS <= 16384)) || { echo "scale: --peers takes 2..16384" >&2; exit 2; }
[[ $PASSES =~ ^[0-9]+$ ]] && ((PASSES >= 1)) || { echo "scale: --bench-passes takes a positive number" >&2; exit 2; }

LAB=scripts/lib/lab.sh
TAG=sc$(($$ % 100000))
WORK=$(mktemp -d /tmp/wirespeed-scale.XXXXXX)
failures=()
declare -A R  # the summary: key -> value

say() { echo "scale: $*"; }
fail() { echo "scale: FAILED: $*" >&2; failures+=("$1"); }
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
free_pages() { awk '/^HugePages_Free:/ {print $2}' /proc/meminfo; }
gw_pages() {  # hugepages the lab's DPDK processes hold: their files on hugetlbfs
  local mnt n=0
  while read -r mnt; do
    n=$((n + $(find "$mnt" -maxdepth 1 -name "${FILE_PREFIX}map_*" 2>/dev/null | wc -l)))
  done < <(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts)
  echo "$n"
}
page_kib() { awk '/^Hugepagesize:/ {print $2}' /proc/meminfo; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }
mib() { [[ $1 =~ ^[0-9]+$ ]] && awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}' || echo "?"; }

cleanup() {
  if [[ $KEEP == yes ]]; then
    say "--keep: lab '$TAG' left up (down it with: $LAB down $TAG); files in $WORK"
  else
    "$LAB" down "$TAG" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

DP_BIN=$BUILD/dataplane/app/wirespeed-dataplane
CP_BIN=$BUILD/controlplane/app/wirespeed-controlplane
BENCH_BIN=$BUILD/tests/wirespeed-bench
LOAD_BIN=${LOAD_BIN:-$BUILD/tests/tools/wirespeed-handshake-load}
for b in "$DP_BIN" "$CP_BIN"; do
  [[ -x $b ]] || { echo "scale: missing $b (build it: ninja -C $BUILD)" >&2; exit 1; }
done

TELEMETRY=scripts/lib/scale_telemetry.py

# --- 1. the lab and the config ----------------------------------------------
say "lab '$TAG' in $WORK, $PEERS peers, build $BUILD"
"$LAB" up "$TAG" "$WORK/lab" --build "$BUILD" --owner $$ >"$WORK/up.log" 2>&1 \
  || { cat "$WORK/up.log" >&2; echo "scale: lab up failed" >&2; exit 1; }
# shellcheck source=/dev/null
source "$WORK/lab/lab.env"
t=$(now_ns)
python3 scripts/lib/scale_peers.py "$CONFIG" $((PEERS - 1)) --keys-out "$WORK/peer-keys.txt" >/dev/null \
  || { echo "scale: generating the peers failed" >&2; exit 1; }
R[config_gen_ms]=$(ms_since "$t")
R[config_bytes]=$(stat -c %s "$CONFIG")
say "config: $CONFIG, $PEERS peers, ${R[config_bytes]} bytes, generated in ${R[config_gen_ms]} ms"

CLI_BIN=$BUILD/controlplane/cli/wirespeed
t=$(now_ns)
if [[ ! -x $CLI_BIN ]]; then
  R[check_ms]="missing $CLI_BIN"
elif "$CLI_BIN" check-config "$CONFIG" >"$WORK/check.log" 2>&1; then
  R[check_ms]="$(ms_since "$t") ms"
  say "wirespeed check-config: ${R[check_ms]}"
else
  R[check_ms]="FAILED"
  fail "wirespeed check-config rejected the generated config: $(head -c 300 "$WORK/check.log")"
fi

# --- 2. start-up --------------------------------------------------------------
export WIRESPEED_LAB_READY_TIMEOUT=300
free0=$(free_pages)
t=$(now_ns)
if ! "$LAB" start-dataplane "$TAG" >"$WORK/start-dp.log" 2>&1; then
  cat "$WORK/start-dp.log" >&2
  echo "scale: the dataplane did not start with $PEERS peers" >&2
  exit 1
fi
R[dp_ready_ms]=$(ms_since "$t")
free1=$(free_pages)
DP_PID=$(cat "$DIR/dataplane.pid")
say "dataplane ready in ${R[dp_ready_ms]} ms (lab.sh start-dataplane: EAL, ports, tables, tap moved)"

t=$(now_ns)
if ! "$LAB" start-controlplane "$TAG" >"$WORK/start-cp.log" 2>&1; then
  cat "$WORK/start-cp.log" >&2
  echo "scale: the control plane did not start with $PEERS peers" >&2
  exit 1
fi
R[cp_ready_ms]=$(ms_since "$t")
CP_PID=$(cat "$DIR/controlplane.pid")
# The dataplane's own count of active peer slots, polled over one telemetry
# connection every 5 ms, timed from the control plane's launch.
if installed=$(python3 "$TELEMETRY" wait-peers "$FILE_PREFIX" "$PEERS" "$t" 120); then
  R[cp_installed_ms]=$installed
  installed=$PEERS
fi
free2=$(free_pages)
if [[ $installed == "$PEERS" ]]; then
  say "control plane ready in ${R[cp_ready_ms]} ms; all $PEERS peers in the dataplane after ${R[cp_installed_ms]} ms"
else
  R[cp_installed_ms]="n/a ($installed of $PEERS)"
  fail "only $installed of $PEERS peers reached the dataplane within 120 s"
fi
grep -E "peer\(s\)|ready" "$DIR/controlplane.log" | sed 's/^/  controlplane.log: /'

# --- 3. memory, show, forwarding ---------------------------------------------
pkib=$(page_kib)
gp=$(gw_pages)
R[hp_gateway]="$gp pages of $pkib KiB ($(mib $((gp * pkib))) MiB)"
R[hp_free]="$free0 -> $free1 (dataplane up) -> $free2 (control plane up); host-wide, other DPDK processes count too"
R[zone]="?"
if zone=$(python3 "$TELEMETRY" zone "$FILE_PREFIX" ws_state); then
  R[zone]="${zone% *} bytes ($(mib $((${zone% *} / 1024))) MiB, ${zone#* } hugepage(s))"
fi
R[rss_dp]="$(mib "$(rss_kib "$DP_PID")") MiB (peak $(mib "$(hwm_kib "$DP_PID")") MiB)"
R[rss_cp]="$(mib "$(rss_kib "$CP_PID")") MiB (peak $(mib "$(hwm_kib "$CP_PID")") MiB)"
say "hugepages held by the gateway: ${R[hp_gateway]}; HugePages_Free ${R[hp_free]}; state memzone ${R[zone]}"
say "RSS: dataplane ${R[rss_dp]}, control plane ${R[rss_cp]}"

# The control plane's CPU with every peer configured and no traffic: its
# timers and the 100 ms traffic poll walk all peers.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
c0=$(cpu_ticks "$CP_PID")
sleep 5
c1=$(cpu_ticks "$CP_PID")
R[cp_idle_cpu]=$(awk -v d=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f%% of one core", d * 100 / (5 * hz)}')
say "control plane CPU, idle with $PEERS peers (5 s): ${R[cp_idle_cpu]}"

t=$(now_ns)
"$LAB" show "$TAG" >"$WORK/show.txt" 2>&1
R[show_ms]=$(ms_since "$t")
R[show_peers]=$(grep -c '^peer ' "$WORK/show.txt")
say "wirespeed-controlplane --show: ${R[show_ms]} ms, ${R[show_peers]} peer lines"
t=$(now_ns)
ip netns exec "$NS_GW" wg show "$GW_NAME" dump >"$WORK/wg-show.txt" 2>"$WORK/wg-show.err"
R[wg_show_ms]=$(ms_since "$t")
R[wg_show_peers]=$(($(wc -l <"$WORK/wg-show.txt") - 1))
say "wg show $GW_NAME dump (UAPI get): ${R[wg_show_ms]} ms, ${R[wg_show_peers]} peers"
((R[show_peers] == PEERS)) || fail "--show listed ${R[show_peers]} peers, not $PEERS"
((R[wg_show_peers] == PEERS)) || fail "wg show listed ${R[wg_show_peers]} peers, not $PEERS ($(head -c 200 "$WORK/wg-show.err"))"

# Forwarding with every peer loaded: through the real peer's tunnel ...
if ip netns exec "$NS_LAN" ping -c 5 -i 0.2 -W 5 10.8.1.2 >"$WORK/ping.txt" 2>&1; then
  R[ping]="ok, $(grep -o '[0-9]* received' "$WORK/ping.txt"), rtt $(sed -n 's/.*= \([0-9.\/]*\) ms/\1 ms/p' "$WORK/ping.txt")"
else
  R[ping]="FAILED ($(grep -o '[0-9]* received' "$WORK/ping.txt"))"
  fail "no ping through the tunnel to 10.8.1.2 with $PEERS peers"
fi
# ... and to the last generated peer with an endpoint: routed and staged for
# a handshake (its key has no live counterpart), not dropped as no_route.
ip netns exec "$NS_LAN" ip route add 10.200.0.0/16 via 10.8.0.1
last=$((PEERS - 1))
((last % 2 == 1)) && last=$((last - 1))
last_ip="10.200.$((last >> 8)).$((last & 255))"
before=$("$LAB" show "$TAG" 2>/dev/null | awk '$2 == "staged" {print $3}')
nr_before=$("$LAB" show "$TAG" 2>/dev/null | awk '$2 == "no_route" {print $3}')
ip netns exec "$NS_LAN" ping -c 1 -W 1 "$last_ip" >/dev/null 2>&1
sleep 0.5
after=$("$LAB" show "$TAG" 2>/dev/null | awk '$2 == "staged" {print $3}')
nr_after=$("$LAB" show "$TAG" 2>/dev/null | awk '$2 == "no_route" {print $3}')
if [[ -n $before && -n $after ]] && ((after > before)) && [[ $nr_before == "$nr_after" ]]; then
  R[last_peer]="routed to peer $last ($last_ip): staged $before -> $after, no_route unchanged ($nr_after)"
else
  R[last_peer]="NOT routed ($last_ip): staged $before -> $after, no_route $nr_before -> $nr_after"
  fail "a packet to peer $last's /32 was not routed"
fi
say "ping through the tunnel: ${R[ping]}"
say "to the last generated peer: ${R[last_peer]}"
R[rss_dp_after]="$(mib "$(rss_kib "$DP_PID")") MiB"
R[rss_cp_after]="$(mib "$(rss_kib "$CP_PID")") MiB"
"$LAB" down "$TAG" >/dev/null 2>&1

# --- 4. the data path: N peers vs 1 -------------------------------------------
bench() {  # bench SCENARIO PEERS -> ns/packet (median of 3 runs)
  local vals=() r v
  for r in 1 2 3; do
    v=$(nice -n 0 "$BENCH_BIN" --only "$1" --peers "$2" --size 1420 --passes "$PASSES" 2>>"$WORK/bench.err" \
      | tee -a "$WORK/bench.txt" | sed -n 's/.*: \([0-9.]*\) ns\/packet.*/\1/p')
    [[ -n $v ]] && vals+=("$v")
  done
  ((${#vals[@]} > 0)) || { echo "?"; return 1; }
  printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR] = $1} END {printf "%.1f [%.1f-%.1f]", a[int((NR + 1) / 2)], a[1], a[NR]}'
}
if [[ -x $BENCH_BIN ]]; then
  say "wirespeed-bench --only {encap,decap}-many --size 1420 --passes $PASSES, --peers 1 and $PEERS (3 runs each)..."
  for dir in encap decap; do
    R[bench_${dir}_1]=$(bench "$dir-many" 1) || fail "wirespeed-bench $dir-many --peers 1 (see $WORK/bench.err)"
    R[bench_${dir}_n]=$(bench "$dir-many" "$PEERS") || fail "wirespeed-bench $dir-many --peers $PEERS (see $WORK/bench.err)"
    say "$dir ns/packet, 1420 B, one lcore: 1 peer ${R[bench_${dir}_1]}, $PEERS peers ${R[bench_${dir}_n]}"
  done
else
  R[bench_encap_1]=missing R[bench_encap_n]=missing R[bench_decap_1]=missing R[bench_decap_n]=missing
  fail "missing $BENCH_BIN (ninja -C $BUILD tests/wirespeed-bench)"
fi

# --- 5. handshakes per second -------------------------------------------------
if [[ -x $LOAD_BIN ]]; then
  say "$LOAD_BIN --seconds 10 ..."
  "$LOAD_BIN" --seconds 10 >"$WORK/handshake-load.txt" 2>&1
  rc=$?
  sed 's/^/  handshake-load: /' "$WORK/handshake-load.txt"
  R[hs]=$(sed -n 's/^handshakes_per_second: *\([0-9.eE+-]*\).*/\1/p' "$WORK/handshake-load.txt" | tail -n 1)
  if [[ -z ${R[hs]} || $rc -ne 0 ]]; then
    R[hs]="n/a (exit $rc)"
    fail "wirespeed-handshake-load printed no handshakes_per_second (exit $rc)"
  fi
else
  R[hs]="missing"
  fail "missing $LOAD_BIN: the handshake load generator (tests/tools/, issue 6 'flood') is not built"
fi

# --- summary ------------------------------------------------------------------
echo
echo "scale summary: $PEERS peers, $(nproc) CPU(s), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
row() { printf '  %-44s %s\n' "$1" "$2"; }
row "config generation ($PEERS peers)" "${R[config_gen_ms]} ms"
row "wirespeed check-config" "${R[check_ms]}"
row "dataplane start to ready" "${R[dp_ready_ms]} ms"
row "control plane start to ready" "${R[cp_ready_ms]} ms"
row "control plane start to all peers installed" "${R[cp_installed_ms]} ms"
row "hugepages held by the gateway (files)" "${R[hp_gateway]}"
row "HugePages_Free" "${R[hp_free]}"
row "state memzone (ws_state)" "${R[zone]}"
row "RSS dataplane (after start-up)" "${R[rss_dp]}"
row "RSS control plane (after start-up)" "${R[rss_cp]}"
row "RSS after show/wg show/pings" "dataplane ${R[rss_dp_after]}, control plane ${R[rss_cp_after]}"
row "control plane CPU when idle" "${R[cp_idle_cpu]}"
row "wirespeed-controlplane --show" "${R[show_ms]} ms (${R[show_peers]} peers)"
row "wg show dump (UAPI get)" "${R[wg_show_ms]} ms (${R[wg_show_peers]} peers)"
row "ping through the tunnel" "${R[ping]}"
row "packet to the last peer" "${R[last_peer]}"
row "encap ns/packet 1420 B, 1 peer" "${R[bench_encap_1]}"
row "encap ns/packet 1420 B, $PEERS peers" "${R[bench_encap_n]}"
row "decap ns/packet 1420 B, 1 peer" "${R[bench_decap_1]}"
row "decap ns/packet 1420 B, $PEERS peers" "${R[bench_decap_n]}"
row "handshakes per second (one core)" "${R[hs]}"
if ((${#failures[@]} > 0)); then
  echo "scale: ${#failures[@]} step(s) failed:"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
exit 0
