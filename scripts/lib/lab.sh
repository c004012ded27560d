#!/usr/bin/env bash
# The wirespeed lab: one implementation of the test topology, used by
# scripts/run.sh and by the C++ lab tests (tests/lab/gateway_lab.cpp).
#
#        ns lan-TAG                 ns gw-TAG                       ns remote-TAG
#   wi-TAG 10.8.0.2/24   <-tap->  wirespeed-dataplane  <-veth->  wr-TAG 192.0.2.2/24
#          fd00:8::2/64           wirespeed-controlplane  wo-TAG        2001:db8::2/64
#   routes 10.8.1.0/24,           (net_tap0 = inner,                wg-TAG (wireguard-go)
#   fd00:1::/64 via gateway        net_af_packet0 = outer)            10.8.1.2/24 fd00:1::2/64
#
# The gateway owns 10.8.0.1/24 + fd00:8::1/64 (inner) and 192.0.2.1/24 +
# 2001:db8::1/64 (outer) in its config; no kernel interface carries them.
# The dataplane creates the tap wi-TAG in ns gw-TAG; once it is ready the tap
# is moved into ns lan-TAG, where it is the LAN host's NIC. net_tap keeps its
# queue file descriptors across the move, so packets flow; its by-name ioctls
# fail from then on (ENODEV): the PMD reports the link down, and MTU,
# promiscuous mode, MAC changes and a port restart no longer work.
#
# Usage: scripts/lib/lab.sh COMMAND ...
#   up TAG DIR [--outer v4|v6] [--no-gateway-endpoint] [--no-remote-endpoint]
#              [--psk] [--build BUILD_DIR] [--owner PID]
#        namespaces, veth, wireguard-go, keys and DIR/gateway.yaml; prints
#        DIR/lab.env (KEY=VALUE lines naming everything)
#   start-dataplane TAG      start it in gw-TAG, wait for "ready", move the tap
#   start-controlplane TAG   start it in gw-TAG, wait for "ready"
#   start-gateway TAG        both
#   stop-controlplane TAG    SIGTERM (SIGKILL after 5 s)
#   launch-controlplane TAG [ARG...]
#                            start it in gw-TAG with extra ARGs, whether or
#                            not the dataplane runs, and return at once (the
#                            caller watches DIR/controlplane.log)
#   stop-dataplane TAG [--kill]
#                            SIGTERM (SIGKILL after 10 s), or SIGKILL at once;
#                            returns when it has exited (its tap goes with it)
#   link TAG gw|remote up|down
#                            set the outer veth end in that namespace up or
#                            down (wo-TAG in gw-TAG, wr-TAG in remote-TAG)
#   show TAG                 wirespeed-controlplane --show in gw-TAG
#   restart-remote TAG       stop wireguard-go and start/configure it again
#   exec TAG gw|remote|lan CMD...   run CMD in that namespace
#   down TAG                 stop every process in the lab's namespaces, delete
#                            them, remove DPDK runtime files and hugepage files
#   binaries [BUILD_DIR]     print DATAPLANE=... CONTROLPLANE=...; fails if missing
#   list                     labs that are up: "TAG DIR" lines
#   clean                    down every lab that list shows
#   clean-orphans            down the labs whose owner (the process that ran
#                            `up`, or --owner) is gone: leftovers of a killed test
#
# TAG: 1-11 characters [a-z0-9] (interface names must fit in 15). Labs are
# recorded in /run/wirespeed-lab/TAG (holding DIR) so that leftovers of a
# killed run can be found and removed; only recorded labs are ever touched
# (other tools on the host may use namespace names like gw-something too).
# DIR keeps keys, config, pid files and logs; down does not remove it (its
# caller decides).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
REGISTRY=/run/wirespeed-lab
READY_TIMEOUT_S=${WIRESPEED_LAB_READY_TIMEOUT:-30}
WG_PORT=51820

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*"; }

valid_tag() { [[ $1 =~ ^[a-z0-9]{1,11}$ ]] || die "TAG must be 1-11 characters of [a-z0-9], got '$1'"; }

