// Decap: outer RX -> inner TX (design-brief §2). Worker lcores, RCU read
// side: every table pointer read here stays valid until the worker reports
// quiescence at the end of its loop iteration.
//
// A burst goes through four stages so the expensive parts are batched:
//   1. classify every frame: WireGuard data to our listen port is kept,
//      handshake messages, ARP, ND and echo to our addresses are punted,
//      everything else is dropped and counted;
//   2. one bulk lookup of the receiver indices;
//   3. keypair limits and the read-only replay check, then one burst of
//      ChaCha20-Poly1305 opens;
//   4. replay window updates (one lock per run of the same keypair), then per
//      fresh authenticated packet: keypair confirmation, roaming,
//      allowed-IPs source check, inner Ethernet header, TX.
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

// Handshake-class messages go to the control plane whole; their exact sizes
// are checked here so junk never costs a ring slot.
bool is_handshake_message(uint8_t type, uint16_t len) noexcept {
  switch (static_cast<wire::MessageType>(type)) {
    case wire::MessageType::kHandshakeInitiation:
      return len == wire::kInitiationSize;
    case wire::MessageType::kHandshakeResponse:
      return len == wire::kResponseSize;
    case wire::MessageType::kHandshakeCookie:
      return len == wire::kCookieReplySize;
    default:
      return false;
  }
}

// Roaming: the peer's endpoint becomes the source of its latest
// authenticated packet. Written only when it changed, so the common case is
// a seqlock read and a compare.
void note_endpoint(LcoreContext& ctx, uint32_t peer_id, const net::FrameView& v) noexcept {
  shm::PeerSlot& peer = ctx.zone->peers[peer_id];
  shm::Endpoint seen;
  seen.family = v.src.family;
  seen.port = v.src_port;
  std::memcpy(seen.addr, v.src.bytes.data(), 16);
  if (shm::read_endpoint(peer) == seen) return;
  shm::write_endpoint(peer, seen);
  shm::EventEndpoint body{};
  body.endpoint = seen;
  std::memcpy(body.mac, v.eth_src.bytes.data(), 6);
  raise_event(ctx, shm::MessageKind::kEventEndpointChanged, peer_id, &body, sizeof(body));
}

struct DataPacket {
  rte_mbuf* m;
  net::FrameView view;
  uint32_t receiver;
  int32_t slot;
  uint64_t counter;
};

}  // namespace

