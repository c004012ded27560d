// Pieces both pipeline directions share: own-address checks, TX buffering,
// punting and events. Worker lcores and the main lcore.
#include <rte_ethdev.h>

#include <cstring>

#include "dataplane/pipeline/context.hpp"
#include "dataplane/shm/state.hpp"

namespace wirespeed::dataplane::pipeline {


bool PortAddresses::is_own(const net::IpAddr& a) const noexcept {
  if (a.family == 4) {
    for (unsigned i = 0; i < v4_count; ++i)
      if (v4[i] == a) return true;
    return false;
  }
  if (a.family == 6) {
    if (link_local_v6.family == 6 && link_local_v6 == a) return true;
    for (unsigned i = 0; i < v6_count; ++i)
      if (v6[i] == a) return true;
  }
  return false;
}

const net::IpAddr* PortAddresses::source_for(const net::IpAddr& dst) const noexcept {
  if (dst.family == 4) return v4_count > 0 ? &v4[0] : nullptr;
  if (dst.family == 6) return v6_count > 0 ? &v6[0] : nullptr;
  return nullptr;
}

bool PortAddresses::on_link(const net::IpAddr& a) const noexcept {
  if (a.family == 4) {
    for (unsigned i = 0; i < v4_count; ++i)
      if (net::same_prefix(a, v4[i], v4_prefix[i])) return true;
  } else if (a.family == 6) {
    if (a.bytes[0] == 0xfe && (a.bytes[1] & 0xc0) == 0x80) return true;  // fe80::/10
    for (unsigned i = 0; i < v6_count; ++i)
      if (net::same_prefix(a, v6[i], v6_prefix[i])) return true;
  }
  return false;
}

bool wanted_by_control_plane(const net::FrameView& v, const PortAddresses& own) noexcept {
  switch (v.kind) {
    case net::FrameKind::kArp:
      return own.is_own(v.dst);  // requests for us, replies to us
    case net::FrameKind::kIpv4Icmp:
      return v.icmp_type == 8 && own.is_own(v.dst);
    case net::FrameKind::kIpv6Icmp:
      // Neighbor Solicitation / Advertisement (often to a multicast group),
      // echo request to us.
      return v.icmp_type == 135 || v.icmp_type == 136 || (v.icmp_type == 128 && own.is_own(v.dst));
    default:
      return false;
  }
}

shm::DropReason frame_drop_reason(const rte_mbuf* m, const net::FrameView& v) noexcept {
  using shm::DropReason;
  switch (v.kind) {
    case net::FrameKind::kMalformed:
    case net::FrameKind::kUnsupported:
      break;
    case net::FrameKind::kFragment:
      return DropReason::kFragment;
    default:
      return DropReason::kNotForUs;
  }
  switch (net::frame_defect(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len)) {
    case net::FrameDefect::kTruncated:
      return DropReason::kTruncated;
    case net::FrameDefect::kBadIpHeader:
      return DropReason::kBadIpHeader;
    case net::FrameDefect::kBadIpLength:
      return DropReason::kBadIpLength;
    case net::FrameDefect::kBadUdpLength:
      return DropReason::kBadUdpLength;
    case net::FrameDefect::kVlan:
      return DropReason::kVlan;
    case net::FrameDefect::kUnknownEtherType:
      return DropReason::kUnknownEtherType;
    case net::FrameDefect::kUnsupportedArp:
      return DropReason::kNotForUs;  // ARP of another protocol: nobody's business here
    case net::FrameDefect::kTooLong:
      return DropReason::kTooBig;
    case net::FrameDefect::kNone:
      break;
  }
  return DropReason::kMalformed;  // the parser and frame_defect disagree: a bug, counted
}

void flush_tx(LcoreContext& ctx) noexcept {
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    TxBuffer& buf = ctx.tx[p];
    if (buf.count == 0) continue;
    uint64_t bytes = 0;
    for (unsigned i = 0; i < buf.count; ++i) bytes += rte_pktmbuf_pkt_len(buf.pkts[i]);
    const uint16_t sent = rte_eth_tx_burst(ctx.gw->port_id[p], ctx.tx_queue, buf.pkts,
                                           static_cast<uint16_t>(buf.count));
    for (unsigned i = sent; i < buf.count; ++i) {
      bytes -= rte_pktmbuf_pkt_len(buf.pkts[i]);
      ctx.drop(buf.pkts[i], shm::DropReason::kTxFull);
    }
    shm::PortCounters& pc = ctx.counters().port[p];
    pc.tx_packets.add(sent);
    pc.tx_bytes.add(bytes);
    buf.count = 0;
  }
}

bool punt_copy(LcoreContext& ctx, const rte_mbuf* m, shm::PortRole port) noexcept {
  const uint32_t len = rte_pktmbuf_pkt_len(m);
  if (len > shm::kRingBodyMax) {
    ctx.count_drop(shm::DropReason::kTooBig);
    return false;
  }
  alignas(8) shm::RingMessage msg;
  msg.kind = shm::MessageKind::kPuntFrame;
  msg.length = static_cast<uint16_t>(len);
  msg.port = static_cast<uint8_t>(port);
  msg.timestamp_ns = ctx.now_ns;
  const void* data = rte_pktmbuf_read(m, 0, len, msg.body);  // copies only if segmented
  if (data == nullptr) {
    ctx.count_drop(shm::DropReason::kMalformed);
    return false;
  }
  if (data != msg.body) std::memcpy(msg.body, data, len);
  if (!shm::ring_put(ctx.punt, msg)) {
    ctx.count_drop(shm::DropReason::kRingFull);
    return false;
  }
  ctx.counters().punted.add(1);
  return true;
}

// A next hop without a MAC: tell the control plane, at most 64 times a
// second per lcore so a flood of misses cannot fill the event ring.
void report_neighbour_miss(LcoreContext& ctx, shm::PortRole port, const net::IpAddr& ip) noexcept {
  if (ctx.now_ns - ctx.last_miss_event_ns > 1000000000ULL) {
    ctx.last_miss_event_ns = ctx.now_ns;
    ctx.miss_events_in_window = 0;
  }
  if (++ctx.miss_events_in_window > 64) return;
  alignas(8) shm::RingMessage msg;
  shm::EventNeighbour body{};
  body.family = ip.family;
  std::memcpy(body.addr, ip.bytes.data(), 16);
  msg.kind = shm::MessageKind::kEventNeighbourMiss;
  msg.port = static_cast<uint8_t>(port);
  msg.length = sizeof(body);
  msg.timestamp_ns = ctx.now_ns;
  std::memcpy(msg.body, &body, sizeof(body));
  if (rte_ring_enqueue_elem(ctx.events, &msg, sizeof(msg)) != 0) {
    ctx.count_drop(shm::DropReason::kRingFull);
  }
}

void raise_event(LcoreContext& ctx, shm::MessageKind kind, uint32_t peer, const void* body,
                 uint16_t body_len) noexcept {
  alignas(8) shm::RingMessage msg;
  msg.kind = kind;
  msg.peer = peer;
  msg.length = body_len;
  msg.timestamp_ns = ctx.now_ns;
  if (body_len > 0) std::memcpy(msg.body, body, body_len);
  if (!shm::ring_put(ctx.events, msg)) ctx.count_drop(shm::DropReason::kRingFull);
}

}  // namespace wirespeed::dataplane::pipeline