# Loads DIR/lab.env of a lab that is up.
load() {
  local tag=$1
  valid_tag "$tag"
  [[ -f $REGISTRY/$tag ]] || die "no lab '$tag' is up (nothing in $REGISTRY/$tag)"
  DIR=$(head -n 1 "$REGISTRY/$tag")
  [[ -f $DIR/lab.env ]] || die "$DIR/lab.env missing (lab '$tag' half made? run: $0 down $tag)"
  # shellcheck source=/dev/null
  source "$DIR/lab.env"
}

names() {  # names TAG: the derived names, also written to lab.env
  TAG=$1
  NS_GW=gw-$TAG
  NS_REMOTE=remote-$TAG
  NS_LAN=lan-$TAG
  OUTER_IF=wo-$TAG
  REMOTE_IF=wr-$TAG
  TAP_IF=wi-$TAG
  WG_IF=wg-$TAG
  GW_NAME=ws-$TAG            # the gateway's interface.name: UAPI socket name
  FILE_PREFIX=wslab-$TAG
}

need_tools() {
  local missing=()
  [[ $(id -u) -eq 0 ]] || missing+=("root (network namespaces need it)")
  [[ -c /dev/net/tun ]] || missing+=("/dev/net/tun (scripts/setup.sh creates it)")
  local t
  for t in ip wg wireguard-go ethtool python3 sha256sum; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (scripts/setup.sh installs the tools)"
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# launch NAME NS CMD...: starts CMD in NS in its own session (a Ctrl-C at the
# terminal must not reach it: teardown is ordered), output to DIR/NAME.log,
# pid to DIR/NAME.pid (written by the process itself before exec, so it is
# right even if setsid had to fork).
launch() {
  local name=$1 ns=$2
  shift 2
  rm -f "$DIR/$name.pid"
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$DIR/$name.pid" ip netns exec "$ns" "$@" \
    </dev/null >"$DIR/$name.log" 2>&1 &
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s $DIR/$name.pid ]] && return 0
    sleep 0.02
  done
  die "$name did not start (no $DIR/$name.pid)"
}

pid_of() { [[ -s $DIR/$1.pid ]] && cat "$DIR/$1.pid"; }

alive() {  # alive PID: running and not a zombie
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 1
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]
}

log_tail() { echo "--- last lines of $DIR/$1.log ---"; tail -n 25 "$DIR/$1.log" 2>/dev/null || true; }

wait_ready() {  # wait_ready NAME PATTERN
  local name=$1 pattern=$2 pid deadline=$((SECONDS + READY_TIMEOUT_S))
  pid=$(pid_of "$name")
  while ((SECONDS < deadline)); do
    grep -qF "$pattern" "$DIR/$name.log" 2>/dev/null && return 0
    if ! alive "$pid"; then
      local status=unknown
      wait "$pid" 2>/dev/null && status=0 || status=$?
      log_tail "$name" >&2
      die "$name (pid $pid) exited with status $status before printing '$pattern'"
    fi
    sleep 0.1
  done
  log_tail "$name" >&2
  die "$name (pid $pid) did not print '$pattern' within ${READY_TIMEOUT_S} s"
}

