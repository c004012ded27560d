// The main lcore's command application (see applier.hpp). Main lcore only.
#include "dataplane/control/applier.hpp"

#include <rte_mbuf.h>
#include <rte_ring_peek_zc.h>

#include <algorithm>
#include <cstring>

#include "dataplane/base/clock.hpp"
#include "dataplane/base/hardening.hpp"
#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/tables/neighbours.hpp"

namespace wirespeed::dataplane::control {

namespace {

constexpr unsigned kCommandsPerPoll = 64;
constexpr size_t kMaxHeld = 64;
constexpr uint64_t kHoldTime = 3ULL * 1000 * 1000 * 1000;  // under REKEY_TIMEOUT
// A worker that read "no keypair" just before an install stages its packets
// just after the install's flush; the sweep sends them within this time.
constexpr uint64_t kStageSweepInterval = 10ULL * 1000 * 1000;

std::array<uint8_t, 18> route_key(const tables::RouteChange& c) noexcept {
  std::array<uint8_t, 18> key{};
  key[0] = c.family;
  key[1] = c.cidr;
  std::memcpy(key.data() + 2, c.addr, 16);
  return key;
}

// Key material leaving a slot: a wipe the compiler may not drop.
void wipe(void* p, size_t n) noexcept { secure_wipe(p, n); }

}  // namespace

Applier::Applier(shm::SharedState& state, tables::Routes& routes, tables::IndexMap& index,
                 rte_rcu_qsbr* rcu, pipeline::LcoreContext& main_ctx, pipeline::GatewayConfig& gw,
                 rte_mempool* pool, rte_ring* internal) noexcept
    : state_(state),
      zone_(state.zone()),
      routes_(routes),
      index_(index),
      rcu_(rcu),
      ctx_(main_ctx),
      gw_(gw),
      pool_(pool),
      internal_(internal),
      peer_routes_(shm::kMaxPeers) {
  retired_.reserve(shm::kMaxKeypairs);
}

bool Applier::valid_peer(uint32_t peer) const noexcept {
  return peer < shm::kMaxPeers;
}

unsigned Applier::poll(uint64_t now_ns) noexcept {
  ctx_.now_ns = now_ns;
  zone_.header.heartbeat_ns.store(now_ns, std::memory_order_release);
  unsigned work = 0;

  uint32_t slots[32];
  const unsigned nc = rte_ring_dequeue_burst_elem(internal_, slots, sizeof(uint32_t), 32, nullptr);
  for (unsigned i = 0; i < nc; ++i) confirm(static_cast<int32_t>(slots[i]));
  work += nc;

  alignas(8) static thread_local shm::RingMessage cmd;
  for (unsigned i = 0; i < kCommandsPerPoll; ++i) {
    // Zero-copy dequeue (the ring is single-consumer): a plain dequeue copies
    // the message out but leaves its bytes in the ring's slot, in shared
    // memory, until a later command happens to overwrite it. A keypair
    // install's slot is wiped before the slot is handed back to the producer.
    rte_ring_zc_data zc;
    if (rte_ring_dequeue_zc_burst_elem_start(state_.commands(), sizeof(cmd), 1, &zc, nullptr) == 0)
      break;
    std::memcpy(&cmd, zc.ptr1, sizeof(cmd));  // one element is always in ptr1
    if (cmd.kind == shm::MessageKind::kCmdKeypairInstall) wipe(zc.ptr1, sizeof(cmd));
    rte_ring_dequeue_zc_elem_finish(state_.commands(), 1);
    apply(cmd);
    // A keypair install leaves keys in the copy.
    if (cmd.kind == shm::MessageKind::kCmdKeypairInstall)
      wipe(cmd.body, sizeof(shm::CmdKeypairInstall));
    ++work;
  }
  flush_routes();
  reclaim(false);
  if (now_ns >= next_stage_sweep_ns_) {
    sweep_staged();
    next_stage_sweep_ns_ = now_ns + kStageSweepInterval;
  }
  pipeline::flush_tx(ctx_);
  return work;
}

void Applier::apply(const shm::RingMessage& cmd) noexcept {
  using shm::MessageKind;
  const uint32_t peer = cmd.peer;
  auto body_is = [&](size_t size) { return cmd.length >= size && size <= shm::kRingBodyMax; };
  switch (cmd.kind) {
    case MessageKind::kCmdPeerSet:
      if (valid_peer(peer) && body_is(sizeof(shm::CmdPeerSet))) {
        shm::CmdPeerSet b;
        std::memcpy(&b, cmd.body, sizeof(b));
        peer_set(peer, b);
      }
      break;
    case MessageKind::kCmdPeerRemove:
      if (valid_peer(peer)) peer_remove(peer);
      break;
    case MessageKind::kCmdAllowedIpAdd:
    case MessageKind::kCmdAllowedIpRemove:
      if (valid_peer(peer) && body_is(sizeof(shm::CmdAllowedIp))) {
        shm::CmdAllowedIp b;
        std::memcpy(&b, cmd.body, sizeof(b));
        allowed_ip(peer, b, cmd.kind == MessageKind::kCmdAllowedIpAdd);
      }
      break;
    case MessageKind::kCmdKeypairInstall:
      if (valid_peer(peer) && body_is(sizeof(shm::CmdKeypairInstall))) {
        shm::CmdKeypairInstall b;
        std::memcpy(&b, cmd.body, sizeof(b));
        keypair_install(peer, b);
        wipe(&b, sizeof(b));
      }
      break;
    case MessageKind::kCmdKeypairsClear:
      if (valid_peer(peer)) keypairs_clear(peer);
      break;
    case MessageKind::kCmdNeighbourSet:
      if (cmd.port < shm::kPortCount && body_is(sizeof(shm::CmdNeighbourSet))) {
        shm::CmdNeighbourSet b;
        std::memcpy(&b, cmd.body, sizeof(b));
        if (b.family == 4 || b.family == 6) {
          // A full table leaves the address unresolved: its packets are then
          // counted as no_neighbour.
          (void)tables::neighbour_set(zone_.neighbours[cmd.port], b.family, b.addr, b.mac);
          if (cmd.port == static_cast<uint8_t>(shm::PortRole::kOuter))
            release_held(b.family, b.addr);
        }
      }
      break;
    case MessageKind::kCmdTransmitFrame:
      if (cmd.port < shm::kPortCount && cmd.length >= 14 && cmd.length <= shm::kRingBodyMax) {
        transmit_frame(cmd.port, cmd.body, cmd.length);
      }
      break;
    case MessageKind::kCmdTransmitUdp:
      if (body_is(sizeof(shm::CmdTransmitUdp))) {
        shm::CmdTransmitUdp b;
        std::memcpy(&b, cmd.body, sizeof(b));
        transmit_udp(peer, b);
      }
      break;
    case MessageKind::kCmdSendKeepalive:
      if (valid_peer(peer)) {
        // Staged packets confirm the session as well as a keepalive would.
        bool any_staged;
        {
          shm::PeerSlot& p = zone_.peers[peer];
          p.stage_lock.lock();
          any_staged = p.staged_count != 0;
          p.stage_lock.unlock();
        }
        if (any_staged) {
          flush_staged(peer, true);
        } else {
          pipeline::send_keepalive(ctx_, peer, pool_);
        }
      }
      break;
    case MessageKind::kCmdEndpointSet:
      if (valid_peer(peer) && body_is(sizeof(shm::Endpoint))) {
        shm::Endpoint e;
        std::memcpy(&e, cmd.body, sizeof(e));
        endpoint_set(peer, e);
      }
      break;
    case MessageKind::kCmdFlushStaged:
      if (valid_peer(peer)) flush_staged(peer, false);
      break;
    case MessageKind::kCmdListenPortSet:
      if (body_is(sizeof(shm::CmdListenPort))) {
        shm::CmdListenPort b;
        std::memcpy(&b, cmd.body, sizeof(b));
        listen_port_set(b);
      }
      break;
    default:
      break;  // unknown command kinds are ignored: an older control plane cannot break us
  }
}

void Applier::peer_set(uint32_t peer, const shm::CmdPeerSet& body) noexcept {
  shm::PeerSlot& p = zone_.peers[peer];
  if (p.state.load(std::memory_order_relaxed) != shm::PeerState::kActive ||
      std::memcmp(p.public_key, body.public_key, 32) != 0) {
    if (p.state.load(std::memory_order_relaxed) == shm::PeerState::kActive) peer_remove(peer);
    std::memcpy(p.public_key, body.public_key, 32);
    p.generation += 1;
    p.current.store(shm::kNoKeypair, std::memory_order_relaxed);
    p.previous.store(shm::kNoKeypair, std::memory_order_relaxed);
    p.next.store(shm::kNoKeypair, std::memory_order_relaxed);
    p.handshake_wanted_ns.store(0, std::memory_order_relaxed);
    p.state.store(shm::PeerState::kActive, std::memory_order_release);
  }
  if (body.endpoint.family != 0) endpoint_set(peer, body.endpoint);
}

void Applier::peer_remove(uint32_t peer) noexcept {
  shm::PeerSlot& p = zone_.peers[peer];
  if (p.state.load(std::memory_order_relaxed) != shm::PeerState::kActive) return;
  p.state.store(shm::PeerState::kRetiring, std::memory_order_release);
  keypairs_clear(peer);
  for (tables::RouteChange c : peer_routes_[peer]) {
    c.add = false;
    pending_routes_.push_back(c);
    route_owner_.erase(route_key(c));
  }
  peer_routes_[peer].clear();
  flush_routes();
  flush_staged(peer, false);
  endpoint_set(peer, shm::Endpoint{});
  p.state.store(shm::PeerState::kFree, std::memory_order_release);
}

void Applier::allowed_ip(uint32_t peer, const shm::CmdAllowedIp& body, bool add) noexcept {
  if ((body.family != 4 || body.cidr > 32) && (body.family != 6 || body.cidr > 128)) return;
  tables::RouteChange c;
  c.add = add;
  c.family = body.family;
  c.cidr = body.cidr;
  std::memcpy(c.addr, body.addr, 16);
  c.peer = peer;
  auto& owned = peer_routes_[peer];
  auto same = [&](const tables::RouteChange& o) {
    return o.family == c.family && o.cidr == c.cidr && std::memcmp(o.addr, c.addr, 16) == 0;
  };
  owned.erase(std::remove_if(owned.begin(), owned.end(), same), owned.end());
  const auto key = route_key(c);
  const auto owner = route_owner_.find(key);
  if (add) {
    // A prefix belongs to one peer: taking it moves it (as `wg set` does).
    if (owner != route_owner_.end() && owner->second != peer) {
      auto& other = peer_routes_[owner->second];
      other.erase(std::remove_if(other.begin(), other.end(), same), other.end());
    }
    route_owner_[key] = peer;
    owned.push_back(c);
  } else if (owner != route_owner_.end() && owner->second == peer) {
    route_owner_.erase(owner);
  }
  pending_routes_.push_back(c);
}

void Applier::flush_routes() noexcept {
  if (pending_routes_.empty()) return;
  // Failures (table full) leave the prefix unrouted; counted as no_route
  // when traffic for it arrives.
  (void)routes_.apply(pending_routes_, rcu_);
  pending_routes_.clear();
}

int32_t Applier::free_keypair_slot(uint32_t peer) noexcept {
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t k = 0; k < shm::kKeypairsPerPeer; ++k) {
      const int32_t slot = shm::keypair_slot_number(peer, k);
      if (zone_.keypairs[slot].state.load(std::memory_order_relaxed) == shm::SlotState::kFree) {
        return slot;
      }
    }
    reclaim(true);  // a slot still in its grace period: wait it out (rare)
  }
  return shm::kNoKeypair;
}

