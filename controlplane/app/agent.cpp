// The control plane's loop (see agent.hpp). One thread of the secondary.
#include "controlplane/app/agent.hpp"

#include <rte_eal.h>
#include <rte_ring.h>
#include <sodium.h>

#include <cstring>

#include "controlplane/app/attach.hpp"
#include "controlplane/app/log.hpp"
#include "controlplane/app/status.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/tables/neighbours.hpp"

namespace wirespeed::controlplane::app {

namespace shm = dataplane::shm;
namespace net = dataplane::net;

namespace {

constexpr uint64_t kMs = 1000 * 1000;
constexpr uint64_t kTrafficPollInterval = 100 * kMs;
constexpr uint64_t kResolveInterval = 1000 * kMs;       // per address, at most
constexpr uint64_t kRefreshInterval = 30 * 1000 * kMs;  // re-ask for the outer next hops
// A dataplane that exits (killed, crashed) drops its EAL lock at once:
// checked every kLivenessInterval, it is noticed within that. The heartbeat
// only catches a main lcore that hangs while its process lives (stopped,
// deadlocked, spinning); heartbeat.hpp tells that from one a loaded machine
// has not scheduled.
constexpr uint64_t kLivenessInterval = 50 * kMs;
// Commands waiting for room in the command ring. Start-up queues a whole
// configuration at once (a peer set, maybe an endpoint, and the allowed IPs
// of every peer): 4096 silently dropped the tail of a 10,000-peer one. This
// holds a peer set, an endpoint and two prefixes for every slot; the memory
// (2 KiB a message) is only taken while the dataplane catches up.
constexpr unsigned kBacklogMax = 4 * shm::kMaxPeers + 4096;
constexpr unsigned kPollBurst = 32;
// Punted messages handled per pass of the loop. A flood is drained at the
// rate the control plane can answer it (a cookie reply costs a few µs, a
// rejected initiation one X25519, ~50 µs), not one burst per loop; the
// budget bounds how long UAPI and timers wait behind it (~13 ms worst case).
constexpr unsigned kPuntBudget = 256;
// Addresses with an ARP/ND request in flight, per port. Neighbour misses
// come from peers' endpoints and the gateway, a bounded set; past this many
// the stale ones are forgotten first, and new ones wait for room.
constexpr size_t kResolvingMax = 1024;
// A port's neighbour table never forgets an entry, and any host on the link
// can send ARP/ND from forged sources: what we did not ask about is only
// learnt while the table is less than half full (Agent::learn).
constexpr uint32_t kUnaskedNeighboursMax = shm::kNeighbourSlots / 2;
constexpr size_t kOutboxKeep = 256;  // messages the outbox keeps room for between bursts

net::IpAddr endpoint_ip(const shm::Endpoint& e) {
  net::IpAddr a;
  a.family = e.family;
  std::memcpy(a.bytes.data(), e.addr, 16);
  return a;
}

std::optional<device::AdoptedKeypair> adopt_keypair(const shm::StateZone& zone, int32_t slot) {
  if (slot < 0 || static_cast<uint32_t>(slot) >= shm::kMaxKeypairs) return std::nullopt;
  const shm::KeypairSlot& kp = zone.keypairs[slot];
  if (kp.state.load(std::memory_order_acquire) != shm::SlotState::kLive) return std::nullopt;
  device::AdoptedKeypair a;
  a.local_index = kp.local_index;
  a.remote_index = kp.remote_index;
  a.birth_ns = kp.birth_ns;
  a.we_initiated = kp.we_initiated != 0;
  a.send_counter = kp.send_counter.load(std::memory_order_relaxed);
  return a;
}

}  // namespace

Agent::Agent(config::Config cfg, shm::SharedState& state)
    : cfg_(std::move(cfg)), state_(state), listen_port_(cfg_.listen_port) {
  const shm::StateHeader& header = state_.zone().header;
  const config::PortConfig* port_cfg[shm::kPortCount] = {&cfg_.outer, &cfg_.inner};
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    PortState& ps = ports_[p];
    ps.mac = net::MacAddress::from(header.ports[p].mac);
    for (const config::InterfaceAddress& ia : port_cfg[p]->address) {
      ps.addresses.push_back(dataplane::app::to_net(ia.address));
      ps.prefixes.emplace_back(dataplane::app::to_net(ia.address), ia.prefix_length);
    }
    if (port_cfg[p]->gateway) ps.gateway = dataplane::app::to_net(*port_cfg[p]->gateway);
  }
  outbox_.reserve(kOutboxKeep);
}

