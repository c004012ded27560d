#!/usr/bin/env bash
# Prepare a Debian 12 host to build, test and run wirespeed. Idempotent: re-running
# changes nothing once the host is set up.
#
#   sudo scripts/setup.sh
#   sudo WIRESPEED_HUGEPAGES=2048 scripts/setup.sh   # number of 2 MiB pages (default 1024)
set -euo pipefail

PACKAGES=(
    dpdk-dev libdpdk-dev libipsec-mb-dev libsodium-dev libb2-dev libyaml-cpp-dev
    googletest libgtest-dev meson ninja-build pkg-config g++ python3
    clang libclang-rt-14-dev
    wireguard-go wireguard-tools iperf3 iproute2 iputils-ping tcpdump ethtool curl
)
HUGEPAGES=${WIRESPEED_HUGEPAGES:-1024}
HUGE_MNT=/dev/hugepages
CHANGED=0

say() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

if [[ $(id -u) -ne 0 ]]; then
    echo "setup: must be run as root (try: sudo $0)" >&2
    exit 1
fi
[[ $HUGEPAGES =~ ^[0-9]+$ ]] || die "WIRESPEED_HUGEPAGES must be a number of pages, got '$HUGEPAGES'"

# --- packages -----------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null || die "apt-get update failed"
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"
    say "installed ${missing[*]}"
    CHANGED=1
else
    say "packages: all ${#PACKAGES[@]} installed (already)"
fi

# --- hugepages ------------------------------------------------------------------
page_kb=$(awk '/^Hugepagesize:/ {print $2}' /proc/meminfo)
page_desc="$((page_kb / 1024)) MiB"
[[ $page_kb == 2048 ]] || say "warning: default hugepage size is $page_desc, not 2 MiB"
have=$(cat /proc/sys/vm/nr_hugepages)
if ((have >= HUGEPAGES)); then
    say "hugepages $have x $page_desc reserved (already; wanted $HUGEPAGES)"
else
    sysctl -q -w vm.nr_hugepages="$HUGEPAGES" || die "sysctl vm.nr_hugepages=$HUGEPAGES failed"
    got=$(cat /proc/sys/vm/nr_hugepages)
    if ((got < HUGEPAGES)); then
        sysctl -q -w vm.nr_hugepages="$have" || true   # give the partial reservation back
        die "asked the kernel for $HUGEPAGES hugepages, it could reserve only $got (not enough
  free contiguous memory); left vm.nr_hugepages at $have. Free memory (stop other memory or
  hugepage users, then 'sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory')
  and re-run, reserve them at boot (kernel command line: hugepages=$HUGEPAGES), or set a
  smaller WIRESPEED_HUGEPAGES."
    fi
    say "hugepages $got x $page_desc reserved (was $have)"
    CHANGED=1
fi

if awk -v m="$HUGE_MNT" '$2 == m && $3 == "hugetlbfs" {f = 1} END {exit !f}' /proc/mounts; then
    say "hugetlbfs mounted at $HUGE_MNT (already)"
else
    mkdir -p "$HUGE_MNT"
    mount -t hugetlbfs nodev "$HUGE_MNT" || die "could not mount hugetlbfs at $HUGE_MNT"
    say "mounted hugetlbfs at $HUGE_MNT"
    CHANGED=1
fi

# --- /dev/net/tun (net_tap PMD and wireguard-go need it) ---------------------------
if [[ -c /dev/net/tun ]]; then
    say "/dev/net/tun present (already)"
else
    modprobe tun 2>/dev/null || true
    if [[ ! -c /dev/net/tun ]]; then
        mkdir -p /dev/net
        mknod -m 0666 /dev/net/tun c 10 200 || die "could not create /dev/net/tun"
    fi
    [[ -c /dev/net/tun ]] || die "/dev/net/tun still missing (is the tun module available?)"
    say "created /dev/net/tun"
    CHANGED=1
fi

((CHANGED)) || say "nothing to change, host already set up"
say "ok"
