// Ethernet / ARP / IPv4 / IPv6 / UDP / ICMP framing on plain byte buffers:
// classify a received frame into a view of offsets, check an inner (decrypted)
// IP packet, build the outer Ethernet+IP+UDP headers of a WireGuard datagram,
// and the Internet checksum (RFC 1071) they all need.
//
// Used by both processes: the dataplane's worker lcores on mbuf data pointers
// (rte_pktmbuf_mtod + data_len) and the control plane on copies of punted
// frames. Hence bytes only: no DPDK structs (whose 2-byte alignment a copied
// buffer need not have), no EAL, no allocation, no exceptions. Every field is
// read byte-wise after the length that covers it has been checked, so any
// buffer, of any length and alignment, is safe to hand in.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace wirespeed::dataplane::net {

inline constexpr size_t kEthHeaderLen = 14;
inline constexpr size_t kIpv4HeaderLen = 20;  // without options
inline constexpr size_t kIpv6HeaderLen = 40;
inline constexpr size_t kUdpHeaderLen = 8;
inline constexpr size_t kIcmpHeaderLen = 8;  // type, code, checksum, 4 bytes of "rest"
inline constexpr size_t kArpLen = 28;        // Ethernet/IPv4 ARP body (RFC 826)
inline constexpr size_t kMinFrameLen = 60;   // Ethernet minimum without FCS
// FrameView's offsets are 16-bit: a longer buffer is classified kUnsupported
// (jumbo frames stop at ~9.2 KB, so nothing real is lost).
inline constexpr size_t kMaxFrameLen = 65535;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeQinQ = 0x88a8;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoIpv6Fragment = 44;
inline constexpr uint8_t kIpProtoIcmpv6 = 58;

// ARP body offsets from the start of the ARP header (l3_offset).
inline constexpr size_t kArpOpOffset = 6;
inline constexpr size_t kArpShaOffset = 8;
inline constexpr size_t kArpSpaOffset = 14;
inline constexpr size_t kArpThaOffset = 18;
inline constexpr size_t kArpTpaOffset = 24;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

// Network byte order, byte by byte: no alignment requirement, no aliasing.
constexpr uint16_t load_be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
constexpr uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
constexpr void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
constexpr void store_be32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static constexpr MacAddress broadcast() noexcept {
    return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  }
  static MacAddress from(const uint8_t* p) noexcept {
    MacAddress m;
    for (size_t i = 0; i < 6; ++i) m.bytes[i] = p[i];
    return m;
  }

  constexpr bool is_broadcast() const noexcept { return *this == broadcast(); }
  // The I/G bit: group addresses, broadcast included.
  constexpr bool is_multicast() const noexcept { return (bytes[0] & 0x01) != 0; }
  constexpr bool is_zero() const noexcept { return *this == MacAddress{}; }
  // Usable as the address of one station: neither group nor all-zero.
  constexpr bool is_unicast() const noexcept { return !is_multicast() && !is_zero(); }

  friend constexpr bool operator==(const MacAddress&, const MacAddress&) = default;
};

// An IPv4 or IPv6 address in network byte order, laid out like the control
// plane's peers::IpAddress (v4 in the first 4 bytes, the other 12 zero) so a
// conversion is a copy. family 0 means "no address" (ARP-less views, errors).
// 17 bytes, no padding, all bytes defined: hash or memcmp it directly.
struct IpAddr {
  uint8_t family = 0;  // 0, 4 or 6
  std::array<uint8_t, 16> bytes{};