unsigned Agent::start(uint64_t now_ns) {
  shm::StateZone& zone = state_.zone();
  unsigned adopted = 0;
  for (uint32_t i = 0; i < device_->peer_count(); ++i) {
    const shm::PeerSlot& slot = zone.peers[i];
    const device::PeerView view = device_->peer_view(i);
    if (!view.live || slot.state.load(std::memory_order_acquire) != shm::PeerState::kActive ||
        std::memcmp(slot.public_key, view.public_key.data(), 32) != 0) {
      continue;
    }
    if (bases_.size() <= i) bases_.resize(i + 1);
    bases_[i] = SlotBase{true, view.public_key, 0, 0, 0};  // its counters are its own
    device::AdoptedPeer peer;
    peer.current = adopt_keypair(zone, slot.current.load(std::memory_order_acquire));
    peer.previous = adopt_keypair(zone, slot.previous.load(std::memory_order_acquire));
    peer.next = adopt_keypair(zone, slot.next.load(std::memory_order_acquire));
    peer.endpoint = shm::read_endpoint(slot);
    device_->adopt(i, peer, now_ns);
    if (peer.current) ++adopted;
  }
  // Slots the Device does not use belong to a config of the past (or to
  // peers `wg set` added before this process restarted).
  for (uint32_t i = 0; i < shm::kMaxPeers; ++i) {
    if (device_->peer_live(i)) continue;
    if (zone.peers[i].state.load(std::memory_order_acquire) == shm::PeerState::kActive) {
      shm::RingMessage& m = outbox_.emplace_back();
      m.kind = shm::MessageKind::kCmdPeerRemove;
      m.peer = i;
      m.timestamp_ns = now_ns;
    }
  }
  device_->install_peers(now_ns, outbox_);
  rebase_new_peers(0);
  refresh_labels();
  // A listen port set at runtime before a control-plane restart is the
  // config's again: the YAML is what this process was started with.
  if (zone.header.listen_port.load(std::memory_order_relaxed) != listen_port_) {
    set_listen_port(listen_port_, now_ns);
  }

  // Ask for the outer next hops we will need before the first packet does.
  const unsigned outer = static_cast<unsigned>(shm::PortRole::kOuter);
  if (ports_[outer].gateway.family != 0) resolve(outer, ports_[outer].gateway, now_ns);
  for (const config::PeerConfig& p : cfg_.peers) {
    if (!p.endpoint) continue;
    const net::IpAddr ip = dataplane::app::to_net(p.endpoint->address);
    if (on_link(outer, ip)) resolve(outer, ip, now_ns);
  }
  next_resolve_ns_ = now_ns + kRefreshInterval;
  send_commands();
  return adopted;
}