void Applier::keypair_install(uint32_t peer, const shm::CmdKeypairInstall& body) noexcept {
  shm::PeerSlot& p = zone_.peers[peer];
  if (p.state.load(std::memory_order_relaxed) != shm::PeerState::kActive) return;
  const int32_t slot = free_keypair_slot(peer);
  if (slot == shm::kNoKeypair) return;
  shm::KeypairSlot& kp = zone_.keypairs[slot];
  kp.peer = peer;
  kp.local_index = body.local_index;
  kp.remote_index = body.remote_index;
  kp.birth_ns = body.birth_ns;
  kp.we_initiated = body.we_initiated;
  kp.confirm_raised.store(0, std::memory_order_relaxed);
  kp.rekey_raised.store(0, std::memory_order_relaxed);
  std::memcpy(kp.send_key, body.send_key, 32);
  std::memcpy(kp.receive_key, body.receive_key, 32);
  kp.send_counter.store(0, std::memory_order_relaxed);
  kp.replay.reset();
  kp.state.store(shm::SlotState::kLive, std::memory_order_release);
  if (!index_.insert(body.local_index, slot)) {
    kp.state.store(shm::SlotState::kFree, std::memory_order_release);
    wipe(kp.send_key, 32);
    wipe(kp.receive_key, 32);
    return;
  }

  p.handshakes.add(1);
  p.last_handshake_ns.set(body.birth_ns);

  // The kernel's add_new_keypair (noise.c).
  const int32_t previous = p.previous.load(std::memory_order_relaxed);
  const int32_t current = p.current.load(std::memory_order_relaxed);
  const int32_t next = p.next.load(std::memory_order_relaxed);
  if (body.we_initiated != 0) {
    if (next != shm::kNoKeypair) {
      p.next.store(shm::kNoKeypair, std::memory_order_release);
      p.previous.store(next, std::memory_order_release);
      retire(current);
    } else {
      p.previous.store(current, std::memory_order_release);
    }
    retire(previous);
    p.current.store(slot, std::memory_order_release);
    flush_staged(peer, true);
  } else {
    p.next.store(slot, std::memory_order_release);
    retire(next);
    p.previous.store(shm::kNoKeypair, std::memory_order_release);
    retire(previous);
  }
}