stop_process() {  # stop_process NAME TIMEOUT_S: SIGTERM, then SIGKILL
  local name=$1 timeout=$2 pid i
  pid=$(pid_of "$name") || return 0
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "$name (pid $pid) ignored SIGTERM for ${timeout} s; SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# wait_ipv6_ready NS IF: the link is up and no IPv6 address on it is still
# tentative (the kernel ignores neighbour solicitations for those).
wait_ipv6_ready() {
  local ns=$1 ifname=$2 i
  for ((i = 0; i < 100; i++)); do
    if in_ns "$ns" ip link show "$ifname" | grep -q LOWER_UP &&
       [[ -z $(in_ns "$ns" ip -6 address show dev "$ifname" tentative) ]]; then
      return 0
    fi
    sleep 0.05
  done
  die "$ifname in $ns did not become ready (link up, IPv6 addresses not tentative) within 5 s"
}

write_key() {  # write_key FILE KEY: mode 0600 from the start
  (umask 077 && printf '%s\n' "$2" >"$1")
}

# find_binary BUILD NAME SUBDIR: where the build put NAME (meson puts an
# executable beside the meson.build that defines it: SUBDIR/ or SUBDIR/app/).
# Prints the first candidate even if none exists, for the error message.
find_binary() {
  local build=$1 name=$2 sub=$3 c
  for c in "$build/$sub/$name" "$build/$sub/app/$name"; do
    if [[ -x $c ]]; then echo "$c"; return 0; fi
  done
  echo "$build/$sub/app/$name"
}

cmd_binaries() {
  local build=${1:-$ROOT/build} dp cp ok=0
  dp=$(find_binary "$build" wirespeed-dataplane dataplane)
  cp=$(find_binary "$build" wirespeed-controlplane controlplane)
  echo "DATAPLANE=$dp"
  echo "CONTROLPLANE=$cp"
  [[ -x $dp ]] || { echo "lab: missing $dp (not built: ninja -C $build)" >&2; ok=1; }
  [[ -x $cp ]] || { echo "lab: missing $cp (not built: ninja -C $build)" >&2; ok=1; }
  return $ok
}

# --- up --------------------------------------------------------------------

gateway_config() {
  local endpoint_line="" psk_line=""
  if [[ $GATEWAY_ENDPOINT == yes ]]; then
    if [[ $OUTER == v4 ]]; then
      endpoint_line="    endpoint: \"192.0.2.2:$WG_PORT\""
    else
      endpoint_line="    endpoint: \"[2001:db8::2]:$WG_PORT\""
    fi
  fi
  [[ $PSK == yes ]] && psk_line="    preshared_key_file: $DIR/psk.key"
  # net_af_packet has one queue pair unless told: the dataplane wants one TX
  # queue per worker plus one for the main lcore (qpairs = workers + 1).
  cat <<EOF
# Written by scripts/lib/lab.sh for lab '$TAG'.
interface:
  name: $GW_NAME
  private_key_file: $DIR/gateway.key
  listen_port: $WG_PORT
  mtu: 1420
dataplane:
  file_prefix: $FILE_PREFIX
  eal: ["-l", "0-1", "--vdev=net_af_packet0,iface=$OUTER_IF,qpairs=2", "--vdev=net_tap0,iface=$TAP_IF", "--no-pci"]
  workers: [1]
  outer:
    port: net_af_packet0
    queues: 1
    address: ["192.0.2.1/24", "2001:db8::1/64"]
  inner:
    port: net_tap0
    queues: 1
    address: ["10.8.0.1/24", "fd00:8::1/64"]
peers:
  - name: remote
    public_key: $REMOTE_PUB
${psk_line:+$psk_line
}${endpoint_line:+$endpoint_line
}    allowed_ips: ["10.8.1.0/24", "fd00:1::/64"]
EOF
}

# Starts wireguard-go in ns remote-TAG and configures it; also used by
# restart-remote (its device, addresses and routes vanish when it exits).
start_remote_wg() {
  local sock=/var/run/wireguard/$WG_IF.sock i
  rm -f "$sock"
  launch remote-wg "$NS_REMOTE" wireguard-go -f "$WG_IF"
  for ((i = 0; i < 150; i++)); do
    [[ -S $sock ]] && break
    sleep 0.02
  done
  [[ -S $sock ]] || { log_tail remote-wg >&2; die "wireguard-go did not create $sock within 3 s"; }
  # shellcheck disable=SC2054  # the commas belong to wg's allowed-ips list
  local set=(wg set "$WG_IF" private-key "$DIR/remote.key" listen-port "$WG_PORT"
             peer "$GW_PUB" allowed-ips 10.8.0.0/24,fd00:8::/64)
  if [[ $REMOTE_ENDPOINT == yes ]]; then
    if [[ $OUTER == v4 ]]; then set+=(endpoint "192.0.2.1:$WG_PORT")
    else set+=(endpoint "[2001:db8::1]:$WG_PORT"); fi
  fi
  [[ $PSK == yes ]] && set+=(preshared-key "$DIR/psk.key")
  in_ns "$NS_REMOTE" "${set[@]}"
  in_ns "$NS_REMOTE" ip address add 10.8.1.2/24 dev "$WG_IF"
  in_ns "$NS_REMOTE" ip address add fd00:1::2/64 dev "$WG_IF" nodad
  in_ns "$NS_REMOTE" ip link set "$WG_IF" up
  in_ns "$NS_REMOTE" ip route add 10.8.0.0/24 dev "$WG_IF"
  in_ns "$NS_REMOTE" ip -6 route add fd00:8::/64 dev "$WG_IF"
}

cmd_up() {
  (($# >= 2)) || die "usage: up TAG DIR [--outer v4|v6] [--no-gateway-endpoint] [--no-remote-endpoint] [--psk] [--build DIR] [--owner PID]"
  local tag=$1 dir=$2
  shift 2
  valid_tag "$tag"
  OUTER=v4 GATEWAY_ENDPOINT=yes REMOTE_ENDPOINT=yes PSK=no BUILD=$ROOT/build OWNER=$PPID
  while (($#)); do
    case $1 in
      --outer) OUTER=${2:-}; [[ $OUTER == v4 || $OUTER == v6 ]] || die "--outer takes v4 or v6"; shift ;;
      --no-gateway-endpoint) GATEWAY_ENDPOINT=no ;;
      --no-remote-endpoint) REMOTE_ENDPOINT=no ;;
      --psk) PSK=yes ;;
      --build) BUILD=${2:-}; [[ -n $BUILD ]] || die "--build takes a directory"; shift ;;
      --owner) OWNER=${2:-}; [[ $OWNER =~ ^[0-9]+$ ]] || die "--owner takes a pid"; shift ;;
      *) die "unknown option '$1'" ;;
    esac
    shift
  done
  [[ $GATEWAY_ENDPOINT == yes || $REMOTE_ENDPOINT == yes ]] \
    || die "with neither side knowing the other's endpoint no handshake can start"
  need_tools
  names "$tag"
  [[ ! -e $REGISTRY/$tag ]] || die "lab '$tag' is already up (DIR $(head -n 1 "$REGISTRY/$tag")); run: $0 down $tag"
  local ns
  for ns in "$NS_GW" "$NS_REMOTE" "$NS_LAN"; do
    [[ ! -e /var/run/netns/$ns ]] || die "namespace $ns exists (a leftover?); run: $0 down $tag"
  done
  mkdir -p "$dir" "$REGISTRY"
  DIR=$(cd "$dir" && pwd)
  [[ $DIR != *[[:space:]]* ]] || die "DIR must not contain spaces: '$DIR'"
  BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || die "build directory '$BUILD' does not exist"
  chmod 700 "$DIR"
  printf '%s\n%s\n' "$DIR" "$OWNER" >"$REGISTRY/$tag"
  # From here on a failure would leave a half-made lab behind: tear it down.
  UP_DONE=no
  trap 'if [[ $UP_DONE == no ]]; then echo "lab: up failed; tearing down" >&2; cmd_down "$TAG" >/dev/null 2>&1 || true; fi' EXIT

  write_key "$DIR/gateway.key" "$(wg genkey)"
  write_key "$DIR/remote.key" "$(wg genkey)"
  GW_PUB=$(wg pubkey <"$DIR/gateway.key")
  REMOTE_PUB=$(wg pubkey <"$DIR/remote.key")
  [[ $PSK == yes ]] && write_key "$DIR/psk.key" "$(wg genpsk)"

  cat >"$DIR/lab.env" <<EOF