bool Agent::poll(uint64_t now_ns, const char** why) {
  shm::StateZone& zone = state_.zone();
  if (now_ns >= next_liveness_ns_) {
    next_liveness_ns_ = now_ns + kLivenessInterval;
    // Ask EAL, which knows the runtime directory it attached through. A
    // process that is its own primary (unit tests) has nobody to lose.
    const bool secondary = rte_eal_process_type() == RTE_PROC_SECONDARY;
    if ((secondary && rte_eal_primary_proc_alive(nullptr) == 0) ||
        !process_running(zone.header.dataplane_pid)) {
      *why = "the dataplane has exited";
      return false;
    }
    const uint64_t beat = zone.header.heartbeat_ns.load(std::memory_order_acquire);
    if (beat == 0) {  // its way of saying so before it frees the shared memory
      *why = "the dataplane is stopping";
      return false;
    }
    const pid_t pid = static_cast<pid_t>(zone.header.dataplane_pid);
    if (!heartbeat_.alive(
            now_ns, beat, [pid] { return sample_thread(pid, pid); }, why)) {
      return false;
    }
    for (unsigned p = 0; p < shm::kPortCount; ++p) {
      neighbours_used_[p] = dataplane::tables::neighbour_count(zone.neighbours[p]);
    }
    if (heartbeat_.starvation_began()) {
      log(LogLevel::kWarning,
          "the dataplane's main lcore has not run its loop for %llu ms and is waiting for a CPU; "
          "waiting with it (is the machine overloaded?)",
          static_cast<unsigned long long>((now_ns - beat) / kMs));
    }
  }

  static thread_local shm::RingMessage batch[kPollBurst];
  // Under load (design-brief §4, kernel receive.c): the punt ring, our
  // handshake queue, is 1/8 full, or was within the last second.
  const bool under_load = under_load_.update(rte_ring_count(state_.punt()), shm::kRingSize, now_ns);
  if (under_load) ++counters_.punt_polls_under_load;
  unsigned n = 0;
  for (unsigned handled = 0; handled < kPuntBudget; handled += n) {
    n = rte_ring_dequeue_burst_elem(state_.punt(), batch, sizeof(shm::RingMessage), kPollBurst,
                                    nullptr);
    for (unsigned i = 0; i < n; ++i) handle_punt(batch[i], under_load, now_ns);
    counters_.punt_messages += n;
    if (n < kPollBurst) break;
    send_commands();  // keep the outbox to one burst's worth
  }
  n = rte_ring_dequeue_burst_elem(state_.events(), batch, sizeof(shm::RingMessage), kPollBurst,
                                  nullptr);
  for (unsigned i = 0; i < n; ++i) handle_event(batch[i], now_ns);

  if (now_ns >= next_traffic_poll_ns_) {
    poll_traffic(now_ns);
    next_traffic_poll_ns_ = now_ns + kTrafficPollInterval;
  }
  if (now_ns >= device_->next_deadline()) device_->tick(now_ns, outbox_);
  if (uapi_) {
    std::string message;
    uapi_->poll(*this, now_ns, &message);
    if (!message.empty()) log(LogLevel::kWarning, "uapi: %s", message.c_str());
  }
  if (metrics_) metrics_->poll([this, now_ns] { return render_metrics(now_ns); });
  if (now_ns >= next_resolve_ns_) {
    const unsigned outer = static_cast<unsigned>(shm::PortRole::kOuter);
    if (ports_[outer].gateway.family != 0) resolve(outer, ports_[outer].gateway, now_ns);
    next_resolve_ns_ = now_ns + kRefreshInterval;
  }
  send_commands();
  publish_controlplane_counters(device_->stats(), counters_, zone.controlplane_counters);
  return true;
}

void Agent::force_rekey_all(uint64_t now_ns) {
  for (uint32_t i = 0; i < device_->peer_count(); ++i) {
    if (device_->peer_live(i)) device_->force_rekey(i, now_ns, outbox_);
  }
  send_commands();
}

void Agent::handle_punt(const shm::RingMessage& msg, bool under_load, uint64_t now_ns) {
  const unsigned port = msg.port;
  if (port >= shm::kPortCount || msg.length > shm::kRingBodyMax) return;
  const std::span<const uint8_t> frame(msg.body, msg.length);
  const net::FrameView v = net::parse_frame(frame);
  const bool udp = v.kind == net::FrameKind::kIpv4Udp || v.kind == net::FrameKind::kIpv6Udp;
  if (port == static_cast<unsigned>(shm::PortRole::kOuter) && udp && v.dst_port == listen_port_) {
    shm::Endpoint from;
    from.family = v.src.family;
    from.port = v.src_port;
    std::memcpy(from.addr, v.src.bytes.data(), 16);
    const size_t first = outbox_.size();
    device_->on_handshake_datagram(frame.subspan(v.payload_offset, v.payload_len), from, under_load,
                                   now_ns, outbox_);
    answer_cookie_replies(first, v, now_ns);
    learn_from_handshake(outbox_, first, v.eth_src);
    return;
  }
  PortState& ps = ports_[port];
  const net::LocalAddresses local{ps.mac, ps.addresses, true};
  if (const auto learnt = net::learn_neighbor(frame, v, local)) learn(port, *learnt);
  uint8_t reply[shm::kRingBodyMax];
  transmit_frame(port, reply, net::answer(frame, v, local, reply), now_ns);
}

