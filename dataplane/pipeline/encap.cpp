// Encap: inner RX -> outer TX (design-brief §2). Worker lcores for traffic
// from the LAN, the main lcore for staged packets and keepalives; RCU read
// side in both.
//
// A burst is classified and routed packet by packet (longest-prefix match of
// the destination over all peers' allowed IPs), then sent per peer: one
// keypair check, one endpoint read and one nonce reservation per peer and
// burst, one burst of seals, then the outer headers.
#include <rte_ether.h>
#include <rte_prefetch.h>

#include <cstring>

#include "dataplane/pipeline/context.hpp"
#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/tables/neighbours.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::dataplane::pipeline {

namespace {

using shm::DropReason;

constexpr uint64_t kHandshakeEventInterval = 250ULL * 1000 * 1000;  // ns between "needs handshake"

void request_handshake(LcoreContext& ctx, uint32_t peer_id) noexcept {
  shm::PeerSlot& peer = ctx.zone->peers[peer_id];
  uint64_t last = peer.handshake_wanted_ns.load(std::memory_order_relaxed);
  if (ctx.now_ns - last < kHandshakeEventInterval) return;
  if (!peer.handshake_wanted_ns.compare_exchange_strong(last, ctx.now_ns,
                                                         std::memory_order_relaxed)) {
    return;  // another lcore raised it just now
  }
  raise_event(ctx, shm::MessageKind::kEventNeedHandshake, peer_id, nullptr, 0);
}

// Holds packets for a peer that has no usable keypair yet; the main lcore
// sends them when one is installed (or drops them when the handshake gives up).
void stage(LcoreContext& ctx, uint32_t peer_id, rte_mbuf** pkts, unsigned n) noexcept {
  shm::PeerSlot& peer = ctx.zone->peers[peer_id];
  unsigned kept = 0;
  peer.stage_lock.lock();
  const uint32_t room = shm::kStageMax - std::min(peer.staged_count, shm::kStageMax);
  const uint32_t budget = ctx.zone->stage_budget.reserve(std::min<uint32_t>(n, room));
  for (unsigned i = 0; i < n; ++i) {
    if (kept < budget) {
      peer.staged[peer.staged_count++] = reinterpret_cast<uintptr_t>(pkts[i]);
      ++kept;
    } else {
      ctx.drop(pkts[i], DropReason::kStageFull);
    }
  }
  peer.stage_lock.unlock();
  ctx.counters().staged.add(kept);
  request_handshake(ctx, peer_id);
}

void drop_all(LcoreContext& ctx, rte_mbuf** pkts, unsigned n, DropReason reason) noexcept {
  for (unsigned i = 0; i < n; ++i) ctx.drop(pkts[i], reason);
}

// What one peer's packets need after sealing: where they go.
struct PeerSend {
  uint32_t peer = 0;
  unsigned first = 0;  // index of its first op in the burst's ops[]
  unsigned count = 0;
  uint64_t data_packets = 0;  // not keepalives
  net::IpAddr dst;
  const net::IpAddr* src = nullptr;
  net::MacAddress dst_mac;
  uint16_t src_port = 0;  // our listen port
  uint16_t dst_port = 0;
};

// Everything of a peer's send that comes before the cipher: keypair and
// endpoint checks, one nonce reservation, padding and the data header.
// Appends an op per packet to seal at ops[out.first..], its mbuf at the same
// index of ready[]; the rest are staged or dropped (and counted) here. False
// when nothing is left to seal.
bool prepare_peer(LcoreContext& ctx, uint32_t peer_id, rte_mbuf** pkts, unsigned n, bool may_stage,
                  crypto::AeadOp* ops, rte_mbuf** ready, PeerSend& out) noexcept {
  shm::PeerSlot& peer = ctx.zone->peers[peer_id];
  if (peer.state.load(std::memory_order_acquire) != shm::PeerState::kActive) [[unlikely]] {
    drop_all(ctx, pkts, n, DropReason::kNoRoute);
    return false;
  }
  const int32_t slot = peer.current.load(std::memory_order_acquire);
  shm::KeypairSlot* kp = slot >= 0 ? &ctx.zone->keypairs[slot] : nullptr;
  if (kp == nullptr || kp->state.load(std::memory_order_acquire) != shm::SlotState::kLive ||
      keypair_expired(*kp, ctx.now_ns)) {
    if (may_stage) {
      stage(ctx, peer_id, pkts, n);
    } else {
      drop_all(ctx, pkts, n, DropReason::kNoKeypair);
    }
    return false;
  }

  const GatewayConfig& gw = *ctx.gw;
  const unsigned outer_port = static_cast<unsigned>(shm::PortRole::kOuter);
  const PortAddresses& outer = gw.addresses[outer_port];
  // The listen port may change at runtime (wg set listen-port): read once.
  out.src_port = gw.listen_port.load(std::memory_order_relaxed);
  const shm::Endpoint ep = shm::read_endpoint(peer);
  out.dst.family = ep.family;
  std::memcpy(out.dst.bytes.data(), ep.addr, 16);
  out.src = outer.source_for(out.dst);
  if (ep.family == 0 || out.src == nullptr) {
    drop_all(ctx, pkts, n, DropReason::kNoEndpoint);
    return false;
  }
  const net::IpAddr& hop =
      outer.on_link(out.dst) || outer.gateway.family != out.dst.family ? out.dst : outer.gateway;
  const auto hop_mac = tables::neighbour_lookup(ctx.zone->neighbours[outer_port], hop.family,
                                                hop.bytes.data());
  if (!hop_mac) {
    report_neighbour_miss(ctx, shm::PortRole::kOuter, hop);
    drop_all(ctx, pkts, n, DropReason::kNoNeighbour);
    return false;
  }
  tables::word_to_mac(*hop_mac, out.dst_mac.bytes.data());
  out.dst_port = ep.port;
  out.peer = peer_id;
  out.data_packets = 0;

  // Nonces for the whole burst at once: the only shared write per burst.
  const uint64_t base = kp->send_counter.fetch_add(n, std::memory_order_relaxed);
  if (base + n > wire::kRekeyAfterMessages &&
      kp->rekey_raised.exchange(1, std::memory_order_relaxed) == 0) {
    shm::EventKeypair body{kp->local_index, 0, base + n};
    raise_event(ctx, shm::MessageKind::kEventRekeyWanted, peer_id, &body, sizeof(body));
  }

  unsigned nr = out.first;
  for (unsigned i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    const uint64_t counter = base + i;
    if (counter >= wire::kRejectAfterMessages) [[unlikely]] {
      ctx.drop(m, DropReason::kKeypairExpired);
      continue;
    }
    const uint32_t ip_len = m->data_len;
    uint32_t padded = (ip_len + wire::kMessagePadding - 1) & ~(wire::kMessagePadding - 1);
    if (padded > gw.mtu) padded = ip_len > gw.mtu ? ip_len : gw.mtu;
    char* tail = rte_pktmbuf_append(m, static_cast<uint16_t>(padded - ip_len + wire::kTagLen));
    auto* hdr = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, wire::kDataHeaderSize));
    if (tail == nullptr || hdr == nullptr) [[unlikely]] {
      ctx.drop(m, DropReason::kTooBig);
      continue;
    }
    std::memset(tail, 0, padded - ip_len);
    hdr[0] = static_cast<uint8_t>(wire::MessageType::kData);
    hdr[1] = hdr[2] = hdr[3] = 0;
    store_le32(hdr + 4, kp->remote_index);
    store_le64(hdr + 8, counter);
    crypto::AeadOp& op = ops[nr];
    op.key = kp->send_key;
    op.counter = counter;
    op.data = hdr + wire::kDataHeaderSize;
    op.len = padded;
    op.tag = op.data + padded;
    op.ok = false;
    ready[nr++] = m;
    if (ip_len != 0) ++out.data_packets;
  }
  out.count = nr - out.first;
  return out.count != 0;
}