TAG=$TAG
DIR=$DIR
BUILD=$BUILD
OUTER=$OUTER
GATEWAY_ENDPOINT=$GATEWAY_ENDPOINT
REMOTE_ENDPOINT=$REMOTE_ENDPOINT
PSK=$PSK
NS_GW=$NS_GW
NS_REMOTE=$NS_REMOTE
NS_LAN=$NS_LAN
OUTER_IF=$OUTER_IF
REMOTE_IF=$REMOTE_IF
TAP_IF=$TAP_IF
WG_IF=$WG_IF
GW_NAME=$GW_NAME
FILE_PREFIX=$FILE_PREFIX
GW_PUB=$GW_PUB
REMOTE_PUB=$REMOTE_PUB
CONFIG=$DIR/gateway.yaml
DATAPLANE=$(find_binary "$BUILD" wirespeed-dataplane dataplane)
CONTROLPLANE=$(find_binary "$BUILD" wirespeed-controlplane controlplane)
EOF
  gateway_config >"$DIR/gateway.yaml"

  for ns in "$NS_GW" "$NS_REMOTE" "$NS_LAN"; do
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
  done
  ip link add "$OUTER_IF" netns "$NS_GW" type veth peer name "$REMOTE_IF" netns "$NS_REMOTE"
  # The outer veth end belongs to net_af_packet: the gateway namespace's
  # kernel must stay silent on it (no link-local address, no ND/MLD).
  in_ns "$NS_GW" sysctl -q -w "net.ipv6.conf.$OUTER_IF.disable_ipv6=1"
  in_ns "$NS_GW" ip link set "$OUTER_IF" up
  # A veth hands the far end packets with checksums left to "hardware"
  # (CHECKSUM_PARTIAL); AF_PACKET delivers them as they are. A real wire
  # carries finished checksums, so the remote computes them in software.
  in_ns "$NS_REMOTE" ethtool -K "$REMOTE_IF" tx off >/dev/null
  # No duplicate address detection on a link we made (it delays IPv6 by a
  # second), and up only returns once IPv6 is ready to answer neighbour
  # solicitations: a gateway started at once must find its peer there.
  in_ns "$NS_REMOTE" sysctl -q -w "net.ipv6.conf.$REMOTE_IF.accept_dad=0"
  in_ns "$NS_REMOTE" ip address add 192.0.2.2/24 dev "$REMOTE_IF"
  in_ns "$NS_REMOTE" ip address add 2001:db8::2/64 dev "$REMOTE_IF" nodad
  in_ns "$NS_REMOTE" ip link set "$REMOTE_IF" up
  wait_ipv6_ready "$NS_REMOTE" "$REMOTE_IF"
  start_remote_wg
  UP_DONE=yes
  cat "$DIR/lab.env"
}

