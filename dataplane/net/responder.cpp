// ARP, Neighbor Discovery and echo answers for the gateway's own addresses
// (dataplane/net/responder.hpp).
//
// Runs on the control plane's main thread over punted frame copies. Every
// read goes through a FrameView from parse_frame, whose lengths were checked
// against the buffer; what this file reads beyond the view's fixed headers
// (ND options, echo data) stays within view.payload_len.
#include "dataplane/net/responder.hpp"

#include <algorithm>
#include <cstring>

namespace wirespeed::dataplane::net {
namespace {

constexpr uint8_t kIcmpEchoReply = 0;
constexpr uint8_t kIcmpEchoRequest = 8;
constexpr uint8_t kIcmpv6EchoRequest = 128;
constexpr uint8_t kIcmpv6EchoReply = 129;
constexpr uint8_t kNeighborSolicitation = 135;
constexpr uint8_t kNeighborAdvertisement = 136;

constexpr uint8_t kNdHopLimit = 255;  // RFC 4861: proves the sender is on-link
constexpr uint8_t kEchoTtl = 64;
constexpr size_t kNdFixedLen = 24;     // type..target of NS and NA
constexpr size_t kNdTargetOffset = 8;  // from the ICMPv6 header
constexpr uint8_t kOptSourceLinkAddr = 1;
constexpr uint8_t kOptTargetLinkAddr = 2;
constexpr size_t kLinkAddrOptLen = 8;  // type, length (1 = 8 bytes), 6-byte MAC
constexpr uint8_t kNaFlagRouter = 0x80;
constexpr uint8_t kNaFlagSolicited = 0x40;
constexpr uint8_t kNaFlagOverride = 0x20;

constexpr size_t kNdFrameLen = kEthHeaderLen + kIpv6HeaderLen + kNdFixedLen + kLinkAddrOptLen;
static_assert(kNdFrameLen == 86);

constexpr IpAddr kAllNodes = [] {
  IpAddr a;
  a.family = 6;
  a.bytes[0] = 0xff;
  a.bytes[1] = 0x02;
  a.bytes[15] = 0x01;
  return a;
}();

// The view belongs to this buffer (parse_frame(frame) guarantees it; a stale
// or foreign view is refused rather than read through).
bool fits(std::span<const uint8_t> frame, const FrameView& view) noexcept {
  return view.frame_len != 0 && view.frame_len <= frame.size();
}

// Zero-pad a reply of `len` bytes to the Ethernet minimum; returns the final
// length, or 0 when out cannot hold it.
size_t finish_frame(std::span<uint8_t> out, size_t len) noexcept {
  const size_t padded = std::max(len, kMinFrameLen);
  if (padded > out.size()) return 0;
  std::memset(out.data() + len, 0, padded - len);
  return padded;
}

void write_eth(uint8_t* p, const MacAddress& dst, const MacAddress& src, uint16_t type) noexcept {
  std::memcpy(p, dst.bytes.data(), 6);
  std::memcpy(p + 6, src.bytes.data(), 6);
  store_be16(p + 12, type);
}

void write_ipv6(uint8_t* ip, uint16_t payload_len, uint8_t next, uint8_t hop, const IpAddr& src,
                const IpAddr& dst) noexcept {
  store_be32(ip, 0x60000000u);
  store_be16(ip + 4, payload_len);
  ip[6] = next;
  ip[7] = hop;
  std::memcpy(ip + 8, src.bytes.data(), 16);
  std::memcpy(ip + 24, dst.bytes.data(), 16);
}

void set_icmpv6_checksum(uint8_t* icmp, size_t len, const IpAddr& src, const IpAddr& dst) noexcept {
  store_be16(icmp + 2, 0);
  uint32_t sum = pseudo_header_sum(src, dst, kIpProtoIcmpv6, static_cast<uint32_t>(len));
  store_be16(icmp + 2, checksum_finish(checksum_add(sum, icmp, len)));
}

// The ND options after the fixed part of an NS/NA: all must have non-zero
// length and fit (RFC 4861 §7.1); `lla` is the first Ethernet-sized
// link-layer option of the wanted type.
struct NdOptions {
  bool ok = false;
  bool has_lla = false;
  MacAddress lla;
};

NdOptions scan_options(const uint8_t* p, size_t len, uint8_t wanted_type) noexcept {
  NdOptions r;
  while (len > 0) {
    if (len < 2) return r;
    const size_t opt_len = size_t{p[1]} * 8;
    if (opt_len == 0 || opt_len > len) return r;
    if (p[0] == wanted_type && opt_len == kLinkAddrOptLen && !r.has_lla) {
      r.has_lla = true;
      r.lla = MacAddress::from(p + 2);
    }
    p += opt_len;
    len -= opt_len;
  }
  r.ok = true;
  return r;
}

// The checks NS (§7.1.1) and NA (§7.1.2) share: our kind and type, hop
// limit 255, code 0, at least 24 bytes, checksum, target not multicast.
bool nd_message_ok(std::span<const uint8_t> frame, const FrameView& view, uint8_t type) noexcept {
  return fits(frame, view) && view.kind == FrameKind::kIpv6Icmp && view.icmp_type == type &&
         view.icmp_code == 0 && view.ttl == kNdHopLimit && view.payload_len >= kNdFixedLen &&
         icmp_checksum_ok(frame.data(), view) &&
         !IpAddr::v6(frame.data() + view.l4_offset + kNdTargetOffset).is_multicast();
}

// A Neighbor Solicitation that passes §7.1.1 and asks for one of our
// addresses; `target` and `opts` (source link-layer) are filled.
bool valid_solicitation(std::span<const uint8_t> frame, const FrameView& view,
                        const LocalAddresses& local, IpAddr* target, NdOptions* opts) noexcept {
  if (!nd_message_ok(frame, view, kNeighborSolicitation)) return false;
  const uint8_t* icmp = frame.data() + view.l4_offset;
  *target = IpAddr::v6(icmp + kNdTargetOffset);
  if (!is_local_address(local, *target)) return false;
  *opts = scan_options(icmp + kNdFixedLen, view.payload_len - kNdFixedLen, kOptSourceLinkAddr);
  if (!opts->ok) return false;
  const bool to_group = view.dst == solicited_node_multicast(*target);
  if (!to_group && !is_local_address(local, view.dst)) return false;
  if (!view.eth_dst.is_multicast() && view.eth_dst != local.mac) return false;
  if (view.src.is_unspecified()) return to_group && !opts->has_lla;  // DAD probe
  return view.src.is_unicast();
}

size_t echo_v4(std::span<const uint8_t> frame, const FrameView& view, const LocalAddresses& local,
               std::span<uint8_t> out) noexcept {
  if (view.icmp_type != kIcmpEchoRequest || view.icmp_code != 0) return 0;
  if (!ipv4_header_checksum_ok(frame.data(), view) || !icmp_checksum_ok(frame.data(), view)) {
    return 0;
  }
  const size_t icmp_len = view.payload_len;
  const size_t len = kEthHeaderLen + kIpv4HeaderLen + icmp_len;
  if (std::max(len, kMinFrameLen) > out.size()) return 0;
  const uint8_t* req_ip = frame.data() + view.l3_offset;
  uint8_t* p = out.data();
  write_eth(p, view.eth_src, local.mac, kEtherTypeIpv4);
  uint8_t* ip = p + kEthHeaderLen;
  ip[0] = 0x45;
  ip[1] = req_ip[1];  // TOS: answer in the class asked (Linux does the same)
  store_be16(ip + 2, static_cast<uint16_t>(kIpv4HeaderLen + icmp_len));
  ip[4] = req_ip[4];  // id
  ip[5] = req_ip[5];
  store_be16(ip + 6, 0);
  ip[8] = kEchoTtl;
  ip[9] = kIpProtoIcmp;
  store_be16(ip + 10, 0);
  std::memcpy(ip + 12, view.dst.bytes.data(), 4);
  std::memcpy(ip + 16, view.src.bytes.data(), 4);
  store_be16(ip + 10, internet_checksum(ip, kIpv4HeaderLen));
  uint8_t* icmp = ip + kIpv4HeaderLen;
  std::memcpy(icmp, frame.data() + view.l4_offset, icmp_len);
  icmp[0] = kIcmpEchoReply;
  store_be16(icmp + 2, 0);
  store_be16(icmp + 2, internet_checksum(icmp, icmp_len));
  return finish_frame(out, len);
}

size_t echo_v6(std::span<const uint8_t> frame, const FrameView& view, const LocalAddresses& local,
               std::span<uint8_t> out) noexcept {
  // Echo messages carry identifier and sequence after the 4-byte header.
  if (view.icmp_type != kIcmpv6EchoRequest || view.icmp_code != 0 || view.payload_len < 8) {
    return 0;
  }
  if (!icmp_checksum_ok(frame.data(), view)) return 0;
  const size_t icmp_len = view.payload_len;
  const size_t len = kEthHeaderLen + kIpv6HeaderLen + icmp_len;
  if (std::max(len, kMinFrameLen) > out.size()) return 0;
  uint8_t* p = out.data();
  write_eth(p, view.eth_src, local.mac, kEtherTypeIpv6);
  uint8_t* ip = p + kEthHeaderLen;
  write_ipv6(ip, static_cast<uint16_t>(icmp_len), kIpProtoIcmpv6, kEchoTtl, view.dst, view.src);
  uint8_t* icmp = ip + kIpv6HeaderLen;
  std::memcpy(icmp, frame.data() + view.l4_offset, icmp_len);
  icmp[0] = kIcmpv6EchoReply;
  set_icmpv6_checksum(icmp, icmp_len, view.dst, view.src);
  return finish_frame(out, len);
}

}  // namespace

bool is_local_address(const LocalAddresses& local, const IpAddr& addr) noexcept {
  for (const IpAddr& a : local.addresses) {
    if (a == addr) return true;
  }
  return addr.family == 6 && addr.bytes[0] == 0xfe && addr == link_local_from_mac(local.mac);
}

IpAddr link_local_from_mac(const MacAddress& mac) noexcept {
  IpAddr a;
  a.family = 6;
  a.bytes[0] = 0xfe;
  a.bytes[1] = 0x80;
  a.bytes[8] = mac.bytes[0] ^ 0x02;  // universal/local bit inverted
  a.bytes[9] = mac.bytes[1];
  a.bytes[10] = mac.bytes[2];
  a.bytes[11] = 0xff;
  a.bytes[12] = 0xfe;
  a.bytes[13] = mac.bytes[3];
  a.bytes[14] = mac.bytes[4];
  a.bytes[15] = mac.bytes[5];
  return a;
}

IpAddr solicited_node_multicast(const IpAddr& addr) noexcept {
  IpAddr a;
  a.family = 6;
  a.bytes[0] = 0xff;
  a.bytes[1] = 0x02;
  a.bytes[11] = 0x01;
  a.bytes[12] = 0xff;
  a.bytes[13] = addr.bytes[13];
  a.bytes[14] = addr.bytes[14];
  a.bytes[15] = addr.bytes[15];
  return a;
}

MacAddress ipv6_multicast_mac(const IpAddr& group) noexcept {
  return {{0x33, 0x33, group.bytes[12], group.bytes[13], group.bytes[14], group.bytes[15]}};
}

size_t answer(std::span<const uint8_t> frame, const FrameView& view, const LocalAddresses& local,
              std::span<uint8_t> out) noexcept {
  switch (view.kind) {
    case FrameKind::kArp:
      return answer_arp(frame, view, local, out);
    case FrameKind::kIpv4Icmp:
      return answer_echo(frame, view, local, out);
    case FrameKind::kIpv6Icmp:
      if (view.icmp_type == kNeighborSolicitation) {
        return answer_neighbor_solicitation(frame, view, local, out);
      }
      return answer_echo(frame, view, local, out);
    default:
      return 0;
  }
}

size_t answer_arp(std::span<const uint8_t> frame, const FrameView& view,
                  const LocalAddresses& local, std::span<uint8_t> out) noexcept {
  if (!fits(frame, view) || view.kind != FrameKind::kArp || view.arp_op != kArpOpRequest) return 0;
  if (!view.eth_dst.is_broadcast() && view.eth_dst != local.mac) return 0;
  if (!is_local_address(local, view.dst) || view.src == view.dst) return 0;
  const uint8_t* arp = frame.data() + view.l3_offset;
  const MacAddress sha = MacAddress::from(arp + kArpShaOffset);
  if (!sha.is_unicast()) return 0;
  if (kMinFrameLen > out.size()) return 0;

  uint8_t* p = out.data();
  write_eth(p, sha, local.mac, kEtherTypeArp);
  uint8_t* r = p + kEthHeaderLen;
  std::memcpy(r, arp, kArpOpOffset);  // htype, ptype, hlen, plen: checked by parse_frame
  store_be16(r + kArpOpOffset, kArpOpReply);
  std::memcpy(r + kArpShaOffset, local.mac.bytes.data(), 6);
  std::memcpy(r + kArpSpaOffset, arp + kArpTpaOffset, 4);
  std::memcpy(r + kArpThaOffset, arp + kArpShaOffset, 6);
  std::memcpy(r + kArpTpaOffset, arp + kArpSpaOffset, 4);
  return finish_frame(out, kEthHeaderLen + kArpLen);
}

size_t answer_neighbor_solicitation(std::span<const uint8_t> frame, const FrameView& view,
                                    const LocalAddresses& local, std::span<uint8_t> out) noexcept {
  IpAddr target;
  NdOptions opts;
  if (!valid_solicitation(frame, view, local, &target, &opts)) return 0;
  if (kNdFrameLen > out.size()) return 0;

  const bool dad = view.src.is_unspecified();
  const IpAddr& dst = dad ? kAllNodes : view.src;
  const MacAddress dst_mac =
      dad ? ipv6_multicast_mac(kAllNodes) : (opts.has_lla ? opts.lla : view.eth_src);
  uint8_t* p = out.data();
  write_eth(p, dst_mac, local.mac, kEtherTypeIpv6);
  constexpr size_t kIcmpLen = kNdFixedLen + kLinkAddrOptLen;
  write_ipv6(p + kEthHeaderLen, kIcmpLen, kIpProtoIcmpv6, kNdHopLimit, target, dst);
  uint8_t* icmp = p + kEthHeaderLen + kIpv6HeaderLen;
  icmp[0] = kNeighborAdvertisement;
  icmp[1] = 0;
  icmp[4] = static_cast<uint8_t>((local.is_router ? kNaFlagRouter : 0) |
                                 (dad ? 0 : kNaFlagSolicited) | kNaFlagOverride);
  icmp[5] = icmp[6] = icmp[7] = 0;
  std::memcpy(icmp + kNdTargetOffset, target.bytes.data(), 16);
  icmp[kNdFixedLen] = kOptTargetLinkAddr;
  icmp[kNdFixedLen + 1] = 1;
  std::memcpy(icmp + kNdFixedLen + 2, local.mac.bytes.data(), 6);
  set_icmpv6_checksum(icmp, kIcmpLen, target, dst);
  return kNdFrameLen;
}

size_t answer_echo(std::span<const uint8_t> frame, const FrameView& view,
                   const LocalAddresses& local, std::span<uint8_t> out) noexcept {
  if (!fits(frame, view) || view.eth_dst != local.mac) return 0;
  if (!is_local_address(local, view.dst) || !view.src.is_unicast()) return 0;
  if (view.kind == FrameKind::kIpv4Icmp) return echo_v4(frame, view, local, out);
  if (view.kind == FrameKind::kIpv6Icmp) return echo_v6(frame, view, local, out);
  return 0;
}

std::optional<Neighbor> learn_neighbor(std::span<const uint8_t> frame, const FrameView& view,
                                       const LocalAddresses& local) noexcept {
  if (view.kind == FrameKind::kArp) return learn_from_arp(frame, view, local);
  if (view.kind == FrameKind::kIpv6Icmp) return learn_from_nd(frame, view, local);
  return std::nullopt;
}

std::optional<Neighbor> learn_from_arp(std::span<const uint8_t> frame, const FrameView& view,
                                       const LocalAddresses& local) noexcept {
  if (!fits(frame, view) || view.kind != FrameKind::kArp) return std::nullopt;
  if (view.arp_op != kArpOpRequest && view.arp_op != kArpOpReply) return std::nullopt;
  if (!is_local_address(local, view.dst)) return std::nullopt;
  if (!view.src.is_unicast() || is_local_address(local, view.src)) return std::nullopt;
  const MacAddress sha = MacAddress::from(frame.data() + view.l3_offset + kArpShaOffset);
  if (!sha.is_unicast()) return std::nullopt;
  return Neighbor{view.src, sha};
}

std::optional<Neighbor> learn_from_nd(std::span<const uint8_t> frame, const FrameView& view,
                                      const LocalAddresses& local) noexcept {
  if (!fits(frame, view) || view.kind != FrameKind::kIpv6Icmp) return std::nullopt;
  if (view.icmp_type == kNeighborSolicitation) {
    IpAddr target;
    NdOptions opts;
    if (!valid_solicitation(frame, view, local, &target, &opts)) return std::nullopt;
    if (view.src.is_unspecified() || !opts.has_lla || !opts.lla.is_unicast()) return std::nullopt;
    if (is_local_address(local, view.src)) return std::nullopt;
    return Neighbor{view.src, opts.lla};
  }
  if (view.icmp_type != kNeighborAdvertisement) return std::nullopt;
  if (!nd_message_ok(frame, view, kNeighborAdvertisement)) return std::nullopt;
  const uint8_t* icmp = frame.data() + view.l4_offset;
  const IpAddr target = IpAddr::v6(icmp + kNdTargetOffset);
  if (view.dst.is_multicast() && (icmp[4] & kNaFlagSolicited) != 0) return std::nullopt;
  const NdOptions opts =
      scan_options(icmp + kNdFixedLen, view.payload_len - kNdFixedLen, kOptTargetLinkAddr);
  if (!opts.ok || is_local_address(local, target)) return std::nullopt;
  MacAddress mac = opts.lla;
  if (!opts.has_lla) {
    if (view.dst.is_multicast()) return std::nullopt;  // §7.2.4: multicast NAs carry the option
    mac = view.eth_src;
  }
  if (!mac.is_unicast()) return std::nullopt;
  return Neighbor{target, mac};
}

size_t build_arp_request(std::span<uint8_t> out, const MacAddress& our_mac, const IpAddr& our_ip,
                         const IpAddr& target, const MacAddress* unicast_mac) noexcept {
  if (our_ip.family != 4 || target.family != 4 || kMinFrameLen > out.size()) return 0;
  uint8_t* p = out.data();
  write_eth(p, unicast_mac ? *unicast_mac : MacAddress::broadcast(), our_mac, kEtherTypeArp);
  uint8_t* arp = p + kEthHeaderLen;
  store_be16(arp, 1);  // Ethernet
  store_be16(arp + 2, kEtherTypeIpv4);
  arp[4] = 6;
  arp[5] = 4;
  store_be16(arp + kArpOpOffset, kArpOpRequest);
  std::memcpy(arp + kArpShaOffset, our_mac.bytes.data(), 6);
  std::memcpy(arp + kArpSpaOffset, our_ip.bytes.data(), 4);
  std::memset(arp + kArpThaOffset, 0, 6);  // unknown: that is the question
  std::memcpy(arp + kArpTpaOffset, target.bytes.data(), 4);
  return finish_frame(out, kEthHeaderLen + kArpLen);
}

size_t build_neighbor_solicitation(std::span<uint8_t> out, const MacAddress& our_mac,
                                   const IpAddr& our_ip, const IpAddr& target,
                                   const MacAddress* unicast_mac) noexcept {
  if (our_ip.family != 6 || target.family != 6 || kNdFrameLen > out.size()) return 0;
  const IpAddr group = solicited_node_multicast(target);
  const IpAddr& dst = unicast_mac ? target : group;
  uint8_t* p = out.data();
  write_eth(p, unicast_mac ? *unicast_mac : ipv6_multicast_mac(group), our_mac, kEtherTypeIpv6);
  constexpr size_t kIcmpLen = kNdFixedLen + kLinkAddrOptLen;
  write_ipv6(p + kEthHeaderLen, kIcmpLen, kIpProtoIcmpv6, kNdHopLimit, our_ip, dst);
  uint8_t* icmp = p + kEthHeaderLen + kIpv6HeaderLen;
  icmp[0] = kNeighborSolicitation;
  icmp[1] = 0;
  std::memset(icmp + 4, 0, 4);  // reserved
  std::memcpy(icmp + kNdTargetOffset, target.bytes.data(), 16);
  icmp[kNdFixedLen] = kOptSourceLinkAddr;
  icmp[kNdFixedLen + 1] = 1;
  std::memcpy(icmp + kNdFixedLen + 2, our_mac.bytes.data(), 6);
  set_icmpv6_checksum(icmp, kIcmpLen, our_ip, dst);
  return kNdFrameLen;
}

}  // namespace wirespeed::dataplane::net