void Applier::confirm(int32_t slot) noexcept {
  if (slot < 0 || static_cast<uint32_t>(slot) >= shm::kMaxKeypairs) return;
  const uint32_t peer = zone_.keypairs[slot].peer;
  if (!valid_peer(peer)) return;
  shm::PeerSlot& p = zone_.peers[peer];
  if (p.next.load(std::memory_order_relaxed) != slot) return;  // already rotated or replaced
  // The kernel's received_with_keypair (noise.c).
  const int32_t old_previous = p.previous.load(std::memory_order_relaxed);
  p.previous.store(p.current.load(std::memory_order_relaxed), std::memory_order_release);
  p.current.store(slot, std::memory_order_release);
  p.next.store(shm::kNoKeypair, std::memory_order_release);
  retire(old_previous);
  flush_staged(peer, true);
  shm::EventKeypair body{zone_.keypairs[slot].local_index, 0, 0};
  pipeline::raise_event(ctx_, shm::MessageKind::kEventKeypairConfirmed, peer, &body, sizeof(body));
}

void Applier::keypairs_clear(uint32_t peer) noexcept {
  shm::PeerSlot& p = zone_.peers[peer];
  const int32_t slots[3] = {p.current.exchange(shm::kNoKeypair),
                            p.previous.exchange(shm::kNoKeypair), p.next.exchange(shm::kNoKeypair)};
  for (int32_t s : slots) retire(s);
}