// After the seal: outer headers, counters, the TX buffer.
void finish_peer(LcoreContext& ctx, const PeerSend& send, rte_mbuf** ready) noexcept {
  const GatewayConfig& gw = *ctx.gw;
  const unsigned outer_port = static_cast<unsigned>(shm::PortRole::kOuter);
  const uint16_t header_len = static_cast<uint16_t>(net::outer_header_len(send.dst.family));
  shm::PeerCounters& pc = ctx.peer_counters(send.peer);
  TxBuffer& tx = ctx.tx[outer_port];
  unsigned sent = 0;
  for (unsigned i = send.first; i < send.first + send.count; ++i) {
    rte_mbuf* m = ready[i];
    const uint16_t udp_payload = static_cast<uint16_t>(rte_pktmbuf_data_len(m));
    auto* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, header_len));
    if (out == nullptr) [[unlikely]] {
      ctx.drop(m, DropReason::kTooBig);
      continue;
    }
    net::write_outer_headers(out, gw.mac[outer_port], send.dst_mac, *send.src, send.dst,
                             send.src_port, send.dst_port, out + header_len, udp_payload,
                             ctx.ipv4_id++, false);
    m->ol_flags = 0;
    m->packet_type = 0;
    pc.tx_packets.add(1);
    pc.tx_bytes.add(udp_payload);
    if (tx.count == sizeof(tx.pkts) / sizeof(tx.pkts[0])) flush_tx(ctx);
    tx.pkts[tx.count++] = m;
    ++sent;
  }
  ctx.counters().encrypted.add(sent);
  pc.last_tx_ns.set(ctx.now_ns);
  if (send.data_packets != 0) pc.last_tx_data_ns.set(ctx.now_ns);
}

}  // namespace