# --- gateway processes -------------------------------------------------------

need_binary() {
  [[ -x $1 ]] || die "$1 does not exist: build it (ninja -C $BUILD)"
}

need_hugepages() {
  local free
  free=$(awk '/^HugePages_Free:/ {print $2}' /proc/meminfo)
  ((free > 0)) || die "no free hugepages (HugePages_Free 0): run scripts/setup.sh, or '$0 clean' to remove leftover labs"
  awk '$3 == "hugetlbfs" {f = 1} END {exit !f}' /proc/mounts || die "hugetlbfs is not mounted: run scripts/setup.sh"
}

cmd_start_dataplane() {
  load "$1"
  need_binary "$DATAPLANE"
  need_hugepages
  local pid
  pid=$(pid_of dataplane 2>/dev/null) && alive "$pid" && die "dataplane already running (pid $pid)"
  launch dataplane "$NS_GW" "$DATAPLANE" -- --config "$CONFIG"
  wait_ready dataplane "wirespeed-dataplane: ready"
  in_ns "$NS_GW" ip link show "$TAP_IF" >/dev/null 2>&1 \
    || { log_tail dataplane >&2; die "the dataplane is ready but created no $TAP_IF in $NS_GW"; }
  # The tap becomes the LAN host's NIC. A LAN host has its own MAC address
  # (net_tap gives the kernel side the PMD's own MAC), and the inner MTU.
  ip -n "$NS_GW" link set "$TAP_IF" netns "$NS_LAN"
  in_ns "$NS_LAN" sysctl -q -w "net.ipv6.conf.$TAP_IF.accept_dad=0"
  in_ns "$NS_LAN" ip link set "$TAP_IF" address 02:00:0a:08:00:02
  in_ns "$NS_LAN" ip link set "$TAP_IF" mtu 1420
  in_ns "$NS_LAN" ip address add 10.8.0.2/24 dev "$TAP_IF"
  in_ns "$NS_LAN" ip address add fd00:8::2/64 dev "$TAP_IF" nodad
  in_ns "$NS_LAN" ip link set "$TAP_IF" up
  wait_ipv6_ready "$NS_LAN" "$TAP_IF"
  in_ns "$NS_LAN" ip route add 10.8.1.0/24 via 10.8.0.1
  in_ns "$NS_LAN" ip -6 route add fd00:1::/64 via fd00:8::1
  say "dataplane ready (pid $(pid_of dataplane)); $TAP_IF moved to $NS_LAN"
}