  static IpAddr v4(const uint8_t* p) noexcept {
    IpAddr a;
    a.family = 4;
    for (size_t i = 0; i < 4; ++i) a.bytes[i] = p[i];
    return a;
  }
  static constexpr IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) noexcept {
    IpAddr r;
    r.family = 4;
    r.bytes[0] = a;
    r.bytes[1] = b;
    r.bytes[2] = c;
    r.bytes[3] = d;
    return r;
  }
  static IpAddr v6(const uint8_t* p) noexcept {
    IpAddr a;
    a.family = 6;
    for (size_t i = 0; i < 16; ++i) a.bytes[i] = p[i];
    return a;
  }

  // Bytes on the wire: 4, 16, or 0 for family 0.
  constexpr size_t size() const noexcept { return family == 4 ? 4 : family == 6 ? 16 : 0; }
  // 224.0.0.0/4 (and 255.255.255.255 is not unicast either, see is_unicast), ff00::/8.
  constexpr bool is_multicast() const noexcept {
    return family == 4 ? (bytes[0] & 0xf0) == 0xe0 : family == 6 && bytes[0] == 0xff;
  }
  constexpr bool is_unspecified() const noexcept {
    for (uint8_t b : bytes) {
      if (b != 0) return false;
    }
    return family == 4 || family == 6;
  }
  // An address one host may legitimately send from: not unspecified,
  // multicast, broadcast or 240/4 (class E), not loopback (127/8, ::1).
  bool is_unicast() const noexcept;

  // By hand, not defaulted: the default compares the array with a call to
  // memcmp, which showed in profiles of the data path (own-address checks,
  // endpoint compares run per packet).
  friend constexpr bool operator==(const IpAddr& a, const IpAddr& b) noexcept {
    const auto x = std::bit_cast<std::array<uint64_t, 2>>(a.bytes);
    const auto y = std::bit_cast<std::array<uint64_t, 2>>(b.bytes);
    return a.family == b.family && ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
  }
};

// True when a and b are of one family and agree in their first `bits` bits
// (b inside a's /bits, and the other way round).
inline bool same_prefix(const IpAddr& a, const IpAddr& b, unsigned bits) noexcept {
  if (a.family != b.family || bits > a.size() * 8) return false;
  const unsigned bytes = bits / 8;
  for (unsigned i = 0; i < bytes; ++i)
    if (a.bytes[i] != b.bytes[i]) return false;
  const unsigned rest = bits % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xFF00U >> rest);
  return (a.bytes[bytes] & mask) == (b.bytes[bytes] & mask);
}

// FNV-1a over the 17 bytes: for unordered containers keyed by address.
struct IpAddrHash {
  size_t operator()(const IpAddr& a) const noexcept {
    uint64_t h = 0xcbf29ce484222325ull ^ a.family;
    for (uint8_t b : a.bytes) h = (h ^ b) * 0x100000001b3ull;
    return static_cast<size_t>(h);
  }
};

enum class FrameKind : uint8_t {
  kMalformed,    // a length or version check failed: drop
  kUnsupported,  // not ours: VLAN tags, other EtherTypes, non-Ethernet/IPv4 ARP, > 64 KiB
  kArp,          // Ethernet/IPv4 ARP, 28-byte body present
  kIpv4Udp,
  kIpv6Udp,
  kIpv4Icmp,
  kIpv6Icmp,
  kIpv4Other,  // any other protocol, including IPv4 with a protocol we do not parse
  kIpv6Other,  // any other next header, including extension headers other than Fragment
  kFragment,   // IPv4 MF or offset != 0, or IPv6 next header Fragment (44)
};

const char* frame_kind_name(FrameKind kind) noexcept;