void Applier::retire(int32_t slot) noexcept {
  if (slot < 0) return;
  shm::KeypairSlot& kp = zone_.keypairs[slot];
  if (kp.state.load(std::memory_order_relaxed) != shm::SlotState::kLive) return;
  kp.state.store(shm::SlotState::kRetiring, std::memory_order_release);
  const int32_t position = index_.remove(kp.local_index);
  const uint64_t token = rcu_ != nullptr ? rte_rcu_qsbr_start(rcu_) : 0;
  retired_.push_back(Retired{slot, position, token});
}

void Applier::reclaim(bool wait) noexcept {
  if (retired_.empty()) return;
  if (wait && rcu_ != nullptr) rte_rcu_qsbr_synchronize(rcu_, RTE_QSBR_THRID_INVALID);
  auto done = [&](const Retired& r) {
    if (rcu_ != nullptr && !wait && rte_rcu_qsbr_check(rcu_, r.token, false) != 1) return false;
    shm::KeypairSlot& kp = zone_.keypairs[r.slot];
    index_.release(r.hash_position);
    wipe(kp.send_key, sizeof(kp.send_key));
    wipe(kp.receive_key, sizeof(kp.receive_key));
    kp.replay.reset();
    kp.state.store(shm::SlotState::kFree, std::memory_order_release);
    return true;
  };
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(), done), retired_.end());
}

