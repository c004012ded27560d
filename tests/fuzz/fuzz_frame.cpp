// libFuzzer target: an Ethernet frame arriving at the outer port. Runs what
// the dataplane and the control plane do with one without the mbufs:
// parse_frame (Ethernet, VLAN, ARP, IPv4 with options and fragments, IPv6,
// UDP, ICMP/ICMPv6), the checksum checks, decap's stage-1 decision for UDP
// to our listen port (wire::classify and the message parsers), and for what
// is punted the responder (ARP replies, Neighbor Advertisements, echo
// replies; neighbour learning from ARP and ND). parse_inner runs on the
// bytes too, as if they were a decrypted inner packet.
//
// Beyond memory safety it checks the contracts: the view's offsets stay
// inside the frame, a reply we build parses as the kind we meant with
// checksums that verify, and we never learn a neighbour at our own address.
//
// Input: one flags byte, then the frame. Flag bit 0: recompute the IPv4
// header, ICMP/ICMPv6 and UDP checksums first, so that mutations reach the
// responder's checks past the checksum (the fuzzer cannot fix them itself).
#include <cstring>
#include <vector>

#include "dataplane/net/frame.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/fuzz/frame_world.hpp"

namespace {

namespace net = wirespeed::dataplane::net;
namespace wire = wirespeed::dataplane::wire;
using net::FrameKind;

void check_view(const net::FrameView& v, size_t size) {
  switch (v.kind) {
    case FrameKind::kMalformed:
    case FrameKind::kUnsupported:
      return;
    case FrameKind::kArp:
      if (size < size_t{v.l3_offset} + net::kArpLen || v.frame_len > size) __builtin_trap();
      return;
    default:
      break;
  }
  if (v.frame_len > size || v.l3_offset >= v.l4_offset || v.l4_offset > v.frame_len ||
      size_t{v.payload_offset} + v.payload_len > v.frame_len || v.payload_offset < v.l4_offset)
    __builtin_trap();
  if (v.src.family != v.dst.family || (v.src.family != 4 && v.src.family != 6)) __builtin_trap();
}

// decap stage 1 for a UDP datagram to us on the listen port.
void classify_message(std::span<const uint8_t> msg) {
  const wire::MessageType type = wire::classify(msg);
  const bool initiation = wire::parse_initiation(msg).ok();
  const bool response = wire::parse_response(msg).ok();
  const bool cookie = wire::parse_cookie_reply(msg).ok();
  const bool data = wire::parse_data_header(msg).ok();
  if (initiation != (type == wire::MessageType::kHandshakeInitiation) ||
      response != (type == wire::MessageType::kHandshakeResponse) ||
      cookie != (type == wire::MessageType::kHandshakeCookie) ||
      data != (type == wire::MessageType::kData))
    __builtin_trap();
}

// A reply of ours: parses as `expect`, checksums right.
void check_reply(const uint8_t* out, size_t n, FrameKind request) {
  if (n < net::kMinFrameLen) __builtin_trap();
  const net::FrameView r = net::parse_frame(out, n);
  switch (request) {
    case FrameKind::kArp:
      if (r.kind != FrameKind::kArp || r.arp_op != net::kArpOpReply) __builtin_trap();
      return;
    case FrameKind::kIpv4Icmp:
      if (r.kind != FrameKind::kIpv4Icmp || !net::ipv4_header_checksum_ok(out, r) ||
          !net::icmp_checksum_ok(out, r))
        __builtin_trap();
      return;
    case FrameKind::kIpv6Icmp:
      if (r.kind != FrameKind::kIpv6Icmp || !net::icmp_checksum_ok(out, r)) __builtin_trap();
      return;
    default:
      __builtin_trap();  // nothing else is answered
  }
}

void fix_checksums(std::vector<uint8_t>& f) {
  const net::FrameView v = net::parse_frame(f.data(), f.size());
  uint8_t* p = f.data();
  if (v.is_ipv4()) {
    uint8_t* ip = p + v.l3_offset;
    net::store_be16(ip + 10, 0);
    net::store_be16(ip + 10, net::internet_checksum(ip, v.l4_offset - v.l3_offset));
  }
  uint8_t* l4 = p + v.l4_offset;
  switch (v.kind) {
    case FrameKind::kIpv4Icmp:
      net::store_be16(l4 + 2, 0);
      net::store_be16(l4 + 2, net::internet_checksum(l4, v.payload_len));
      break;
    case FrameKind::kIpv6Icmp: {
      net::store_be16(l4 + 2, 0);
      const uint32_t sum = net::pseudo_header_sum(v.src, v.dst, net::kIpProtoIcmpv6, v.payload_len);
      net::store_be16(l4 + 2, net::checksum_finish(net::checksum_add(sum, l4, v.payload_len)));
      break;
    }
    case FrameKind::kIpv4Udp:
    case FrameKind::kIpv6Udp: {
      const uint32_t len = v.payload_len + net::kUdpHeaderLen;
      net::store_be16(l4 + 6, 0);
      const uint32_t sum = net::pseudo_header_sum(v.src, v.dst, net::kIpProtoUdp, len);
      const uint16_t c = net::checksum_finish(net::checksum_add(sum, l4, len));
      net::store_be16(l4 + 6, c == 0 ? 0xffff : c);
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t input_size) {
  if (input_size == 0) return 0;
  // An exact-size heap copy: ASan sees any read past the frame.
  std::vector<uint8_t> buf(input + 1, input + input_size);
  if ((input[0] & 1) != 0) fix_checksums(buf);
  const uint8_t* data = buf.data();
  const size_t size = buf.size();
  const std::span<const uint8_t> frame(data, size);
  const net::LocalAddresses local = wirespeed::fuzz::local_addresses();

  const net::FrameView v = net::parse_frame(frame);
  check_view(v, size);
  (void)net::udp_checksum_ok(data, v);
  (void)net::ipv4_header_checksum_ok(data, v);
  (void)net::icmp_checksum_ok(data, v);

  const bool udp = v.kind == FrameKind::kIpv4Udp || v.kind == FrameKind::kIpv6Udp;
  if (udp && v.dst_port == wirespeed::fuzz::kListenPort && net::is_local_address(local, v.dst))
    classify_message(frame.subspan(v.payload_offset, v.payload_len));

  std::vector<uint8_t> out(2048);
  const size_t n = net::answer(frame, v, local, out);
  if (n > out.size()) __builtin_trap();
  if (n > 0) check_reply(out.data(), n, v.kind);

  if (const auto learnt = net::learn_neighbor(frame, v, local)) {
    if (net::is_local_address(local, learnt->ip) || !learnt->mac.is_unicast()) __builtin_trap();
  }

  // Requests towards the sender, as the control plane makes them.
  if (v.src.family == 4) {
    const size_t m = net::build_arp_request(out, local.mac, wirespeed::fuzz::kOurV4, v.src);
    if (m > 0 && net::parse_frame(out.data(), m).kind != FrameKind::kArp) __builtin_trap();
  } else if (v.src.family == 6) {
    const size_t m =
        net::build_neighbor_solicitation(out, local.mac, wirespeed::fuzz::our_v6(), v.src);
    if (m > 0) {
      const net::FrameView ns = net::parse_frame(out.data(), m);
      if (ns.kind != FrameKind::kIpv6Icmp || !net::icmp_checksum_ok(out.data(), ns))
        __builtin_trap();
    }
  }

  const net::InnerView inner = net::parse_inner(data, size);
  if (inner.ok && inner.ip_len > size) __builtin_trap();
  return 0;
}