// A parsed frame: offsets into the caller's buffer, never copies of payload.
// Which fields mean something depends on kind:
//   always (len >= 14): ether_type, eth_src, eth_dst
//   kArp: l3_offset; src/dst = sender/target protocol address; arp_op;
//         frame_len = 14 + 28; payload_offset = l3_offset, payload_len = 28
//   IP kinds and kFragment: l3_offset, l4_offset (first byte after the IPv4
//         header with options / the fixed IPv6 header), src, dst, ip_proto, ttl,
//         frame_len = 14 + IP total length (Ethernet padding trimmed)
//   UDP: src_port, dst_port (host order); payload = UDP payload, its length
//         from the UDP length field (bytes past it, if any, are ignored)
//   ICMP: icmp_type, icmp_code; payload = the whole ICMP message from l4_offset
//   Other, kFragment: payload = everything after the IP header
struct FrameView {
  FrameKind kind = FrameKind::kMalformed;
  uint8_t ip_proto = 0;  // IPv4 protocol / IPv6 next header
  uint8_t ttl = 0;       // IPv4 TTL / IPv6 hop limit
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint16_t ether_type = 0;
  uint16_t arp_op = 0;
  uint16_t frame_len = 0;
  uint16_t l3_offset = 0;
  uint16_t l4_offset = 0;
  uint16_t payload_offset = 0;
  uint16_t payload_len = 0;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  IpAddr src;
  IpAddr dst;
  MacAddress eth_src;
  MacAddress eth_dst;

  constexpr bool is_ipv4() const noexcept {
    return kind == FrameKind::kIpv4Udp || kind == FrameKind::kIpv4Icmp ||
           kind == FrameKind::kIpv4Other || (kind == FrameKind::kFragment && src.family == 4);
  }
  constexpr bool is_ipv6() const noexcept {
    return kind == FrameKind::kIpv6Udp || kind == FrameKind::kIpv6Icmp ||
           kind == FrameKind::kIpv6Other || (kind == FrameKind::kFragment && src.family == 6);
  }
};

// Classify the frame at `data` (start of the Ethernet header, FCS stripped).
// Reads only data[0, len). Checks, in order: Ethernet header present; VLAN
// tags -> kUnsupported; IPv4: version 4, IHL >= 5 and header within the
// buffer, IHL*4 <= total_length <= buffer, fragment -> kFragment; IPv6:
// version 6, 40 + payload_length <= buffer; UDP: 8 <= UDP length <= IP
// payload; ICMPv4 >= 8 bytes, ICMPv6 >= 4 bytes; ARP: 28 bytes, else
// kMalformed; non-Ethernet/IPv4 ARP -> kUnsupported. Header checksums are not
// verified here (the dataplane trusts NIC offload flags; see *_checksum_ok).
FrameView parse_frame(const uint8_t* data, size_t len) noexcept;
inline FrameView parse_frame(std::span<const uint8_t> frame) noexcept {
  return parse_frame(frame.data(), frame.size());
}

// Why parse_frame() classified a frame kMalformed or kUnsupported: the
// finer drop reason the dataplane counts (dataplane/shm/abi.hpp maps 1:1).
// Kept out of parse_frame on purpose: the classifier runs per packet and
// stays as lean as it was; frame_defect() walks the same checks again, in
// the same order, only for frames already on the drop branch.
enum class FrameDefect : uint8_t {
  kNone,              // parse_frame classified it (any kind but the two above)
  kTruncated,         // shorter than a fixed header: Ethernet 14, ARP 28, IPv4 20 (or
                      // its IHL), IPv6 40, UDP 8, ICMPv4 8, ICMPv6 4
  kBadIpHeader,       // version nibble not that of the EtherType; IPv4 IHL < 5
  kBadIpLength,       // IPv4 total length < header or > frame; IPv6 40 + payload length > frame
  kBadUdpLength,      // UDP length < 8 or > the IP payload
  kVlan,              // 802.1Q or 802.1ad tag: our ports are untagged
  kUnknownEtherType,  // not IPv4, IPv6, ARP or a VLAN tag
  kUnsupportedArp,    // ARP that is not Ethernet/IPv4
  kTooLong,           // > kMaxFrameLen
};

const char* frame_defect_name(FrameDefect defect) noexcept;

// The defect of the frame at data[0, len): kNone exactly when parse_frame()
// returns a kind other than kMalformed and kUnsupported (frame_test.cpp holds
// the two to that on random input). Reads only what parse_frame reads.
// Failure branches only: it repeats the parse.
FrameDefect frame_defect(const uint8_t* data, size_t len) noexcept;