void Applier::endpoint_set(uint32_t peer, const shm::Endpoint& endpoint) noexcept {
  shm::write_endpoint(zone_.peers[peer], endpoint);
}

// The gateway answers on the new port from the next burst on; sessions are
// untouched (a peer keeps sending to the old port until it hears from us or
// is told, as with the kernel). Port 0 is refused: there is no socket to
// pick a random port for us.
void Applier::listen_port_set(const shm::CmdListenPort& body) noexcept {
  if (body.port == 0) return;
  gw_.listen_port.store(body.port, std::memory_order_relaxed);
  zone_.header.listen_port.store(body.port, std::memory_order_release);
}

void Applier::flush_staged(uint32_t peer, bool send) noexcept {
  shm::PeerSlot& p = zone_.peers[peer];
  rte_mbuf* pkts[shm::kStageMax];
  p.stage_lock.lock();
  const unsigned n = p.staged_count;
  for (unsigned i = 0; i < n; ++i) pkts[i] = reinterpret_cast<rte_mbuf*>(p.staged[i]);
  p.staged_count = 0;
  p.stage_lock.unlock();
  if (n == 0) return;
  zone_.stage_budget.release(n);
  if (send) {
    pipeline::encap_to_peer(ctx_, peer, pkts, n, true);
  } else {
    for (unsigned i = 0; i < n; ++i) ctx_.drop(pkts[i], shm::DropReason::kNoKeypair);
  }
}

void Applier::release_held(uint8_t family, const uint8_t addr[16]) noexcept {
  if (held_.empty()) return;
  const unsigned outer = static_cast<unsigned>(shm::PortRole::kOuter);
  const auto mac = tables::neighbour_lookup(zone_.neighbours[outer], family, addr);
  auto done = [&](Held& h) {
    if (h.expires_ns <= ctx_.now_ns) {  // too late: the timers resend; count the loss
      ctx_.count_drop(shm::DropReason::kNoNeighbour);
      return true;
    }
    if (!mac || h.family != family || std::memcmp(h.addr, addr, 16) != 0) return false;
    tables::word_to_mac(*mac, h.frame);  // the Ethernet destination
    transmit_frame(static_cast<uint8_t>(outer), h.frame, h.len);
    return true;
  };
  held_.erase(std::remove_if(held_.begin(), held_.end(), done), held_.end());
}

void Applier::sweep_staged() noexcept {
  for (uint32_t peer = 0; peer < shm::kMaxPeers; ++peer) {
    shm::PeerSlot& p = zone_.peers[peer];
    if (p.state.load(std::memory_order_relaxed) != shm::PeerState::kActive) continue;
    const int32_t current = p.current.load(std::memory_order_relaxed);
    if (current == shm::kNoKeypair ||
        pipeline::keypair_expired(zone_.keypairs[current], ctx_.now_ns)) {
      continue;  // would only stage them again
    }
    // A racy peek is enough: flush_staged takes the lock.
    if (__atomic_load_n(&p.staged_count, __ATOMIC_RELAXED) == 0) continue;
    flush_staged(peer, true);
  }
}

void Applier::drop_all_staged() noexcept {
  for (uint32_t peer = 0; peer < shm::kMaxPeers; ++peer) flush_staged(peer, false);
}

