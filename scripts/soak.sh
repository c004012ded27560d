#!/usr/bin/env bash
# Soak test (issue 6): lab traffic through several rekeys, then checks that
# nothing drifted. Not part of scripts/test.sh (it runs for minutes).
#
#   scripts/soak.sh [MINUTES] [--build DIR]     default 8 minutes, at least 3
#
# As root, after a release build. It brings up a lab (scripts/lib/lab.sh) with
# the gateway and wireguard-go, then for MINUTES keeps paced traffic through
# the tunnel both ways (iperf3: TCP LAN -> remote and remote -> LAN, UDP both
# ways, each a few Mbit/s), so that the real 120 s REKEY_AFTER_TIME timers
# rekey the session several times (8 minutes: 4 rekeys). Every ~10 s it
# prints a sample: mbufs in use, RSS of both processes, free hugepages,
# handshakes, packets encrypted/decrypted, drops.
#
# At the end, with traffic stopped and the gateway idle, it checks:
#   mbufs      mbufs in use back to the idle figure taken before the traffic
#   memory     RSS of each process grew by at most 1 MiB between the first
#              sample under traffic and the end (after warm-up; a leak per
#              packet or per handshake shows up as steady growth); the
#              gateway's hugepage files unchanged
#   drops      drop counters that must not move under clean traffic stayed 0
#              (not_for_us/bad_message are shown but not judged: the remote's
#              kernel may send the outer link things that are not for us)
#   handshakes the session's handshakes match the elapsed time: 1 + one per
#              REKEY_AFTER_TIME (120 s) of traffic, give or take one
#   traffic    every iperf3 stream finished without error; the gateway's
#              encrypted/decrypted counters equal the peer's tx/rx packets
#              and the peer's tx/rx are non-zero
# Prints a verdict per check with its figures; exits 1 on any drift.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

MINUTES=8
BUILD=$ROOT/build
while (($#)); do
  case $1 in
    --build) BUILD=${2:-}; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) [[ $1 =~ ^[0-9]+$ ]] || { echo "soak: unknown argument '$1'" >&2; exit 2; }; MINUTES=$1 ;;
  esac
  shift
done
((MINUTES >= 3)) || { echo "soak: MINUTES must be at least 3 (a rekey takes 120 s)" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "soak: iperf3 is missing (apt-get install iperf3)" >&2; exit 1; }

LAB=scripts/lib/lab.sh
TAG=sk$(($$ % 100000))
WORK=$(mktemp -d /tmp/wirespeed-soak.XXXXXX)
REKEY_AFTER_TIME=120
SAMPLE_S=10

