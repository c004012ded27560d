#!/usr/bin/env bash
# The wireguard-go baseline of the benchmark (issue 5): packets per second per
# busy core of wireguard-go on this machine, with 1420-byte inner packets.
#
#   scripts/lib/bench_wireguard_go.sh [--runs N] [--seconds S] [--rate auto|0|BITS_PER_S]
#                                                                   (as root)
#
#   ns wsbgA-PID                                    ns wsbgB-PID
#   iperf3 -c 10.99.0.2 -u -b RATE -l 1392          iperf3 -s
#   wgbA-PID 10.99.0.1/24 (wireguard-go, MTU 1420)  wgbB-PID 10.99.0.2/24 (wireguard-go)
#   vbA-PID 198.51.100.1/24  <------- veth ------->  vbB-PID 198.51.100.2/24
#
# 1392 bytes of UDP payload + 8 (UDP) + 20 (IPv4) = 1420 = the tunnel MTU, so
# nothing fragments. Each run (default 5 runs of 3 s) measures:
#   pps          packets the iperf3 server received / the server's test seconds
#                (iperf3 3.12 client JSON: end.sum_received.packets - .lost_packets,
#                cross-checked against .bytes / 1392; .seconds)
#   cpu seconds  utime+stime (/proc/PID/stat, all threads) that BOTH wireguard-go
#                processes consumed between just before and just after the client
#   busy_cores   cpu seconds / those test seconds (wireguard-go is idle outside them)
#   pps_per_core pps / busy_cores  (= received packets / cpu seconds)
#   mbit_s       received UDP payload, end.sum_received.bits_per_second / 1e6
# Prints one JSON object on stdout (median, min and max of each; "per_run" holds
# every run's figures), progress on stderr. Everything it creates (namespaces,
# veth, wireguard-go, iperf3, temp dir) is removed on exit, also on error or
# Ctrl-C; traffic only ever goes to addresses inside its own two namespaces.
set -euo pipefail

RUNS=5
SECONDS_PER_RUN=3
RATE=auto
PAYLOAD=1392
MTU=1420
WG_PORT=51820

TAG=$$
NS_A=wsbgA-$TAG
NS_B=wsbgB-$TAG
VETH_A=vbA-$TAG
VETH_B=vbB-$TAG
WG_A=wgbA-$TAG
WG_B=wgbB-$TAG
UNDERLAY_A=198.51.100.1
UNDERLAY_B=198.51.100.2
TUN_A=10.99.0.1
TUN_B=10.99.0.2

say() { echo "bench-wireguard-go: $*" >&2; }
die() { echo "bench-wireguard-go: error: $*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
  exit "${1:-0}"
}