void Applier::transmit_frame(uint8_t port, const uint8_t* frame, uint16_t len) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    ctx_.count_drop(shm::DropReason::kMbufExhausted);
    return;
  }
  char* out = rte_pktmbuf_append(m, len);
  if (out == nullptr) {
    ctx_.drop(m, shm::DropReason::kTooBig);
    return;
  }
  std::memcpy(out, frame, len);
  pipeline::TxBuffer& tx = ctx_.tx[port];
  if (tx.count == sizeof(tx.pkts) / sizeof(tx.pkts[0])) pipeline::flush_tx(ctx_);
  tx.pkts[tx.count++] = m;
}

void Applier::transmit_udp(uint32_t peer, const shm::CmdTransmitUdp& body) noexcept {
  if (body.payload_len == 0 || body.payload_len > sizeof(body.payload)) return;
  shm::Endpoint ep = body.destination;
  if (ep.family == 0) {
    if (!valid_peer(peer)) return;
    ep = shm::read_endpoint(zone_.peers[peer]);
  }
  if (ep.family != 4 && ep.family != 6) {
    ctx_.count_drop(shm::DropReason::kNoEndpoint);
    return;
  }
  const unsigned outer = static_cast<unsigned>(shm::PortRole::kOuter);
  const pipeline::PortAddresses& own = ctx_.gw->addresses[outer];
  net::IpAddr dst;
  dst.family = ep.family;
  std::memcpy(dst.bytes.data(), ep.addr, 16);
  const net::IpAddr* src = own.source_for(dst);
  if (src == nullptr) {
    ctx_.count_drop(shm::DropReason::kNoEndpoint);
    return;
  }
  const net::IpAddr& hop = own.on_link(dst) || own.gateway.family != dst.family ? dst : own.gateway;
  const auto mac = tables::neighbour_lookup(zone_.neighbours[outer], hop.family, hop.bytes.data());
  const size_t header = net::outer_header_len(dst.family);
  bool held = false;
  if (!mac && held_.size() < kMaxHeld) {
    held = true;
    // A handshake message must not wait for its retry timer (5 s) just
    // because the next hop is being resolved: hold it until the answer.
    Held& h = held_.emplace_back();
    h.family = hop.family;
    std::memcpy(h.addr, hop.bytes.data(), 16);
    h.expires_ns = ctx_.now_ns + kHoldTime;
    std::memcpy(h.frame + header, body.payload, body.payload_len);
    h.len = static_cast<uint16_t>(header + body.payload_len);
    net::write_outer_headers(h.frame, ctx_.gw->mac[outer], net::MacAddress{}, *src, dst,
                             gw_.listen_port.load(std::memory_order_relaxed), ep.port,
                             h.frame + header, body.payload_len, ctx_.ipv4_id++, true);
  }
  if (!mac) {
    shm::EventNeighbour miss{};
    miss.family = hop.family;
    std::memcpy(miss.addr, hop.bytes.data(), 16);
    alignas(8) shm::RingMessage msg;
    msg.kind = shm::MessageKind::kEventNeighbourMiss;
    msg.port = static_cast<uint8_t>(outer);
    msg.length = sizeof(miss);
    msg.timestamp_ns = ctx_.now_ns;
    std::memcpy(msg.body, &miss, sizeof(miss));
    if (!shm::ring_put(ctx_.events, msg)) ctx_.count_drop(shm::DropReason::kRingFull);
    if (!held) ctx_.count_drop(shm::DropReason::kNoNeighbour);
    return;
  }
  net::MacAddress dst_mac;
  tables::word_to_mac(*mac, dst_mac.bytes.data());
  uint8_t frame[128 + sizeof(body.payload)];
  std::memcpy(frame + header, body.payload, body.payload_len);
  net::write_outer_headers(frame, ctx_.gw->mac[outer], dst_mac, *src, dst,
                           gw_.listen_port.load(std::memory_order_relaxed), ep.port, frame + header,
                           body.payload_len, ctx_.ipv4_id++, true);
  transmit_frame(static_cast<uint8_t>(outer), frame,
                 static_cast<uint16_t>(header + body.payload_len));
}

}  // namespace wirespeed::dataplane::control