// A cookie reply answers a message nobody has authenticated, from a source
// address anyone can forge. Sent as kCmdTransmitUdp it would need the
// source's MAC in the dataplane's neighbour table: learnt from the frame it
// would fill that table (whose entries are never removed) with a flood's
// forged addresses, and not learnt it would make the dataplane report a
// neighbour miss and us send an ARP/ND request per forged address. So it
// goes back as a whole frame to the link-layer source of the frame that
// asked, from the address that frame was sent to, touching no table: what
// any host answering on its link does. The reply's UDP ports mirror the
// request's.
void Agent::answer_cookie_replies(size_t first, const net::FrameView& asked, uint64_t now_ns) {
  const unsigned outer = static_cast<unsigned>(shm::PortRole::kOuter);
  for (size_t i = first; i < outbox_.size(); ++i) {
    shm::RingMessage& m = outbox_[i];
    if (m.kind != shm::MessageKind::kCmdTransmitUdp || m.peer != shm::kNoPeer ||
        m.length < sizeof(shm::CmdTransmitUdp)) {
      continue;
    }
    shm::CmdTransmitUdp t;
    std::memcpy(&t, m.body, sizeof(t));
    uint8_t frame[14 + 40 + 8 + sizeof(t.payload)];  // Ethernet + IPv6 + UDP at most
    const size_t header = net::outer_header_len(asked.dst.family);
    if (header == 0 || t.payload_len > sizeof(t.payload) || !asked.eth_src.is_unicast() ||
        net::write_outer_headers(frame, ports_[outer].mac, asked.eth_src, asked.dst, asked.src,
                                 asked.dst_port, asked.src_port, t.payload, t.payload_len, 0,
                                 /*udp_checksum=*/true) != header) {
      m.kind = shm::MessageKind::kCmdTransmitFrame;
      m.length = 0;  // send_commands drops empty frames
      continue;
    }
    std::memcpy(frame + header, t.payload, t.payload_len);
    m = shm::RingMessage{};
    m.kind = shm::MessageKind::kCmdTransmitFrame;
    m.port = static_cast<uint8_t>(outer);
    m.peer = shm::kNoPeer;
    m.timestamp_ns = now_ns;
    m.length = static_cast<uint16_t>(header + t.payload_len);
    std::memcpy(m.body, frame, m.length);
  }
}

void Agent::transmit_frame(unsigned port, const uint8_t* frame, size_t len, uint64_t now_ns) {
  if (len == 0 || len > shm::kRingBodyMax) return;
  shm::RingMessage& m = outbox_.emplace_back();
  m.kind = shm::MessageKind::kCmdTransmitFrame;
  m.port = static_cast<uint8_t>(port);
  m.length = static_cast<uint16_t>(len);
  m.timestamp_ns = now_ns;
  std::memcpy(m.body, frame, len);
}