void encap_to_peer(LcoreContext& ctx, uint32_t peer_id, rte_mbuf** pkts, unsigned n,
                   bool may_stage) noexcept {
  while (n > kBurst) {
    encap_to_peer(ctx, peer_id, pkts, kBurst, may_stage);
    pkts += kBurst;
    n -= kBurst;
  }
  if (n == 0) return;
  crypto::AeadOp ops[kBurst];
  rte_mbuf* ready[kBurst];
  PeerSend send;
  if (!prepare_peer(ctx, peer_id, pkts, n, may_stage, ops, ready, send)) return;
  crypto::seal_burst(*ctx.engine, std::span<crypto::AeadOp>(ops, send.count));
  finish_peer(ctx, send, ready);
}

void encap_burst(LcoreContext& ctx, rte_mbuf** pkts, unsigned n) noexcept {
  const GatewayConfig& gw = *ctx.gw;
  const unsigned inner_port = static_cast<unsigned>(shm::PortRole::kInner);
  const PortAddresses& inner = gw.addresses[inner_port];
  shm::PortCounters& rx = ctx.counters().port[inner_port];

  rte_mbuf* routed[kBurst];
  uint32_t peers[kBurst];
  unsigned nr = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 3], void*));
    rte_mbuf* m = pkts[i];
    if (!accept_rx(ctx, rx, m)) continue;
    const net::FrameView v = net::parse_frame(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len);
    if (v.kind == net::FrameKind::kMalformed) {
      ctx.drop(m, frame_drop_reason(m, v));
      continue;
    }
    if (wanted_by_control_plane(v, inner)) {
      punt_copy(ctx, m, shm::PortRole::kInner);
      rte_pktmbuf_free(m);
      continue;
    }
    if (!v.is_ipv4() && !v.is_ipv6()) {  // ARP not for us, VLAN tags, other EtherTypes
      ctx.drop(m, frame_drop_reason(m, v));
      continue;
    }
    const bool limited_broadcast = v.dst.family == 4 && v.dst.bytes[0] == 0xff &&
                                   v.dst.bytes[1] == 0xff && v.dst.bytes[2] == 0xff &&
                                   v.dst.bytes[3] == 0xff;
    if (inner.is_own(v.dst) || v.dst.is_multicast() || limited_broadcast) {
      ctx.drop(m, DropReason::kNotForUs);
      continue;
    }
    const uint32_t peer = ctx.routes->lookup(v.dst.family, v.dst.bytes.data());
    if (peer == shm::kNoPeer) {
      ctx.drop(m, DropReason::kNoRoute);
      continue;
    }
    const uint16_t ip_len = static_cast<uint16_t>(v.frame_len - v.l3_offset);
    if (ip_len > gw.mtu) {
      ctx.drop(m, DropReason::kTooBig);
      continue;
    }
    rte_pktmbuf_adj(m, v.l3_offset);
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - ip_len));  // Ethernet padding
    routed[nr] = m;
    peers[nr++] = peer;
  }

  // Per peer (arrival order within each peer) everything up to the cipher,
  // then one burst of seals for every peer of the burst, then the outer
  // headers: IPsec-MB is entered and flushed once per burst, not per peer.
  bool done[kBurst] = {};
  rte_mbuf* group[kBurst];
  crypto::AeadOp ops[kBurst];
  rte_mbuf* ready[kBurst];
  PeerSend sends[kBurst];
  unsigned nsends = 0, nops = 0;
  for (unsigned i = 0; i < nr; ++i) {
    if (done[i]) continue;
    unsigned ng = 0;
    for (unsigned j = i; j < nr; ++j) {
      if (!done[j] && peers[j] == peers[i]) {
        group[ng++] = routed[j];
        done[j] = true;
      }
    }
    PeerSend& send = sends[nsends];
    send.first = nops;
    if (prepare_peer(ctx, peers[i], group, ng, true, ops, ready, send)) {
      nops += send.count;
      ++nsends;
    }
  }
  if (nops == 0) return;
  crypto::seal_burst(*ctx.engine, std::span<crypto::AeadOp>(ops, nops));
  for (unsigned g = 0; g < nsends; ++g) finish_peer(ctx, sends[g], ready);
}

bool send_keepalive(LcoreContext& ctx, uint32_t peer, rte_mempool* pool) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    ctx.count_drop(DropReason::kMbufExhausted);
    return false;
  }
  encap_to_peer(ctx, peer, &m, 1, false);
  return true;
}

}  // namespace wirespeed::dataplane::pipeline