void decap_burst(LcoreContext& ctx, rte_mbuf** pkts, unsigned n) noexcept {
  const GatewayConfig& gw = *ctx.gw;
  const uint16_t listen_port = gw.listen_port.load(std::memory_order_relaxed);
  const PortAddresses& outer = gw.addresses[static_cast<unsigned>(shm::PortRole::kOuter)];
  shm::PortCounters& rx = ctx.counters().port[static_cast<unsigned>(shm::PortRole::kOuter)];

  DataPacket data[kBurst];
  unsigned nd = 0;

  // Stage 1: classify.
  for (unsigned i = 0; i < n; ++i) {
    if (i + 3 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 3], void*));
    rte_mbuf* m = pkts[i];
    if (!accept_rx(ctx, rx, m)) continue;
    const uint8_t* frame = rte_pktmbuf_mtod(m, const uint8_t*);
    const net::FrameView v = net::parse_frame(frame, m->data_len);
    const bool udp = v.kind == net::FrameKind::kIpv4Udp || v.kind == net::FrameKind::kIpv6Udp;
    if (udp && v.dst_port == listen_port && outer.is_own(v.dst)) {
      const uint8_t* msg = frame + v.payload_offset;
      const uint16_t len = v.payload_len;
      if (len < 4 || msg[1] != 0 || msg[2] != 0 || msg[3] != 0) [[unlikely]] {
        ctx.drop(m, DropReason::kBadMessage);
        continue;
      }
      if (msg[0] == static_cast<uint8_t>(wire::MessageType::kData)) {
        if (len < wire::kKeepaliveSize) [[unlikely]] {
          ctx.drop(m, DropReason::kBadMessage);
          continue;
        }
        DataPacket& d = data[nd++];
        d.m = m;
        d.view = v;
        d.receiver = load_le32(msg + 4);
        d.counter = load_le64(msg + 8);
        continue;
      }
      if (is_handshake_message(msg[0], len)) {
        punt_copy(ctx, m, shm::PortRole::kOuter);
        rte_pktmbuf_free(m);
        continue;
      }
      ctx.drop(m, DropReason::kBadMessage);
      continue;
    }
    if (wanted_by_control_plane(v, outer)) {
      punt_copy(ctx, m, shm::PortRole::kOuter);
      rte_pktmbuf_free(m);
      continue;
    }
    // Outer fragments included: WireGuard peers size their datagrams to the
    // path, and reassembly would be state an attacker can fill. Dropped and
    // counted as `fragment` (docs/operating.md says what to check).
    ctx.drop(m, frame_drop_reason(m, v));
  }
  if (nd == 0) return;

  // Stage 2: receiver index -> keypair slot.
  uint32_t receivers[kBurst];
  int32_t slots[kBurst];
  for (unsigned i = 0; i < nd; ++i) receivers[i] = data[i].receiver;
  ctx.index->lookup_bulk(receivers, nd, slots);

  // Stage 3: limits, replay pre-check, one burst of opens.
  crypto::AeadOp ops[kBurst];
  DataPacket* opened[kBurst];
  unsigned no = 0;
  for (unsigned i = 0; i < nd; ++i) {
    DataPacket& d = data[i];
    d.slot = slots[i];
    if (d.slot < 0) {
      ctx.drop(d.m, DropReason::kUnknownIndex);
      continue;
    }
    shm::KeypairSlot& kp = ctx.zone->keypairs[d.slot];
    if (kp.state.load(std::memory_order_acquire) != shm::SlotState::kLive) [[unlikely]] {
      ctx.drop(d.m, DropReason::kUnknownIndex);
      continue;
    }
    if (keypair_expired(kp, ctx.now_ns)) [[unlikely]] {
      ctx.drop(d.m, DropReason::kKeypairExpired);
      continue;
    }
    if (!kp.replay.check(d.counter)) {
      ctx.drop(d.m, DropReason::kReplay);
      continue;
    }
    uint8_t* msg = rte_pktmbuf_mtod(d.m, uint8_t*) + d.view.payload_offset;
    const uint32_t body = d.view.payload_len - wire::kDataHeaderSize - wire::kTagLen;
    crypto::AeadOp& op = ops[no];
    op.key = kp.receive_key;
    op.counter = d.counter;
    op.data = msg + wire::kDataHeaderSize;
    op.len = body;
    op.tag = op.data + body;
    op.ok = false;
    opened[no++] = &d;
  }
  if (no == 0) return;
  crypto::open_burst(*ctx.engine, std::span<crypto::AeadOp>(ops, no));

  // Stage 4a: the replay windows, for authenticated packets only. Another
  // lcore may be opening packets of the same keypair (one busy peer spread
  // over lcores), so updates are serialised by the keypair's lock — taken
  // once per run of packets under the same keypair, not once per packet.
  bool fresh[kBurst];
  shm::KeypairSlot* locked = nullptr;
  for (unsigned i = 0; i < no; ++i) {
    fresh[i] = false;
    if (!ops[i].ok) continue;
    shm::KeypairSlot* kp = &ctx.zone->keypairs[opened[i]->slot];
    if (kp != locked) {
      if (locked != nullptr) locked->replay_lock.unlock();
      kp->replay_lock.lock();
      locked = kp;
    }
    fresh[i] = kp->replay.update(opened[i]->counter);
  }
  if (locked != nullptr) locked->replay_lock.unlock();

  // Stage 4b: authenticated, fresh packets.
  const unsigned inner_port = static_cast<unsigned>(shm::PortRole::kInner);
  const shm::NeighbourEntry* inner_neighbours = ctx.zone->neighbours[inner_port];
  for (unsigned i = 0; i < no; ++i) {
    DataPacket& d = *opened[i];
    rte_mbuf* m = d.m;
    if (!ops[i].ok) {
      ctx.drop(m, DropReason::kBadMac);
      continue;
    }
    if (!fresh[i]) {
      ctx.drop(m, DropReason::kReplay);
      continue;
    }
    shm::KeypairSlot& kp = ctx.zone->keypairs[d.slot];
    const uint32_t peer_id = kp.peer;
    shm::PeerSlot& peer = ctx.zone->peers[peer_id];
    ctx.counters().decrypted.add(1);

    // First packet under the responder's `next` keypair confirms it: the
    // main lcore rotates (single writer); one request per keypair.
    if (peer.next.load(std::memory_order_acquire) == d.slot &&
        kp.confirm_raised.exchange(1, std::memory_order_acq_rel) == 0) {
      uint32_t slot = static_cast<uint32_t>(d.slot);
      if (rte_ring_enqueue_elem(ctx.internal, &slot, sizeof(slot)) != 0) {
        kp.confirm_raised.store(0, std::memory_order_release);  // retry on the next packet
      }
    }

    shm::PeerCounters& pc = ctx.peer_counters(peer_id);
    pc.rx_packets.add(1);
    pc.rx_bytes.add(d.view.payload_len);
    pc.last_rx_ns.set(ctx.now_ns);
    note_endpoint(ctx, peer_id, d.view);

    if (ops[i].len == 0) {  // keepalive
      ctx.counters().keepalives_received.add(1);
      rte_pktmbuf_free(m);
      continue;
    }
    pc.last_rx_data_ns.set(ctx.now_ns);

    const net::InnerView inner = net::parse_inner(ops[i].data, ops[i].len);
    if (!inner.ok) {
      ctx.drop(m, DropReason::kBadInner);
      continue;
    }
    if (ctx.routes->lookup(inner.src.family, inner.src.bytes.data()) != peer_id) {
      ctx.drop(m, DropReason::kSourceNotAllowed);
      continue;
    }
    const auto mac = tables::neighbour_lookup(inner_neighbours, inner.dst.family,
                                              inner.dst.bytes.data());
    if (!mac) {
      report_neighbour_miss(ctx, shm::PortRole::kInner, inner.dst);
      ctx.drop(m, DropReason::kNoNeighbour);
      continue;
    }
    // Strip Ethernet/IP/UDP/WireGuard header, the padding and the tag; then
    // the inner Ethernet header goes where the old headers were.
    rte_pktmbuf_adj(m, static_cast<uint16_t>(d.view.payload_offset + wire::kDataHeaderSize));
    rte_pktmbuf_trim(m, static_cast<uint16_t>(m->data_len - inner.ip_len));
    auto* eth = reinterpret_cast<rte_ether_hdr*>(rte_pktmbuf_prepend(m, sizeof(rte_ether_hdr)));
    tables::word_to_mac(*mac, eth->dst_addr.addr_bytes);
    std::memcpy(eth->src_addr.addr_bytes, gw.mac[inner_port].bytes.data(), 6);
    eth->ether_type = rte_cpu_to_be_16(inner.family == 4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
    m->ol_flags = 0;
    m->packet_type = 0;
    TxBuffer& tx = ctx.tx[inner_port];
    if (tx.count == sizeof(tx.pkts) / sizeof(tx.pkts[0])) flush_tx(ctx);
    tx.pkts[tx.count++] = m;
  }
}

}  // namespace wirespeed::dataplane::pipeline