// An inner IP packet (decrypted WireGuard payload, no Ethernet header, maybe
// followed by WireGuard's zero padding).
struct InnerView {
  bool ok = false;
  uint8_t family = 0;  // 4 or 6
  uint8_t proto = 0;   // IPv4 protocol / IPv6 next header
  // The packet's own length (IPv4 total length, 40 + IPv6 payload length):
  // the caller trims the buffer to it.
  uint16_t ip_len = 0;
  IpAddr src;
  IpAddr dst;
};

// Version nibble 4 or 6; IPv4: IHL >= 5, IHL*4 <= total_length <= len;
// IPv6: 40 + payload_length <= len. Fragments and any protocol are fine: the
// gateway forwards them, only the addresses matter (allowed-IPs check).
InnerView parse_inner(const uint8_t* data, size_t len) noexcept;

// --- Internet checksum (RFC 1071) ---
//
// Sums are kept as host integers of big-endian 16-bit words, so a pseudo
// header sum and data sums simply add. checksum_add() may be chained over
// chunks that each start at an even offset of the checksummed region; only
// the last may have odd length.
uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t len) noexcept;
// Fold to 16 bits and complement: the value to store big-endian in a
// checksum field. Over a region that contains a correct checksum it is 0.
uint16_t checksum_finish(uint32_t sum) noexcept;
inline uint16_t internet_checksum(const uint8_t* data, size_t len) noexcept {
  return checksum_finish(checksum_add(0, data, len));
}
// Sum of the UDP/ICMPv6 pseudo header: RFC 768 for v4 (src, dst, zero,
// proto, 16-bit length), RFC 8200 §8.1 for v6 (src, dst, 32-bit length,
// zeros, next header). src and dst must have the same family.
uint32_t pseudo_header_sum(const IpAddr& src, const IpAddr& dst, uint8_t proto,
                           uint32_t l4_len) noexcept;

// --- Outer headers of a WireGuard datagram ---

// Bytes write_outer_headers() writes: 14+20+8 (v4) or 14+40+8 (v6), 0 otherwise.
size_t outer_header_len(uint8_t family) noexcept;

// Write Ethernet + IPv4/IPv6 + UDP headers for a UDP payload of payload_len
// bytes at `payload` (usually right behind `out`, but it need not be). Writes
// exactly outer_header_len(src.family) bytes at `out` and returns that count;
// returns 0 and writes nothing when src and dst differ in family, the family
// is neither 4 nor 6, or the datagram would not fit its length field.
// IPv4: TTL 64, DF clear (WireGuard datagrams may be fragmented on the path,
// as the kernel's are), id = ipv4_id, header checksum set; the UDP checksum is
// computed when udp_checksum, else 0 ("none", RFC 768). IPv6: hop limit 64,
// flow label 0, and the UDP checksum always (RFC 8200 §8.1 forbids 0).
// A computed checksum of 0 is sent as 0xffff.
size_t write_outer_headers(uint8_t* out, const MacAddress& src_mac, const MacAddress& dst_mac,
                           const IpAddr& src, const IpAddr& dst, uint16_t src_port,
                           uint16_t dst_port, const uint8_t* payload, uint16_t payload_len,
                           uint16_t ipv4_id, bool udp_checksum) noexcept;

// --- Checks on received frames, for callers without NIC offload verdicts ---
// `frame` must be the buffer `view` was parsed from.

// UDP checksum over pseudo header + UDP header + payload. IPv4: 0 means "not
// computed" and passes; IPv6: 0 fails. False for non-UDP views.
bool udp_checksum_ok(const uint8_t* frame, const FrameView& view) noexcept;
// IPv4 header checksum (options included). False for non-IPv4 views.
bool ipv4_header_checksum_ok(const uint8_t* frame, const FrameView& view) noexcept;
// ICMPv4 checksum over the message, ICMPv6 over pseudo header + message.
// False for non-ICMP views.
bool icmp_checksum_ok(const uint8_t* frame, const FrameView& view) noexcept;

}  // namespace wirespeed::dataplane::net