// A handshake that authenticates makes the Device set the peer's endpoint
// and answer it; the frame it came in tells us the next hop's MAC. The
// neighbour commands must reach the dataplane before the answer does, so
// they are inserted in front of what the Device produced.
void Agent::learn_from_handshake(const device::Outbox& produced, size_t first,
                                 const net::MacAddress& src_mac) {
  std::vector<shm::RingMessage> learnt;
  for (size_t i = first; i < produced.size(); ++i) {
    const shm::RingMessage& m = produced[i];
    shm::Endpoint e{};
    if (m.kind == shm::MessageKind::kCmdEndpointSet && m.length >= sizeof(shm::Endpoint)) {
      std::memcpy(&e, m.body, sizeof(e));
    } else if (m.kind == shm::MessageKind::kCmdTransmitUdp && m.length >= sizeof(shm::Endpoint)) {
      std::memcpy(&e, m.body, sizeof(e));  // CmdTransmitUdp starts with its destination
    }
    if (e.family != 4 && e.family != 6) continue;
    const net::IpAddr hop = next_hop(e);
    shm::CmdNeighbourSet body{};
    body.family = hop.family;
    std::memcpy(body.mac, src_mac.bytes.data(), 6);
    std::memcpy(body.addr, hop.bytes.data(), 16);
    shm::RingMessage& n = learnt.emplace_back();
    n.kind = shm::MessageKind::kCmdNeighbourSet;
    n.port = static_cast<uint8_t>(shm::PortRole::kOuter);
    n.length = sizeof(body);
    std::memcpy(n.body, &body, sizeof(body));
    break;  // one datagram, one source: once is enough
  }
  if (!learnt.empty() && src_mac.is_unicast()) {
    outbox_.insert(outbox_.begin() + static_cast<std::ptrdiff_t>(first), learnt.begin(),
                   learnt.end());
  }
}

void Agent::handle_event(const shm::RingMessage& msg, uint64_t now_ns) {
  // About a peer that has since left its slot to another: not this one's.
  if (msg.kind != shm::MessageKind::kEventNeighbourMiss && msg.peer < bases_.size() &&
      msg.timestamp_ns < bases_[msg.peer].since_ns) {
    return;
  }
  switch (msg.kind) {
    case shm::MessageKind::kEventNeighbourMiss: {
      if (msg.length < sizeof(shm::EventNeighbour) || msg.port >= shm::kPortCount) return;
      shm::EventNeighbour body;
      std::memcpy(&body, msg.body, sizeof(body));
      net::IpAddr ip;
      ip.family = body.family;
      std::memcpy(ip.bytes.data(), body.addr, 16);
      resolve(msg.port, ip, now_ns);
      return;
    }
    case shm::MessageKind::kEventEndpointChanged:
      if (msg.length >= sizeof(shm::EventEndpoint)) {
        shm::EventEndpoint body;
        std::memcpy(&body, msg.body, sizeof(body));
        const net::MacAddress mac = net::MacAddress::from(body.mac);
        if (mac.is_unicast()) {
          set_neighbour(static_cast<unsigned>(shm::PortRole::kOuter), next_hop(body.endpoint), mac);
        }
      }
      device_->on_event(msg, now_ns, outbox_);
      return;
    default:
      device_->on_event(msg, now_ns, outbox_);
      return;
  }
}

void Agent::poll_traffic(uint64_t now_ns) {
  for (uint32_t i = 0; i < device_->peer_count(); ++i) {
    if (device_->peer_live(i)) device_->on_traffic(i, traffic(i), now_ns, outbox_);
  }
}

bool Agent::on_link(unsigned port, const net::IpAddr& ip) const {
  if (ip.family == 6 && ip.bytes[0] == 0xfe && (ip.bytes[1] & 0xc0) == 0x80) return true;
  for (const auto& [addr, len] : ports_[port].prefixes) {
    if (net::same_prefix(addr, ip, len)) return true;
  }
  return false;
}

net::IpAddr Agent::next_hop(const shm::Endpoint& endpoint) const {
  const net::IpAddr ip = endpoint_ip(endpoint);
  const unsigned outer = static_cast<unsigned>(shm::PortRole::kOuter);
  const net::IpAddr& gw = ports_[outer].gateway;
  if (on_link(outer, ip) || gw.family != ip.family) return ip;
  return gw;
}