while (($#)); do
  case $1 in
    --runs) (($# >= 2)) || die "--runs needs a value"; RUNS=$2; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --seconds) (($# >= 2)) || die "--seconds needs a value"; SECONDS_PER_RUN=$2; shift 2 ;;
    --seconds=*) SECONDS_PER_RUN=${1#*=}; shift ;;
    --rate) (($# >= 2)) || die "--rate needs a value"; RATE=$2; shift 2 ;;
    --rate=*) RATE=${1#*=}; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench-wireguard-go: unknown argument '$1'" >&2; usage 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, got '$RUNS'"
[[ $SECONDS_PER_RUN =~ ^[1-9][0-9]*$ ]] \
  || die "--seconds must be a positive integer (iperf3 -t), got '$SECONDS_PER_RUN'"
[[ $RATE == auto || $RATE =~ ^[0-9]+$ ]] || die "--rate must be auto, 0 or bits per second, got '$RATE'"

[[ $(id -u) -eq 0 ]] || die "must be run as root (network namespaces, tun devices)"
missing=()
for t in wireguard-go wg iperf3 ip ss ping python3 getconf setsid; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
((${#missing[@]} == 0)) || die "missing: ${missing[*]} (scripts/setup.sh installs them)"
[[ -c /dev/net/tun ]] || die "missing: /dev/net/tun (scripts/setup.sh creates it)"

CLK_TCK=$(getconf CLK_TCK)
WG_GO_VERSION=$(wireguard-go --version 2>/dev/null | awk 'NR == 1 {print $2}')
[[ -n $WG_GO_VERSION ]] || WG_GO_VERSION=unknown

# --- cleanup --------------------------------------------------------------------
WORK=
PIDS=()          # processes we started (their pid files' contents)
NS_MADE=()

alive() {  # alive PID: running and not a zombie
  kill -0 "$1" 2>/dev/null || return 1
  [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]
}

cleanup() {
  local rc=$? pid i ns
  trap - EXIT INT TERM
  set +e
  for pid in "${PIDS[@]}"; do alive "$pid" && kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 30; i++)); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null; sleep 0.1; fi
    wait "$pid" 2>/dev/null
  done
  for ns in "${NS_MADE[@]}"; do ip netns delete "$ns" 2>/dev/null; done
  rm -f "/var/run/wireguard/$WG_A.sock" "/var/run/wireguard/$WG_B.sock"
  [[ -n $WORK ]] && rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

WORK=$(mktemp -d /tmp/bench-wireguard-go.XXXXXX)
chmod 700 "$WORK"

# launch NAME NS CMD...: CMD in NS, in its own session (a Ctrl-C at the terminal
# reaches only this script, which then stops it), output in WORK/NAME.log. The
# pid is written by the shell that then execs `ip netns exec`, which execs CMD
# (no fork in between), so it is CMD's own pid; EXPECT_COMM checks that.
launch() {
  local name=$1 ns=$2 i
  shift 2
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$WORK/$name.pid" ip netns exec "$ns" "$@" \
    </dev/null >"$WORK/$name.log" 2>&1 &
  for ((i = 0; i < 100; i++)); do
    [[ -s $WORK/$name.pid ]] && break
    sleep 0.02
  done
  [[ -s $WORK/$name.pid ]] || die "$name did not start"
  PIDS+=("$(<"$WORK/$name.pid")")
}

# wait_comm NAME COMM: until the launched process has exec'd COMM; prints its pid.
wait_comm() {
  local name=$1 comm=$2 pid i
  pid=$(<"$WORK/$name.pid")
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || { tail -n 20 "$WORK/$name.log" >&2; die "$name (pid $pid) exited"; }
    [[ $(<"/proc/$pid/comm") == "$comm" ]] && { echo "$pid"; return 0; }
    sleep 0.02
  done
  die "$name (pid $pid) is '$(<"/proc/$pid/comm")', not $comm, after 3 s"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# cpu_ticks PID...: utime+stime of the processes (all their threads), in clock ticks.
cpu_ticks() {
  local pid stat total=0 f
  for pid in "$@"; do
    stat=$(<"/proc/$pid/stat") || die "cannot read /proc/$pid/stat (wireguard-go gone?)"
    read -ra f <<<"${stat##*) }"   # fields from 3 (state) on; comm may hold spaces
    total=$((total + f[11] + f[12]))   # fields 14 utime, 15 stime
  done
  echo "$total"
}

# --- namespaces, veth -------------------------------------------------------------
say "wireguard-go $WG_GO_VERSION; $RUNS runs of $SECONDS_PER_RUN s; namespaces $NS_A, $NS_B"
for ns in "$NS_A" "$NS_B"; do
  ip netns add "$ns" || die "ip netns add $ns failed"
  NS_MADE+=("$ns")
  in_ns "$ns" ip link set lo up
done
ip link add "$VETH_A" netns "$NS_A" type veth peer name "$VETH_B" netns "$NS_B" \
  || die "creating veth $VETH_A/$VETH_B failed"
in_ns "$NS_A" ip address add "$UNDERLAY_A/24" dev "$VETH_A"
in_ns "$NS_B" ip address add "$UNDERLAY_B/24" dev "$VETH_B"
in_ns "$NS_A" ip link set "$VETH_A" up
in_ns "$NS_B" ip link set "$VETH_B" up

# --- wireguard-go ----------------------------------------------------------------
(umask 077; wg genkey >"$WORK/a.key"; wg genkey >"$WORK/b.key")
PUB_A=$(wg pubkey <"$WORK/a.key")
PUB_B=$(wg pubkey <"$WORK/b.key")

start_wg() {  # start_wg NAME NS IF: wireguard-go in the foreground, prints its pid
  local name=$1 ns=$2 ifname=$3 sock=/var/run/wireguard/$3.sock i
  rm -f "$sock"
  launch "$name" "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifname"
  for ((i = 0; i < 150; i++)); do
    [[ -S $sock ]] && break
    sleep 0.02
  done
  [[ -S $sock ]] || { tail -n 20 "$WORK/$name.log" >&2; die "wireguard-go did not create $sock within 3 s"; }
}
start_wg wg-a "$NS_A" "$WG_A"
start_wg wg-b "$NS_B" "$WG_B"
WG_PID_A=$(wait_comm wg-a wireguard-go)
WG_PID_B=$(wait_comm wg-b wireguard-go)
say "wireguard-go pids: $WG_PID_A ($WG_A in $NS_A), $WG_PID_B ($WG_B in $NS_B)"

in_ns "$NS_A" wg set "$WG_A" private-key "$WORK/a.key" listen-port "$WG_PORT" \
  peer "$PUB_B" allowed-ips "$TUN_B/32" endpoint "$UNDERLAY_B:$WG_PORT"
in_ns "$NS_B" wg set "$WG_B" private-key "$WORK/b.key" listen-port "$WG_PORT" \
  peer "$PUB_A" allowed-ips "$TUN_A/32" endpoint "$UNDERLAY_A:$WG_PORT"
in_ns "$NS_A" ip address add "$TUN_A/24" dev "$WG_A"
in_ns "$NS_B" ip address add "$TUN_B/24" dev "$WG_B"
in_ns "$NS_A" ip link set "$WG_A" mtu "$MTU" up
in_ns "$NS_B" ip link set "$WG_B" mtu "$MTU" up

# --- the tunnel works ------------------------------------------------------------
ok=no
for ((i = 0; i < 10; i++)); do   # the first echo may wait for the handshake
  if in_ns "$NS_A" ping -n -q -c 1 -W 1 "$TUN_B" >/dev/null 2>&1; then ok=yes; break; fi
done
[[ $ok == yes ]] || die "no ping reply from $TUN_B through the wireguard-go tunnel ($WG_A -> $WG_B) in 10 tries"
# A full-size packet with DF set must pass unfragmented too.
in_ns "$NS_A" ping -n -q -c 1 -W 2 -M "do" -s $((MTU - 28)) "$TUN_B" >/dev/null 2>&1 \
  || die "a $MTU-byte ping (DF) from $TUN_A to $TUN_B did not pass the tunnel"
say "tunnel up: $TUN_A -> $TUN_B answers, $MTU-byte packets pass"

# --- iperf3 ----------------------------------------------------------------------
launch iperf3-server "$NS_B" iperf3 -s -B "$TUN_B"
wait_comm iperf3-server iperf3 >/dev/null
for ((i = 0; i < 150; i++)); do
  [[ -n $(in_ns "$NS_B" ss -Hltn "sport = :5201") ]] && break
  sleep 0.02
done
[[ -n $(in_ns "$NS_B" ss -Hltn "sport = :5201") ]] \
  || { tail -n 20 "$WORK/iperf3-server.log" >&2; die "iperf3 -s is not listening on $TUN_B:5201 after 3 s"; }

# Pacing: unpaced (-b 0) the sender's wireguard-go encrypts far more than the
# receiver takes (60-90 % lost at the receiver's socket on 2 cores), and that
# wasted CPU would count against wireguard-go. A calibration run finds what
# gets through; the measured runs send at 110 % of it.
BW=0
if [[ $RATE == auto ]]; then
  in_ns "$NS_A" iperf3 -c "$TUN_B" -u -b 0 -l "$PAYLOAD" -t "$SECONDS_PER_RUN" -J \
    >"$WORK/calibrate.json" 2>"$WORK/calibrate.err" || { cat "$WORK/calibrate.err" >&2; die "iperf3 calibration run failed"; }
  BW=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["end"]["sum_received"]; print(int(r["bits_per_second"] * 1.1))' "$WORK/calibrate.json")
  say "calibration: $((BW / 1100000)) Mbit/s got through unpaced; sending at $((BW / 1000000)) Mbit/s"
  sleep 1
elif [[ $RATE != 0 ]]; then
  BW=$RATE
fi

for ((run = 1; run <= RUNS; run++)); do
  json=$WORK/run$run.json
  for ((attempt = 1; ; attempt++)); do
    if ! alive "$WG_PID_A" || ! alive "$WG_PID_B"; then die "a wireguard-go process exited"; fi
    before=$(cpu_ticks "$WG_PID_A" "$WG_PID_B")
    rc=0
    in_ns "$NS_A" iperf3 -c "$TUN_B" -u -b "$BW" -l "$PAYLOAD" -t "$SECONDS_PER_RUN" -J \
      >"$json" 2>"$WORK/run$run.err" || rc=$?
    after=$(cpu_ticks "$WG_PID_A" "$WG_PID_B")
    ((rc == 0)) && break
    # The server may still be finishing the previous test ("server is busy").
    if ((attempt >= 3)); then
      cat "$WORK/run$run.err" >&2
      python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error",""))' "$json" >&2 || true
      die "iperf3 client failed (exit $rc) in run $run, 3 attempts"
    fi
    sleep 1
  done
  echo "$((after - before))" >"$WORK/run$run.ticks"
  python3 - "$json" "$((after - before))" "$CLK_TCK" "$PAYLOAD" "$run" >&2 <<'EOF'
import json, sys
path, ticks, clk, payload, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
r = json.load(open(path))["end"]["sum_received"]
recv = r["packets"] - r["lost_packets"]
if recv * payload != r["bytes"]:
    print(f"bench-wireguard-go: warning: run {run}: packets-lost = {recv} but bytes/{payload} = {r['bytes'] / payload:.1f}")
pps = recv / r["seconds"]
cpu = ticks / clk
busy = cpu / r["seconds"]
print(f"bench-wireguard-go: run {run}: {pps:,.0f} pps received ({r['lost_percent']:.1f}% of sent lost), "
      f"{r['bits_per_second'] / 1e6:.0f} Mbit/s, wireguard-go {cpu:.2f} cpu-s = {busy:.2f} busy cores, "
      f"{pps / busy if busy else float('nan'):,.0f} pps/core")
EOF
done

# --- result ----------------------------------------------------------------------
python3 - "$WORK" "$RUNS" "$SECONDS_PER_RUN" "$CLK_TCK" "$PAYLOAD" "$WG_GO_VERSION" "$BW" <<'EOF'
import json, statistics, sys
work, runs, seconds, clk, payload, version = sys.argv[1:7]
runs, seconds, clk, payload = int(runs), int(seconds), int(clk), int(payload)
per_run = []
for i in range(1, runs + 1):
    r = json.load(open(f"{work}/run{i}.json"))["end"]["sum_received"]
    ticks = int(open(f"{work}/run{i}.ticks").read())
    recv = r["packets"] - r["lost_packets"]
    cpu = ticks / clk
    busy = cpu / r["seconds"]
    pps = recv / r["seconds"]
    per_run.append({
        "pps": round(pps, 1),
        "busy_cores": round(busy, 4),
        "pps_per_core": round(pps / busy, 1) if busy > 0 else None,
        "mbit_s": round(r["bits_per_second"] / 1e6, 2),
        "received_packets": recv,
        "lost_packets": r["lost_packets"],
        "sent_packets": r["packets"],
        "cpu_seconds": round(cpu, 3),
        "seconds": r["seconds"],
    })

def stats(key):
    v = [p[key] for p in per_run if p[key] is not None]
    if not v:
        return {"median": None, "min": None, "max": None}
    return {"median": round(statistics.median(v), 4), "min": min(v), "max": max(v)}

print(json.dumps({
    "runs": runs,
    "seconds": seconds,
    "payload_bytes": payload,
    "inner_packet_bytes": payload + 28,
    "pps": stats("pps"),
    "busy_cores": stats("busy_cores"),
    "pps_per_core": stats("pps_per_core"),
    "mbit_s": stats("mbit_s"),
    "wireguard_go_version": version,
    "rate_bits_per_s": int(sys.argv[7]),
    "per_run": per_run,
}))
EOF
say "done"
