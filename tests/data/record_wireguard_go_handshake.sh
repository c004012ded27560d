#!/usr/bin/env bash
# Record one real WireGuard handshake initiation sent by Debian's wireguard-go.
#
# Usage: sudo tests/data/record_wireguard_go_handshake.sh [OUTPUT_DIR]
#   OUTPUT_DIR defaults to tests/data/wireguard_go_handshake next to this script.
#
# Everything happens inside a private network namespace (ws-rec-<pid>) that is
# deleted on exit; the only addresses used are 127.0.0.1 and 10.99.0.0/24 inside
# that namespace. The keys written are throw-away test keys.
#
# Files written (all replaced together, only after the capture was verified):
#   initiator_{private,public}.key  wireguard-go's key pair (base64, as wg prints)
#   responder_{private,public}.key  the peer's key pair (the side our code plays)
#   preshared.key                   the peer's pre-shared key (base64)
#   initiation.pcap                 tcpdump capture on lo: exactly one UDP packet
#   initiation.hex                  its 148-byte UDP payload, lowercase hex, one line
#   capture_time.txt                the pcap record's timestamp, unix seconds
#   meta.txt                        key=value context (ports, addresses, versions)
set -euo pipefail

WG_PORT=51820          # wireguard-go's listen port (initiator)
RESP_PORT=51821        # P: where the responder would listen; nothing listens there
TUN_ADDR=10.99.0.1/24  # wireguard-go's tunnel address
PEER_IP=10.99.0.2      # the responder's allowed-ips (/32); pinged to start a handshake