void Agent::resolve(unsigned port, const net::IpAddr& ip, uint64_t now_ns) {
  if (ip.family != 4 && ip.family != 6) return;
  auto& pending = resolving_[port];
  if (pending.size() >= kResolvingMax && pending.find(ip) == pending.end()) {
    std::erase_if(pending,
                  [now_ns](const auto& kv) { return now_ns - kv.second >= kResolveInterval; });
    if (pending.size() >= kResolvingMax) {
      ++counters_.neighbour_requests_suppressed;
      return;
    }
  }
  auto [it, fresh] = pending.try_emplace(ip, 0);
  if (!fresh && now_ns - it->second < kResolveInterval) return;
  it->second = now_ns;
  const PortState& ps = ports_[port];
  const net::IpAddr* source = nullptr;
  for (const net::IpAddr& a : ps.addresses) {
    if (a.family == ip.family) {
      source = &a;
      break;
    }
  }
  if (source == nullptr) return;
  uint8_t frame[128];
  const size_t len = ip.family == 4 ? net::build_arp_request(frame, ps.mac, *source, ip)
                                    : net::build_neighbor_solicitation(frame, ps.mac, *source, ip);
  transmit_frame(port, frame, len, now_ns);
  ++counters_.neighbour_requests;
}

// A neighbour's MAC from ARP/ND. Always learnt when we asked for it (a next
// hop the dataplane missed) or already know the address (a new MAC for it).
// A host that only asked for us is learnt too, as RFC 826 and Linux do, since
// it will likely talk to us next, but only while the port's table is under
// half full: forged sources may take half of it, never the slots the next
// hops we need come to.
void Agent::learn(unsigned port, const net::Neighbor& n) {
  const bool asked = resolving_[port].erase(n.ip) > 0;
  const bool known = dataplane::tables::neighbour_lookup(state_.zone().neighbours[port],
                                                         n.ip.family, n.ip.bytes.data())
                         .has_value();
  if (!asked && !known) {
    if (neighbours_used_[port] >= kUnaskedNeighboursMax) {
      ++counters_.neighbours_not_learnt;
      return;
    }
    ++neighbours_used_[port];  // until the next count, which sees it applied
  }
  set_neighbour(port, n.ip, n.mac);
}

void Agent::set_neighbour(unsigned port, const net::IpAddr& ip, const net::MacAddress& mac) {
  shm::CmdNeighbourSet body{};
  body.family = ip.family;
  std::memcpy(body.mac, mac.bytes.data(), 6);
  std::memcpy(body.addr, ip.bytes.data(), 16);
  shm::RingMessage& m = outbox_.emplace_back();
  m.kind = shm::MessageKind::kCmdNeighbourSet;
  m.port = static_cast<uint8_t>(port);
  m.length = sizeof(body);
  std::memcpy(m.body, &body, sizeof(body));
}

// Commands keep their order; the ones the ring has no room for wait in the
// backlog. Frames (cookie replies, ARP/ND and echo answers, ARP requests)
// are best effort: they never wait, so that a flood's cookie replies cannot
// push the keypairs and endpoints of real handshakes out of a full backlog.
// A frame dropped here is counted; its sender retries (a peer's handshake
// timer, our own next neighbour miss).
void Agent::send_commands() {
  while (!backlog_.empty()) {
    if (!shm::ring_put(state_.commands(), backlog_.front())) break;
    sodium_memzero(&backlog_.front(), sizeof(shm::RingMessage));  // keypair installs carry keys
    backlog_.pop_front();
  }
  for (shm::RingMessage& m : outbox_) {
    const bool frame = m.kind == shm::MessageKind::kCmdTransmitFrame;
    if (frame && m.length == 0) continue;
    if (backlog_.empty() && shm::ring_put(state_.commands(), m)) continue;
    if (frame) {
      ++counters_.frames_dropped;
    } else if (backlog_.size() >= kBacklogMax) {
      ++counters_.commands_dropped;  // the dataplane is not consuming: keep the oldest
    } else {
      backlog_.push_back(m);
    }
  }
  device::wipe_outbox(outbox_);
  outbox_.clear();
  // A whole configuration (start-up, reload) is a burst of thousands of
  // 2 KiB messages: once it is through, give the outbox's memory back
  // instead of keeping tens of MiB for the usual handful.
  if (backlog_.empty() && outbox_.capacity() > kOutboxKeep) {
    device::Outbox().swap(outbox_);
    outbox_.reserve(kOutboxKeep);
  }
}

}  // namespace wirespeed::controlplane::app