cmd_start_controlplane() {
  load "$1"
  need_binary "$CONTROLPLANE"
  local pid
  if ! pid=$(pid_of dataplane) || ! alive "$pid"; then
    die "the dataplane is not running: start-dataplane first"
  fi
  pid=$(pid_of controlplane 2>/dev/null) && alive "$pid" && die "controlplane already running (pid $pid)"
  # Each start gets its own log; the previous one is kept beside it.
  [[ -f $DIR/controlplane.log ]] && mv "$DIR/controlplane.log" "$DIR/controlplane.log.$(date +%s%N)"
  launch controlplane "$NS_GW" "$CONTROLPLANE" --config "$CONFIG"
  wait_ready controlplane "info: ready"
  say "controlplane ready (pid $(pid_of controlplane))"
}

cmd_stop_controlplane() {
  load "$1"
  stop_process controlplane 5
}

cmd_launch_controlplane() {
  load "$1"
  shift
  need_binary "$CONTROLPLANE"
  local pid
  pid=$(pid_of controlplane 2>/dev/null) && alive "$pid" && die "controlplane already running (pid $pid)"
  [[ -f $DIR/controlplane.log ]] && mv "$DIR/controlplane.log" "$DIR/controlplane.log.$(date +%s%N)"
  launch controlplane "$NS_GW" "$CONTROLPLANE" --config "$CONFIG" "$@"
  say "controlplane launched (pid $(pid_of controlplane))"
}

cmd_stop_dataplane() {
  load "$1"
  local pid i
  pid=$(pid_of dataplane) || die "no dataplane was started (no $DIR/dataplane.pid)"
  if ! alive "$pid"; then
    say "dataplane (pid $pid) is not running"
  elif [[ ${2:-} == --kill ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      alive "$pid" || break
      sleep 0.05
    done
  else
    stop_process dataplane 10
  fi
  alive "$pid" && die "dataplane (pid $pid) did not exit"
  # Its tap (in ns lan-TAG) disappears with the process; wait for that so
  # that a new dataplane's tap can take the name there.
  for ((i = 0; i < 100; i++)); do
    in_ns "$NS_LAN" ip link show "$TAP_IF" >/dev/null 2>&1 || break
    sleep 0.05
  done
  say "dataplane (pid $pid) stopped"
}

cmd_link() {
  (($# == 3)) || die "usage: link TAG gw|remote up|down"
  load "$1"
  local ns ifname
  case $2 in
    gw) ns=$NS_GW ifname=$OUTER_IF ;;
    remote) ns=$NS_REMOTE ifname=$REMOTE_IF ;;
    *) die "link: namespace must be gw or remote, got '$2'" ;;
  esac
  [[ $3 == up || $3 == down ]] || die "link: state must be up or down, got '$3'"
  in_ns "$ns" ip link set "$ifname" "$3"
  say "$ifname in $ns is $3"
}

cmd_show() {
  load "$1"
  need_binary "$CONTROLPLANE"
  in_ns "$NS_GW" "$CONTROLPLANE" --config "$CONFIG" --show
}

cmd_restart_remote() {
  load "$1"
  stop_process remote-wg 3
  start_remote_wg
  say "wireguard-go restarted in $NS_REMOTE (pid $(pid_of remote-wg))"
}

cmd_exec() {
  (($# >= 3)) || die "usage: exec TAG gw|remote|lan CMD..."
  load "$1"
  local ns
  case $2 in
    gw) ns=$NS_GW ;; remote) ns=$NS_REMOTE ;; lan) ns=$NS_LAN ;;
    *) die "namespace must be gw, remote or lan, got '$2'" ;;
  esac
  shift 2
  exec ip netns exec "$ns" "$@"
}

# --- down --------------------------------------------------------------------