die() { echo "record: error: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || die "must run as root (needs network namespaces and a tun device)"
for c in ip wg wireguard-go tcpdump python3 timeout ping; do
    command -v "$c" >/dev/null || die "missing command: $c"
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${1:-$HERE/wireguard_go_handshake}
NS=ws-rec-$$
IFACE=wsrec$$          # wireguard-go's UAPI socket path (/var/run/wireguard) is global
IFACE=${IFACE:0:15}
WORK=$(mktemp -d /tmp/ws-rec.XXXXXX)
WG_PID= TCPDUMP_PID=

cleanup() {
    local rc=$?
    [[ -n $TCPDUMP_PID ]] && kill "$TCPDUMP_PID" 2>/dev/null || true
    [[ -n $WG_PID ]] && kill "$WG_PID" 2>/dev/null || true
    [[ -n $TCPDUMP_PID ]] && wait "$TCPDUMP_PID" 2>/dev/null || true
    [[ -n $WG_PID ]] && wait "$WG_PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -f "/var/run/wireguard/$IFACE.sock"
    if [[ $rc -ne 0 ]]; then
        echo "record: failed (rc=$rc); logs:" >&2
        for f in "$WORK"/*.log; do [[ -s $f ]] && { echo "--- $f" >&2; cat "$f" >&2; }; done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Wait up to $1 tenths of a second for the command "$2..." to succeed.
poll() { local n=$1; shift; while ((n-- > 0)); do "$@" && return 0; sleep 0.1; done; return 1; }

# --- keys ---------------------------------------------------------------------
umask 077
wg genkey > "$WORK/initiator_private.key"
wg pubkey < "$WORK/initiator_private.key" > "$WORK/initiator_public.key"
wg genkey > "$WORK/responder_private.key"
wg pubkey < "$WORK/responder_private.key" > "$WORK/responder_public.key"
wg genpsk > "$WORK/preshared.key"
umask 022

# --- namespace + wireguard-go -------------------------------------------------
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up

# -f: stay in the foreground so we own the PID. Debian's wireguard-go 0.0.20220316
# prints a "kernel has first class support for WireGuard" banner but runs anyway;
# it no longer knows WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD (old builds did).
timeout 60 ip netns exec "$NS" wireguard-go -f "$IFACE" > "$WORK/wireguard-go.log" 2>&1 &
WG_PID=$!
poll 50 ip netns exec "$NS" wg show "$IFACE" >/dev/null 2>&1 || die "wireguard-go did not come up"

ip netns exec "$NS" wg set "$IFACE" \
    private-key "$WORK/initiator_private.key" listen-port "$WG_PORT" \
    peer "$(cat "$WORK/responder_public.key")" preshared-key "$WORK/preshared.key" \
    endpoint "127.0.0.1:$RESP_PORT" allowed-ips "$PEER_IP/32"
ip netns exec "$NS" ip addr add "$TUN_ADDR" dev "$IFACE"
ip netns exec "$NS" ip link set "$IFACE" up

# --- capture --------------------------------------------------------------------
# -Z root: Debian's tcpdump otherwise drops to user tcpdump and may not write $WORK.
timeout 30 ip netns exec "$NS" tcpdump -i lo -n -U -c 1 -Z root \
    -w "$WORK/initiation.pcap" "udp dst port $RESP_PORT" > "$WORK/tcpdump.log" 2>&1 &
TCPDUMP_PID=$!
poll 100 grep -q "listening on" "$WORK/tcpdump.log" || die "tcpdump did not start"

# A packet routed to the peer makes wireguard-go send a handshake initiation to
# 127.0.0.1:RESP_PORT. The ping itself never gets an answer; retry a few times.
for _ in 1 2 3 4 5; do
    timeout 5 ip netns exec "$NS" ping -c1 -W1 "$PEER_IP" >/dev/null 2>&1 || true
    kill -0 "$TCPDUMP_PID" 2>/dev/null || break
done
wait "$TCPDUMP_PID" || die "tcpdump failed or captured nothing"
TCPDUMP_PID=

# --- extract + verify -----------------------------------------------------------
python3 - "$WORK" "$WG_PORT" "$RESP_PORT" <<'EOF'
import base64, hashlib, hmac, struct, sys
work, wg_port, resp_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def fail(msg): sys.exit("record: error: " + msg)

data = open(f"{work}/initiation.pcap", "rb").read()
magic = data[:4]
if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"): e = "<"
elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"): e = ">"
else: fail("not a classic pcap file")
unit = "ns" if b"\x3c" in magic else "us"
linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
recs, off = [], 24
while off + 16 <= len(data):
    sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
    recs.append((sec, frac, data[off + 16:off + 16 + incl])); off += 16 + incl
if len(recs) != 1: fail(f"expected 1 packet, pcap has {len(recs)}")
sec, frac, pkt = recs[0]

if linktype == 1:      # DLT_EN10MB (Linux lo: zeroed 14-byte Ethernet header)
    proto, l3 = struct.unpack(">H", pkt[12:14])[0], pkt[14:]
elif linktype == 113:  # DLT_LINUX_SLL
    proto, l3 = struct.unpack(">H", pkt[14:16])[0], pkt[16:]
elif linktype == 276:  # DLT_LINUX_SLL2
    proto, l3 = struct.unpack(">H", pkt[0:2])[0], pkt[20:]
else: fail(f"unsupported link type {linktype}")
if proto != 0x0800 or l3[0] >> 4 != 4 or l3[9] != 17: fail("not IPv4/UDP")
ihl = (l3[0] & 0x0F) * 4
sport, dport, ulen = struct.unpack(">HHH", l3[ihl:ihl + 6])
payload = l3[ihl + 8:ihl + ulen]
if (sport, dport) != (wg_port, resp_port): fail(f"unexpected ports {sport}->{dport}")
if len(payload) != 148 or ulen != 156: fail(f"payload is {len(payload)} bytes, want 148")
if payload[:4] != b"\x01\x00\x00\x00": fail("payload is not a handshake initiation")

# mac1 = BLAKE2s-128(key = BLAKE2s("mac1----" || responder_public), msg[0:116])
key = lambda n: base64.b64decode(open(f"{work}/{n}.key").read())
s_pub_r = key("responder_public")
mac1_key = hashlib.blake2s(b"mac1----" + s_pub_r).digest()
if hashlib.blake2s(payload[:116], key=mac1_key, digest_size=16).digest() != payload[116:132]:
    fail("mac1 does not verify against responder_public.key")
if payload[132:148] != bytes(16): fail("mac2 is not zero")

# Optional full check (needs python3-cryptography): decrypt as the responder.
try:
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
except ImportError:
    print("record: note: python3-cryptography missing, skipped decrypting the initiation")
else:
    H = lambda b: hashlib.blake2s(b).digest()
    M = lambda k, b: hmac.new(k, b, hashlib.blake2s).digest()
    def kdf2(c, x):
        t0 = M(c, x); t1 = M(t0, b"\x01"); return t1, M(t0, t1 + b"\x02")
    dh = lambda priv, pub: X25519PrivateKey.from_private_bytes(priv).exchange(
        X25519PublicKey.from_public_bytes(pub))
    aead_open = lambda k, ct, ad: ChaCha20Poly1305(k).decrypt(bytes(12), ct, ad)
    s_priv_r, e_pub = key("responder_private"), payload[8:40]
    c = H(b"Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")
    h = H(H(c + b"WireGuard v1 zx2c4 Jason@zx2c4.com") + s_pub_r)
    c = M(M(c, e_pub), b"\x01"); h = H(h + e_pub)
    c, k = kdf2(c, dh(s_priv_r, e_pub))
    s_pub_i = aead_open(k, payload[40:88], h); h = H(h + payload[40:88])
    if s_pub_i != key("initiator_public"): fail("decrypted static key != initiator_public.key")
    c, k = kdf2(c, dh(s_priv_r, s_pub_i))
    tai = aead_open(k, payload[88:116], h)
    ts_sec = struct.unpack(">Q", tai[:8])[0] - 0x400000000000000A
    if abs(ts_sec - sec) > 5: fail(f"TAI64N seconds {ts_sec} far from capture time {sec}")
    print(f"record: decrypted OK: static = initiator key, TAI64N = {ts_sec}")

open(f"{work}/initiation.hex", "w").write(payload.hex() + "\n")
open(f"{work}/capture_time.txt", "w").write(f"{sec}\n")
open(f"{work}/capture.meta", "w").write(
    f"capture_unix_seconds={sec}\ncapture_subsec={frac}\ncapture_subsec_unit={unit}\n"
    f"sender_index_le_hex={payload[4:8].hex()}\npcap_linktype={linktype}\n")
EOF

# Show anything unusual on the daemons' stderr (minus the banner box).
grep -v -e '^[│┌└ ]' -e '^$' "$WORK/wireguard-go.log" | sed 's/^/record: wireguard-go: /' || true
sed 's/^/record: tcpdump: /' "$WORK/tcpdump.log"

WG_GO_VERSION=$(wireguard-go --version | awk 'NR==1 {print $2}')
WG_VERSION=$(wg --version | awk '{print $2}')
{
    echo "wireguard_go_version=$WG_GO_VERSION"
    echo "wg_version=$WG_VERSION"
    echo "initiator_listen_port=$WG_PORT"
    echo "responder_endpoint=127.0.0.1:$RESP_PORT"
    echo "initiator_tunnel_addr=$TUN_ADDR"
    echo "responder_allowed_ips=$PEER_IP/32"
    cat "$WORK/capture.meta"
    echo "recorded_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} > "$WORK/meta.txt"

mkdir -p "$OUT"
for f in initiator_private.key initiator_public.key responder_private.key responder_public.key \
         preshared.key initiation.pcap initiation.hex capture_time.txt meta.txt; do
    install -m 0644 "$WORK/$f" "$OUT/$f"
done
echo "record: wrote $OUT ($(cat "$OUT/initiation.hex" | cut -c1-16)..., $(wc -c < "$OUT/initiation.pcap") byte pcap)"