say() { echo "soak: $*"; }
cleanup() { "$LAB" down "$TAG" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$LAB" up "$TAG" "$WORK/lab" --build "$BUILD" --owner $$ >"$WORK/up.log" 2>&1 \
  || { cat "$WORK/up.log" >&2; echo "soak: lab up failed" >&2; exit 1; }
# shellcheck source=/dev/null
source "$WORK/lab/lab.env"
"$LAB" start-gateway "$TAG" >"$WORK/start.log" 2>&1 \
  || { cat "$WORK/start.log" >&2; echo "soak: the gateway did not start" >&2; exit 1; }
DP_PID=$(cat "$DIR/dataplane.pid")
CP_PID=$(cat "$DIR/controlplane.pid")

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# Hugepages this gateway holds: its files on hugetlbfs (HugePages_Free is
# shared with every other DPDK process on the host).
gw_pages() {
  local mnt n=0
  while read -r mnt; do
    n=$((n + $(find "$mnt" -maxdepth 1 -name "${FILE_PREFIX}map_*" 2>/dev/null | wc -l)))
  done < <(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts)
  echo "$n"
}
mbufs_in_use() { python3 scripts/lib/scale_telemetry.py info "$FILE_PREFIX" mbufs_in_use 2>/dev/null; }
# show_values FILE: "name value" lines from --show: counters, drops and the
# lab peer's (slot 0) handshakes/rx/tx.
show_values() {
  "$LAB" show "$TAG" 2>/dev/null | awk '
    $1 == "counter" || $1 == "drop" {print $1 "_" $2, $3}
    $1 == "peer" && $2 == "0" {for (i = 3; i < NF; i += 2) if ($i ~ /^(handshakes|rx_packets|tx_packets|rx_bytes|tx_bytes)$/) print "peer_" $i, $(i + 1)}'
}
val() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

# Warm-up: the first handshake and the neighbours, then the idle baseline.
ip netns exec "$NS_LAN" ping -c 3 -i 0.3 -W 5 10.8.1.2 >"$WORK/warmup.txt" 2>&1 \
  || { cat "$WORK/warmup.txt" >&2; echo "soak: no ping through the tunnel before the soak" >&2; exit 1; }
sleep 2
idle_mbufs0=$(mbufs_in_use)
pages0=$(gw_pages)
show_values >"$WORK/show0.txt"
say "lab '$TAG' up (logs in $DIR); idle baseline: mbufs in use $idle_mbufs0, hugepages held by the gateway $pages0"

# Traffic: iperf3 servers in both namespaces, clients paced, for the whole soak.
SECONDS_TOTAL=$((MINUTES * 60))
ip netns exec "$NS_REMOTE" iperf3 -s -B 10.8.1.2 -p 5201 >"$WORK/iperf-s-remote1.log" 2>&1 &
ip netns exec "$NS_REMOTE" iperf3 -s -B 10.8.1.2 -p 5202 >"$WORK/iperf-s-remote2.log" 2>&1 &
ip netns exec "$NS_LAN" iperf3 -s -B 10.8.0.2 -p 5203 >"$WORK/iperf-s-lan1.log" 2>&1 &
ip netns exec "$NS_LAN" iperf3 -s -B 10.8.0.2 -p 5204 >"$WORK/iperf-s-lan2.log" 2>&1 &
sleep 1
start_clients() {
  local t=$SECONDS_TOTAL
  ip netns exec "$NS_LAN" iperf3 -c 10.8.1.2 -p 5201 -t "$t" -b 20M -i 0 -J >"$WORK/tcp-lan-to-remote.json" 2>&1 &
  CLIENT_PIDS+=($!)
  ip netns exec "$NS_LAN" iperf3 -c 10.8.1.2 -p 5202 -u -t "$t" -b 5M -l 1200 -i 0 -J >"$WORK/udp-lan-to-remote.json" 2>&1 &
  CLIENT_PIDS+=($!)
  ip netns exec "$NS_REMOTE" iperf3 -c 10.8.0.2 -p 5203 -t "$t" -b 20M -i 0 -J >"$WORK/tcp-remote-to-lan.json" 2>&1 &
  CLIENT_PIDS+=($!)
  ip netns exec "$NS_REMOTE" iperf3 -c 10.8.0.2 -p 5204 -u -t "$t" -b 5M -l 1200 -i 0 -J >"$WORK/udp-remote-to-lan.json" 2>&1 &
  CLIENT_PIDS+=($!)
}
CLIENT_PIDS=()
start_clients
traffic_start=$SECONDS
say "traffic for $MINUTES min: TCP 20 Mbit/s and UDP 5 Mbit/s each way; a sample every ${SAMPLE_S} s"
printf 'soak: %6s %8s %10s %10s %8s %6s %10s %10s %6s\n' t_s mbufs rss_dp_kib rss_cp_kib hugepages hs encrypted decrypted drops
first_rss_dp="" first_rss_cp=""
max_rss_dp=0 max_rss_cp=0
while ((SECONDS - traffic_start < SECONDS_TOTAL)); do
  sleep "$SAMPLE_S"
  show_values >"$WORK/show.txt"
  drops=$(awk '$1 ~ /^drop_/ {s += $2} END {print s + 0}' "$WORK/show.txt")
  rdp=$(rss_kib "$DP_PID") rcp=$(rss_kib "$CP_PID")
  [[ -z $first_rss_dp ]] && first_rss_dp=$rdp first_rss_cp=$rcp
  ((rdp > max_rss_dp)) && max_rss_dp=$rdp
  ((rcp > max_rss_cp)) && max_rss_cp=$rcp
  printf 'soak: %6d %8s %10s %10s %8s %6s %10s %10s %6s\n' $((SECONDS - traffic_start)) "$(mbufs_in_use)" \
    "$rdp" "$rcp" "$(gw_pages)" "$(val "$WORK/show.txt" peer_handshakes)" \
    "$(val "$WORK/show.txt" counter_encrypted)" "$(val "$WORK/show.txt" counter_decrypted)" "$drops"
  if ! kill -0 "$DP_PID" 2>/dev/null || ! kill -0 "$CP_PID" 2>/dev/null; then
    say "a gateway process died during the soak; stopping the traffic"
    tail -n 3 "$DIR/controlplane.log" | sed 's/^/soak:   controlplane.log: /'
    if kill -0 "$DP_PID" 2>/dev/null; then
      say "dataplane heartbeat age: $(python3 scripts/lib/scale_telemetry.py info "$FILE_PREFIX" heartbeat_age_ms 2>&1) ms"
      if command -v gdb >/dev/null; then
        gdb -p "$DP_PID" -batch -ex "thread apply all bt 15" >"$WORK/dataplane-stacks.txt" 2>&1
        say "dataplane stacks in $WORK/dataplane-stacks.txt"
      fi
    fi
    kill "${CLIENT_PIDS[@]}" 2>/dev/null
    break
  fi
done
traffic_s=$((SECONDS - traffic_start))
client_rc=0
for p in "${CLIENT_PIDS[@]}"; do wait "$p" || client_rc=$((client_rc + 1)); done
# Idle again: the last in-flight packets, TX buffers flushed.
sleep 3
idle_mbufs1=$(mbufs_in_use)
pages1=$(gw_pages)
end_rss_dp=$(rss_kib "$DP_PID") end_rss_cp=$(rss_kib "$CP_PID")
show_values >"$WORK/show1.txt"
cp "$WORK/show1.txt" "$WORK/show-final.txt"

# --- verdicts -----------------------------------------------------------------
drift=0
verdict() {  # verdict NAME OK|DRIFT TEXT
  printf 'soak: %-11s %-5s %s\n' "$1" "$2" "$3"
  [[ $2 == OK ]] || drift=1
}
delta() { echo $(($(val "$WORK/show1.txt" "$1") - $(val "$WORK/show0.txt" "$1"))); }
echo
say "after $traffic_s s of traffic ($MINUTES min), gateway idle:"
alive=yes
kill -0 "$DP_PID" 2>/dev/null && kill -0 "$CP_PID" 2>/dev/null || alive=no
[[ $alive == yes ]] && verdict processes OK "dataplane $DP_PID and control plane $CP_PID still running" \
  || verdict processes DRIFT "a gateway process exited (logs in $DIR)"

if [[ -n $idle_mbufs0 && $idle_mbufs0 == "$idle_mbufs1" ]]; then
  verdict mbufs OK "in use when idle: $idle_mbufs0 before, $idle_mbufs1 after"
else
  verdict mbufs DRIFT "in use when idle: ${idle_mbufs0:-?} before, ${idle_mbufs1:-?} after"
fi

grow_dp=$((end_rss_dp - first_rss_dp)) grow_cp=$((end_rss_cp - first_rss_cp))
mem_text="RSS dataplane ${first_rss_dp} -> ${end_rss_dp} KiB (${grow_dp} KiB, peak ${max_rss_dp}), control plane ${first_rss_cp} -> ${end_rss_cp} KiB (${grow_cp} KiB, peak ${max_rss_cp}); hugepages held $pages0 -> $pages1"
if ((grow_dp <= 1024 && grow_cp <= 1024)) && [[ $pages0 == "$pages1" ]]; then
  verdict memory OK "$mem_text"
else
  verdict memory DRIFT "$mem_text"
fi

must_be_zero=(malformed truncated bad_ip_header bad_ip_length bad_udp_length fragment unknown_receiver_index keypair_expired replay bad_mac bad_inner_packet
  source_not_allowed no_route no_endpoint no_keypair stage_full no_neighbour too_big ring_full
  mbuf_exhausted tx_full)
moved=() all=()
for d in $(awk '$1 ~ /^drop_/ {sub(/^drop_/, "", $1); print $1}' "$WORK/show1.txt"); do
  n=$(delta "drop_$d")
  all+=("$d=$n")
  for z in "${must_be_zero[@]}"; do
    [[ $z == "$d" ]] && ((n != 0)) && moved+=("$d=$n")
  done
done
if ((${#moved[@]} == 0)); then
  verdict drops OK "no judged drop counter moved during the soak (all: ${all[*]})"
else
  verdict drops DRIFT "moved: ${moved[*]} (all: ${all[*]})"
fi

hs=$(delta peer_handshakes)
expected=$((traffic_s / REKEY_AFTER_TIME))
hs_text="$hs handshake(s) during $traffic_s s of traffic; REKEY_AFTER_TIME ${REKEY_AFTER_TIME} s gives $expected (+-1); total $(val "$WORK/show1.txt" peer_handshakes)"
if ((hs >= expected - 1 && hs <= expected + 1 && hs >= 1)); then
  verdict handshakes OK "$hs_text"
else
  verdict handshakes DRIFT "$hs_text"
fi

enc=$(delta counter_encrypted) dec=$(delta counter_decrypted)
ptx=$(delta peer_tx_packets) prx=$(delta peer_rx_packets)
streams=""
for f in tcp-lan-to-remote udp-lan-to-remote tcp-remote-to-lan udp-remote-to-lan; do
  s=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
if "error" in d: print("error: " + d["error"]); sys.exit()
e = d["end"]
if "sum_received" in e:
    print("%.1f Mbit/s received" % (e["sum_received"]["bits_per_second"] / 1e6))
else:
    s = e["sum"]; print("%.1f Mbit/s, %d of %d lost" % (s["bits_per_second"] / 1e6, s.get("lost_packets", 0), s.get("packets", 0)))
' "$WORK/$f.json" 2>/dev/null || echo "no result")
  streams+="$f: $s; "
done
tr_text="encrypted $enc = peer tx_packets $ptx, decrypted $dec = peer rx_packets $prx; iperf3 clients failed: $client_rc; ${streams%; }"
if ((client_rc == 0 && enc == ptx && dec == prx && ptx > 0 && prx > 0)); then
  verdict traffic OK "$tr_text"
else
  verdict traffic DRIFT "$tr_text"
fi

if ((drift == 0)); then
  say "verdict: no drift ($traffic_s s, $hs rekey handshake(s))"
else
  say "verdict: DRIFT (see the checks above; logs in $DIR, samples above)"
fi
exit $drift
