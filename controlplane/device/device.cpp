// Device (device.hpp): construction from the configuration, peer install and
// adoption after a restart, the mirror of the dataplane's keypair roles, the
// timer plumbing and the dataplane's events. The handshake messages
// themselves are in device_handshake.cpp. Control-plane main thread.
#include "controlplane/device/device.hpp"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "controlplane/crypto/aead.hpp"
#include "controlplane/device/commands.hpp"

namespace wirespeed::controlplane::device {

namespace shm = dataplane::shm;
namespace wire = dataplane::wire;
using detail::push_command;
using timers::Action;

namespace {

uint64_t random_jitter_draw(void* /*ctx*/) {
  return randombytes_uniform(static_cast<uint32_t>(wire::kRekeyTimeoutJitterMax) + 1);
}

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * wire::kNanosPerSecond +
         static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void wipe_outbox(Outbox& out) noexcept {
  if (!out.empty()) sodium_memzero(out.data(), out.size() * sizeof(shm::RingMessage));
  out.clear();
}

timers::JitterSource random_jitter() noexcept {
  return timers::JitterSource{&random_jitter_draw, nullptr};
}

const char* device_drop_name(DeviceDrop drop) noexcept {
  switch (drop) {
#define WS_DEVICE_DROP_NAME(sym, text) \
  case DeviceDrop::sym:                \
    return text;
    WS_DEVICE_DROPS(WS_DEVICE_DROP_NAME)
#undef WS_DEVICE_DROP_NAME
    case DeviceDrop::kCount:
      break;
  }
  return "unknown";
}

uint64_t DeviceStats::total_drops() const noexcept {
  uint64_t sum = 0;
  for (uint64_t d : drops) sum += d;
  return sum;
}

// --- Construction -----------------------------------------------------------

Device::Device(crypto::PrivateKey private_key, DeviceOptions opts, ratelimit::RateLimiter limiter)
    : identity_(noise::StaticIdentity::from_private(std::move(private_key))),
      opts_(std::move(opts)),
      checker_(identity_.public_key),
      limiter_(std::move(limiter)),
      indices_([this] { return draw_index(); }) {}

Device::~Device() = default;

Result<std::unique_ptr<Device>> Device::create(const config::Config& cfg, DeviceOptions opts) {
  if (auto s = crypto::init_sodium(); !s) return s.error();
  if (cfg.peers.size() > shm::kMaxPeers) {
    return make_error(Errc::kInvalidArgument, "device: more peers than the dataplane has slots");
  }
  auto limiter = ratelimit::RateLimiter::create();
  if (!limiter) return limiter.error();

  std::unique_ptr<Device> dev(
      new Device(cfg.private_key.clone(), std::move(opts), std::move(*limiter)));
  for (size_t i = 0; i < cfg.peers.size(); ++i) {
    const config::PeerConfig& pc = cfg.peers[i];
    if (auto checked = dev->check_peer(pc); !checked) return checked.error();
    const auto slot = static_cast<uint32_t>(i);
    dev->by_public_key_.emplace(pc.public_key, slot);
    dev->peers_.push_back(dev->make_peer(pc, slot));
  }
  return dev;
}

// --- Events for the log -------------------------------------------------------

void Device::notify(const DeviceEvent& event) const {
  if (opts_.events.fn != nullptr) opts_.events.fn(opts_.events.ctx, event);
}

void Device::notify(DeviceEventKind kind, const Peer* peer, const char* detail) const {
  DeviceEvent e;
  e.kind = kind;
  e.peer = peer != nullptr ? peer->slot : shm::kNoPeer;
  e.detail = detail;
  if (peer != nullptr) e.endpoint = peer->endpoint;
  notify(e);
}

// Up: the mirror holds a current keypair (confirmed: usable for sending).
// Down: it lost every keypair while it was up.
void Device::mark_up(Peer& peer) {
  if (peer.up || !peer.current) return;
  peer.up = true;
  notify(DeviceEventKind::kPeerUp, &peer);
}

void Device::mark_down(Peer& peer, const char* why) {
  if (!peer.up) return;
  peer.up = false;
  notify(DeviceEventKind::kPeerDown, &peer, why);
}

uint64_t Device::wall_now_ns() const {
  return opts_.wall_clock.now_ns != nullptr ? opts_.wall_clock.now_ns(opts_.wall_clock.ctx)
                                            : realtime_ns();
}

// IndexTable's source of candidates: refuses the indices adopted from the
// dataplane, which the table itself does not hold (it cannot be told a given
// value). A run of refusals yields 0, which the table skips and redraws.
uint32_t Device::draw_index() {
  for (unsigned attempt = 0; attempt < 8; ++attempt) {
    const uint32_t candidate = opts_.index_rng ? opts_.index_rng() : randombytes_random();
    if (!reserved_indices_.contains(candidate)) return candidate;
  }
  return 0;
}

void Device::release_index(uint32_t index) {
  if (index == 0) return;
  if (!indices_.release(index)) reserved_indices_.erase(index);
}

// --- The keypair mirror (kernel noise.c add_new_keypair, received_with_keypair)

void Device::drop_keypair(std::optional<KeypairRecord>& slot) {
  if (slot) release_index(slot->local_index);
  slot.reset();
}

void Device::add_keypair(Peer& peer, const KeypairRecord& fresh) {
  if (fresh.we_initiated) {
    // The response confirmed it: usable at once. A pending next (never
    // confirmed) is kept as previous, since the peer may still send with it.
    if (peer.next) {
      drop_keypair(peer.previous);
      peer.previous = peer.next;
      peer.next.reset();
      drop_keypair(peer.current);
    } else {
      drop_keypair(peer.previous);
      peer.previous = peer.current;
      peer.current.reset();
    }
    peer.current = fresh;
  } else {
    // Responder: usable only once the initiator's first data arrives with it.
    drop_keypair(peer.next);
    peer.next = fresh;
    drop_keypair(peer.previous);
  }
}

void Device::confirm_next(Peer& peer, Nanos now) {
  drop_keypair(peer.previous);
  peer.previous = peer.current;
  peer.current = peer.next;
  peer.next.reset();
  peer.timers.on_keypair_first_used(now);
  // As the kernel's wg_timers_handshake_complete: the responder's handshake
  // counts as done when the initiator proved it has the keys.
  peer.last_handshake = now;
  peer.last_handshake_wall = wall_now_ns();
  ++stats_.keypairs_confirmed;
  mark_up(peer);
}

void Device::clear_keypairs(Peer& peer, Nanos now, Outbox& out, const char* why) {
  drop_keypair(peer.previous);
  drop_keypair(peer.current);
  drop_keypair(peer.next);
  push_command(out, shm::MessageKind::kCmdKeypairsClear, peer.slot, now);
  ++stats_.keypairs_cleared;
  mark_down(peer, why);
}

// Timers say a keypair reached kRejectAfterTime. The dataplane refuses a key
// that old per packet by itself, and the only command is "clear all": so
// clear only when nothing younger is left. An expired previous next to a
// fresh current (the normal state 60 s after a rekey) stays mirrored, its
// index reserved, until the next rotation drops it from both sides.
void Device::expire_keypairs(Peer& peer, Nanos now, Outbox& out) {
  auto dead = [now](const std::optional<KeypairRecord>& k) {
    return !k || k->birth + wire::kRejectAfterTime <= now;
  };
  if (dead(peer.previous) && dead(peer.current) && dead(peer.next)) {
    clear_keypairs(peer, now, out, "expired");
  }
}

// Zero key material (kernel wg_queued_expired_zero_key_material): keypairs
// and any handshake in flight.
void Device::wipe_peer(Peer& peer, Nanos now, Outbox& out) {
  clear_keypairs(peer, now, out, "keys wiped");
  peer.handshake->clear();
  release_index(peer.handshake_index);
  peer.handshake_index = 0;
}

// --- Timers -----------------------------------------------------------------

void Device::apply(Peer& peer, timers::Actions actions, Nanos now, Outbox& out, const char* why) {
  if (actions.none()) return;
  if (actions.has(Action::kWipeKeys)) {
    wipe_peer(peer, now, out);
  } else if (actions.has(Action::kExpireKeypairs)) {
    expire_keypairs(peer, now, out);
  }
  if (actions.has(Action::kGiveUp)) {
    push_command(out, shm::MessageKind::kCmdFlushStaged, peer.slot, now);
    notify(DeviceEventKind::kHandshakeGaveUp, &peer);
  }
  if (actions.has(Action::kSendInitiation)) send_initiation(peer, now, out, why);
  if (actions.has(Action::kSendKeepalive)) {
    push_command(out, shm::MessageKind::kCmdSendKeepalive, peer.slot, now);
  }
}

// A handshake wanted by the data path (staged packets, rekey limits): subject
// to the one-per-kRekeyTimeout rate (kernel
// wg_packet_send_queued_handshake_initiation with is_retry false).
void Device::request_handshake(Peer& peer, Nanos now, Outbox& out, const char* why) {
  if (peer.timers.should_send_initiation(now, /*is_retry=*/false)) {
    send_initiation(peer, now, out, why);
  }
}

void Device::tick(Nanos now, Outbox& out) {
  deadlines_changed();
  for (auto& peer : peers_) {
    if (!peer) continue;
    // A timer's initiation is a retry (the retransmit timer counted it) or
    // new_handshake's "sent data, heard nothing" (attempts restart at 0).
    const timers::Actions actions = peer->timers.poll(now);
    apply(*peer, actions, now, out, peer->timers.handshake_attempts() > 0 ? "retry" : "no reply");
  }
}

Nanos Device::next_deadline() const {
  if (deadline_stale_) {
    next_deadline_ = scan_deadlines();
    deadline_stale_ = false;
  }
  return next_deadline_;
}

Nanos Device::scan_deadlines() const {
  Nanos earliest = timers::kNever;
  for (const auto& peer : peers_) {
    if (peer) earliest = std::min(earliest, peer->timers.next_deadline());
  }
  return earliest;
}

void Device::force_rekey(uint32_t peer, Nanos now, Outbox& out) {
  deadlines_changed();
  Peer* p = live(peer);
  if (p == nullptr) return;
  // Called for its side effects: attempts restart and the send is recorded
  // for the rate limit. Its refusal is overridden: this is an explicit order.
  (void)p->timers.should_send_initiation(now, /*is_retry=*/false);
  send_initiation(*p, now, out, "forced");
}

// --- Install and adopt --------------------------------------------------------

void Device::install_peers(Nanos now, Outbox& out) {
  deadlines_changed();
  for (auto& peer : peers_) {
    if (peer) install_peer(*peer, now, out);
  }
}

void Device::adopt_keypair(std::optional<KeypairRecord>& slot,
                           const std::optional<AdoptedKeypair>& k) {
  drop_keypair(slot);
  if (!k || k->local_index == 0) return;
  slot = KeypairRecord{k->local_index, k->remote_index, k->birth_ns, k->we_initiated};
  // Held by the dataplane, so never handed out again while it lives there.
  if (!indices_.lookup(k->local_index)) reserved_indices_.insert(k->local_index);
}

void Device::adopt(uint32_t peer, const AdoptedPeer& state, Nanos now) {
  deadlines_changed();
  if (!peer_live(peer)) return;
  Peer& p = *peers_[peer];
  adopt_keypair(p.previous, state.previous);
  adopt_keypair(p.current, state.current);
  adopt_keypair(p.next, state.next);

  // Replay the derivations in the order they happened so that PeerTimers sees
  // the roles and birth times the dataplane has: current first (a responder's
  // current was once a next that got confirmed), then a pending next. Its
  // zero_key_material deadline follows the youngest derivation, as it would
  // have without the restart.
  p.timers.stop();
  if (p.current) {
    p.timers.on_session_derived(p.current->birth, p.current->we_initiated);
    if (!p.current->we_initiated) p.timers.on_keypair_first_used(now);
    p.last_handshake = p.current->birth;
    const Nanos age = now > p.current->birth ? now - p.current->birth : 0;
    const uint64_t wall = wall_now_ns();
    p.last_handshake_wall = wall > age ? wall - age : 0;
  }
  if (p.next) p.timers.on_session_derived(p.next->birth, false);
  p.up = p.current.has_value();  // adoption reports nothing: the session is not new

  if (detail::valid_family(state.endpoint)) {
    p.endpoint = state.endpoint;
    p.adopted_endpoint = true;
  }
}

void Device::adopt(uint32_t peer, const std::optional<AdoptedKeypair>& current, Nanos now) {
  AdoptedPeer state;
  state.current = current;
  adopt(peer, state, now);
}

// --- Events from the dataplane ----------------------------------------------

void Device::on_event(const shm::RingMessage& event, Nanos now, Outbox& out) {
  deadlines_changed();
  if (!peer_live(event.peer)) {
    count(DeviceDrop::kBadEvent);  // includes a removed peer's late events
    return;
  }
  Peer& peer = *peers_[event.peer];
  switch (event.kind) {
    case shm::MessageKind::kEventNeedHandshake:
      request_handshake(peer, now, out, "traffic");
      return;
    case shm::MessageKind::kEventRekeyWanted:
      request_handshake(peer, now, out, "rekey");
      return;
    case shm::MessageKind::kEventKeypairConfirmed: {
      if (event.length < sizeof(shm::EventKeypair)) break;
      shm::EventKeypair body;
      std::memcpy(&body, event.body, sizeof(body));
      if (peer.next && peer.next->local_index == body.local_index) {
        confirm_next(peer, now);
      } else {
        count(DeviceDrop::kStaleEvent);  // rotated out already, or a duplicate
      }
      return;
    }
    case shm::MessageKind::kEventEndpointChanged: {
      if (event.length < sizeof(shm::Endpoint)) break;
      shm::Endpoint endpoint;
      std::memcpy(&endpoint, event.body, sizeof(endpoint));
      if (!detail::valid_family(endpoint)) break;
      if (endpoint != peer.endpoint) {
        peer.endpoint = endpoint;
        notify(DeviceEventKind::kEndpointChanged, &peer);
      }
      return;
    }
    default:
      break;
  }
  count(DeviceDrop::kBadEvent);
}

// The data path cannot call timer hooks per packet; the glue polls the
// per-peer counters and the deltas stand for the packets (kernel call order,
// timers.hpp: traversal, sent, data_sent / received, traversal, data_received).
void Device::on_traffic(uint32_t peer, const PeerTraffic& t, Nanos now, Outbox& out) {
  deadlines_changed();
  if (!peer_live(peer)) return;
  Peer& p = *peers_[peer];
  if (!p.traffic || t.rx_packets < p.traffic->rx_packets || t.tx_packets < p.traffic->tx_packets) {
    p.traffic = t;
    return;
  }
  const PeerTraffic prev = *p.traffic;
  p.traffic = t;
  if (t.tx_packets > prev.tx_packets) {
    p.timers.on_authenticated_packet_traversal(now);
    p.timers.on_authenticated_packet_sent(now);
    const bool only_keepalives = t.last_tx_data_ns == prev.last_tx_data_ns;
    apply(p, p.timers.on_data_sent(now, t.current_send_counter, only_keepalives), now, out,
          "rekey");
  }
  if (t.rx_packets > prev.rx_packets) {
    p.timers.on_authenticated_packet_received(now);
    p.timers.on_authenticated_packet_traversal(now);
    const bool only_keepalives = t.last_rx_data_ns == prev.last_rx_data_ns;
    apply(p, p.timers.on_data_received(now, only_keepalives), now, out, "rekey");
  }
}

// --- Views ------------------------------------------------------------------

std::optional<uint32_t> Device::find_peer(const crypto::PublicKey& public_key) const {
  const auto it = by_public_key_.find(public_key);
  if (it == by_public_key_.end()) return std::nullopt;
  return it->second;
}

PeerView Device::peer_view(uint32_t peer) const {
  PeerView v;
  if (!peer_live(peer)) return v;
  const Peer& p = *peers_[peer];
  v.live = true;
  v.name = p.name;
  v.public_key = p.public_key;
  v.endpoint = p.endpoint;
  v.has_current = p.current.has_value();
  v.current_local_index = p.current ? p.current->local_index : 0;
  v.has_next = p.next.has_value();
  v.next_local_index = p.next ? p.next->local_index : 0;
  v.has_previous = p.previous.has_value();
  v.handshake_in_flight = p.handshake_index != 0;
  v.last_handshake_ns = p.last_handshake;
  v.last_handshake_wall_ns = p.last_handshake_wall;
  v.handshake_attempts = p.timers.handshake_attempts();
  v.persistent_keepalive = p.persistent_keepalive;
  v.allowed_ips = p.allowed_ips;
  v.has_preshared_key = p.preshared_key.has_value();
  return v;
}

std::optional<crypto::Key> Device::preshared_key(uint32_t peer) const {
  const Peer* p = live(peer);
  if (p == nullptr || !p->preshared_key) return std::nullopt;
  return p->preshared_key->clone();
}

const crypto::PrivateKey& Device::private_key() const noexcept {
  return identity_.private_key;
}

}  // namespace wirespeed::controlplane::device