cmd_down() {
  local tag=$1
  valid_tag "$tag"
  names "$tag"
  DIR=""
  [[ -f $REGISTRY/$tag ]] && DIR=$(head -n 1 "$REGISTRY/$tag")
  if [[ -n $DIR && -d $DIR ]]; then
    # The control plane first: a secondary should not lose its primary.
    stop_process controlplane 5
    stop_process dataplane 10
    stop_process remote-wg 3
  fi
  # Anything else still running in the lab's namespaces (iperf3, transfer
  # helpers, processes whose pid file is gone) is the lab's too.
  local ns pids i
  for ns in "$NS_GW" "$NS_LAN" "$NS_REMOTE"; do
    [[ -e /var/run/netns/$ns ]] || continue
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -z $pids ]] && continue
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do
      pids=$(ip netns pids "$ns" 2>/dev/null || true)
      [[ -z $pids ]] && break
      sleep 0.1
    done
    # shellcheck disable=SC2086
    if [[ -n $pids ]]; then kill -KILL $pids 2>/dev/null || true; fi
  done
  for ns in "$NS_LAN" "$NS_GW" "$NS_REMOTE"; do
    [[ -e /var/run/netns/$ns ]] && ip netns delete "$ns"
  done
  # w2-TAG: the second wireguard-go of tests/lab/wg_tools_lab_test.cpp.
  rm -f "/var/run/wireguard/$WG_IF.sock" "/var/run/wireguard/$GW_NAME.sock" "/var/run/wireguard/w2-$TAG.sock"
  rm -rf "/var/run/dpdk/$FILE_PREFIX"
  # DPDK leaves its hugepage files behind even on a clean exit; they hold
  # the pages until removed.
  local mnt
  while read -r mnt; do
    rm -f "$mnt/${FILE_PREFIX}map_"* "$mnt/${FILE_PREFIX}"_* 2>/dev/null || true
  done < <(awk '$3 == "hugetlbfs" {print $2}' /proc/mounts)
  rm -f "$REGISTRY/$tag"
  say "lab '$tag' is down${DIR:+ (logs in $DIR)}"
}

cmd_list() {
  local f
  for f in "$REGISTRY"/*; do
    if [[ -f $f ]]; then echo "$(basename "$f") $(head -n 1 "$f")"; fi
  done
}

cmd_clean_orphans() {
  local f owner
  for f in "$REGISTRY"/*; do
    [[ -f $f ]] || continue
    owner=$(sed -n 2p "$f")
    if [[ $owner =~ ^[0-9]+$ ]] && alive "$owner"; then continue; fi
    cmd_down "$(basename "$f")"
  done
}

cmd_clean() {
  local tag
  for tag in $(cmd_list | awk '{print $1}'); do
    cmd_down "$tag"
  done
}

main() {
  (($# >= 1)) || die "usage: $0 up|start-dataplane|start-controlplane|start-gateway|stop-controlplane|launch-controlplane|stop-dataplane|link|show|restart-remote|exec|down|binaries|list|clean|clean-orphans ..."
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    start-dataplane) (($# == 1)) || die "usage: start-dataplane TAG"; cmd_start_dataplane "$1" ;;
    start-controlplane) (($# == 1)) || die "usage: start-controlplane TAG"; cmd_start_controlplane "$1" ;;
    start-gateway) (($# == 1)) || die "usage: start-gateway TAG"; cmd_start_dataplane "$1"; cmd_start_controlplane "$1" ;;
    stop-controlplane) (($# == 1)) || die "usage: stop-controlplane TAG"; cmd_stop_controlplane "$1" ;;
    launch-controlplane) (($# >= 1)) || die "usage: launch-controlplane TAG [ARG...]"; cmd_launch_controlplane "$@" ;;
    stop-dataplane)
      if ! (($# == 1 || $# == 2)) || [[ ${2:---kill} != --kill ]]; then die "usage: stop-dataplane TAG [--kill]"; fi
      cmd_stop_dataplane "$@" ;;
    link) cmd_link "$@" ;;
    show) (($# == 1)) || die "usage: show TAG"; cmd_show "$1" ;;
    restart-remote) (($# == 1)) || die "usage: restart-remote TAG"; cmd_restart_remote "$1" ;;
    exec) cmd_exec "$@" ;;
    down) (($# == 1)) || die "usage: down TAG"; cmd_down "$1" ;;
    binaries) cmd_binaries "$@" ;;
    list) cmd_list ;;
    clean) cmd_clean ;;
    clean-orphans) cmd_clean_orphans ;;
    *) die "unknown command '$cmd'" ;;
  esac
}

main "$@"
