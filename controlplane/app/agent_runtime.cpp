// The Agent's operator-facing side (see agent.hpp): construction, the UAPI
// backend `wg` talks to, SIGHUP reload, the metrics page and the log lines
// the Device's events become. Control-plane main thread.
#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "controlplane/app/agent.hpp"
#include "controlplane/app/log.hpp"
#include "controlplane/app/status.hpp"
#include "controlplane/crypto/x25519.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/shm/snapshot.hpp"

namespace wirespeed::controlplane::app {

namespace shm = dataplane::shm;

namespace {

bool same_address(const config::IpAddress& a, const config::IpAddress& b) {
  return a.family == b.family && a.bytes == b.bytes;
}

bool same_port(const config::PortConfig& a, const config::PortConfig& b) {
  if (a.port != b.port || a.queues != b.queues || a.address.size() != b.address.size() ||
      a.gateway.has_value() != b.gateway.has_value()) {
    return false;
  }
  if (a.gateway && !same_address(*a.gateway, *b.gateway)) return false;
  for (size_t i = 0; i < a.address.size(); ++i) {
    if (!same_address(a.address[i].address, b.address[i].address) ||
        a.address[i].prefix_length != b.address[i].prefix_length) {
      return false;
    }
  }
  return true;
}

// What only a dataplane restart can change: the field's name, or null.
const char* restart_only_change(const config::Config& now, const config::Config& next) {
  if (now.name != next.name) return "interface.name";
  if (now.mtu != next.mtu) return "interface.mtu";
  if (now.file_prefix != next.file_prefix) return "dataplane.file_prefix";
  if (now.eal != next.eal) return "dataplane.eal";
  if (now.workers != next.workers) return "dataplane.workers";
  if (!same_port(now.outer, next.outer)) return "dataplane.outer";
  if (!same_port(now.inner, next.inner)) return "dataplane.inner";
  return nullptr;
}

const char* handshake_role(bool as_initiator) {
  return as_initiator ? "initiator" : "responder";
}

}  // namespace

Result<std::unique_ptr<Agent>> Agent::create(config::Config cfg, shm::SharedState& state,
                                             const uapi::ServerOptions& uapi_options) {
  set_log_level(cfg.log_level);
  std::unique_ptr<Agent> agent(new Agent(std::move(cfg), state));
  device::DeviceOptions opts;
  opts.events = device::EventSink{&Agent::on_device_event, agent.get()};
  auto dev = device::Device::create(agent->cfg_, std::move(opts));
  if (!dev) return dev.error();
  agent->device_ = std::move(*dev);
  auto server = uapi::Server::listen(agent->cfg_.name, uapi_options);
  if (!server) return server.error();
  agent->uapi_ = std::move(*server);
  if (agent->cfg_.metrics_port != 0) {
    auto opened = agent->open_metrics(agent->cfg_.metrics_port);
    if (!opened) return opened.error();
  }
  return agent;
}

// Commands not yet handed to the dataplane may be keypair installs.
Agent::~Agent() {
  device::wipe_outbox(outbox_);
  for (shm::RingMessage& m : backlog_) sodium_memzero(&m, sizeof(m));
}

const std::string& Agent::uapi_path() const noexcept {
  return uapi_->path();
}

Result<void> Agent::open_metrics(uint16_t port) {
  auto server = MetricsServer::listen(port);
  if (!server) return server.error();
  metrics_ = std::move(*server);
  log(LogLevel::kInfo, "metrics on http://127.0.0.1:%u/metrics", port);
  return ok_result();
}

// --- peers as the log and the counters see them -----------------------------

std::string Agent::label(uint32_t peer) const {
  if (device_ && device_->peer_live(peer)) {
    const device::PeerView v = device_->peer_view(peer);
    return peer_label(v.name, v.public_key.data());
  }
  if (peer < labels_.size() && !labels_[peer].empty()) return labels_[peer];
  return "slot " + std::to_string(peer);
}

void Agent::refresh_labels() {
  labels_.assign(device_->peer_count(), std::string());
  for (uint32_t i = 0; i < device_->peer_count(); ++i) {
    if (device_->peer_live(i)) labels_[i] = label(i);
  }
}

device::PeerTraffic Agent::traffic(uint32_t peer) const {
  const shm::StateZone& zone = state_.zone();
  const unsigned rows = std::min<unsigned>(zone.header.worker_count + 1, shm::kCounterRows);
  device::PeerTraffic t;
  for (unsigned r = 0; r < rows; ++r) {
    const shm::PeerCounters& c = zone.peer_counters[r][peer];
    t.rx_packets += c.rx_packets.get();
    t.tx_packets += c.tx_packets.get();
    t.last_rx_ns = std::max(t.last_rx_ns, c.last_rx_ns.get());
    t.last_rx_data_ns = std::max(t.last_rx_data_ns, c.last_rx_data_ns.get());
    t.last_tx_ns = std::max(t.last_tx_ns, c.last_tx_ns.get());
    t.last_tx_data_ns = std::max(t.last_tx_data_ns, c.last_tx_data_ns.get());
  }
  const int32_t current = zone.peers[peer].current.load(std::memory_order_acquire);
  if (current >= 0 && static_cast<uint32_t>(current) < shm::kMaxKeypairs) {
    t.current_send_counter = zone.keypairs[current].send_counter.load(std::memory_order_relaxed);
  }
  return t;
}

uint64_t Agent::peer_bytes(uint32_t peer, bool rx) const {
  const shm::StateZone& zone = state_.zone();
  const unsigned rows = std::min<unsigned>(zone.header.worker_count + 1, shm::kCounterRows);
  uint64_t sum = 0;
  for (unsigned r = 0; r < rows; ++r) {
    const shm::PeerCounters& c = zone.peer_counters[r][peer];
    sum += rx ? c.rx_bytes.get() : c.tx_bytes.get();
  }
  return sum;
}

void Agent::on_device_event(void* ctx, const device::DeviceEvent& e) {
  Agent& a = *static_cast<Agent*>(ctx);
  using K = device::DeviceEventKind;
  if (e.kind == K::kPrivateKeyChanged) {
    const std::string pub = key_base64(a.device_->public_key().data());
    log(LogLevel::kWarning, "private key changed: public key now %s; every session restarts",
        pub.c_str());
    return;
  }
  const std::string who = a.label(e.peer);
  switch (e.kind) {
    case K::kPeerAdded:
      log(LogLevel::kInfo, "peer %s added", who.c_str());
      break;
    case K::kPeerRemoved:
      log(LogLevel::kInfo, "peer %s removed", who.c_str());
      break;
    case K::kPeerChanged:
      log(LogLevel::kInfo, "peer %s: %s changed", who.c_str(), e.detail);
      break;
    case K::kHandshakeInitiated:
      log(LogLevel::kDebug, "peer %s: handshake initiation sent (%s)", who.c_str(), e.detail);
      break;
    case K::kHandshakeComplete:
      log(LogLevel::kInfo, "peer %s: handshake complete as %s, endpoint %s", who.c_str(),
          handshake_role(e.as_initiator), endpoint_text(e.endpoint).c_str());
      break;
    case K::kPeerUp:
      log(LogLevel::kInfo, "peer %s up", who.c_str());
      break;
    case K::kPeerDown:
      log(LogLevel::kInfo, "peer %s down (%s)", who.c_str(), e.detail);
      break;
    case K::kHandshakeGaveUp:
      log(LogLevel::kWarning, "peer %s: no handshake response; giving up until new traffic",
          who.c_str());
      break;
    case K::kEndpointChanged:
      log(LogLevel::kInfo, "peer %s roamed to %s", who.c_str(), endpoint_text(e.endpoint).c_str());
      break;
    case K::kPrivateKeyChanged:
      break;
  }
}

// --- UAPI -------------------------------------------------------------------

uapi::DeviceInfo Agent::get() {
  const shm::StateZone& zone = state_.zone();
  uapi::DeviceInfo info;
  info.private_key = &device_->private_key();
  info.listen_port = listen_port_;
  for (uint32_t i = 0; i < device_->peer_count(); ++i) {
    if (!device_->peer_live(i)) continue;
    const device::PeerView v = device_->peer_view(i);
    uapi::PeerInfo& p = info.peers.emplace_back();
    p.public_key = v.public_key;
    p.preshared_key = device_->preshared_key(i);
    // The dataplane's endpoint is the live one (roaming moves it there).
    const shm::PeerSlot& slot = zone.peers[i];
    p.endpoint = v.endpoint;
    if (slot.state.load(std::memory_order_acquire) == shm::PeerState::kActive &&
        std::memcmp(slot.public_key, v.public_key.data(), 32) == 0) {
      const shm::Endpoint live = shm::read_endpoint(slot);
      if (live.family != 0) p.endpoint = live;
    }
    p.last_handshake_unix_ns = v.last_handshake_wall_ns;
    const uint64_t rx = peer_bytes(i, true), tx = peer_bytes(i, false);
    const SlotBase& base = i < bases_.size() ? bases_[i] : SlotBase{};
    p.rx_bytes = rx >= base.rx_bytes ? rx - base.rx_bytes : rx;
    p.tx_bytes = tx >= base.tx_bytes ? tx - base.tx_bytes : tx;
    p.persistent_keepalive = v.persistent_keepalive;
    p.allowed_ips = v.allowed_ips;
  }
  return info;
}

// One peer of a set request, as the kernel's set_peer does it. `reset`: the
// request replaces every peer (replace_peers), so an existing peer's fields
// not named in the request go back to their defaults — its sessions stay.
int Agent::apply_peer(const uapi::PeerChange& c, bool reset, uint64_t now_ns) {
  if (c.public_key == device_->public_key()) return 0;  // the kernel skips it silently
  const std::optional<uint32_t> found = device_->find_peer(c.public_key);
  if (c.remove) {
    if (found) device_->remove_peer(*found, now_ns, outbox_);
    return 0;
  }
  if (!found) {
    if (c.update_only) return 0;
    config::PeerConfig pc;
    pc.public_key = c.public_key;
    if (c.preshared_key && !sodium_is_zero(c.preshared_key->data(), 32)) {
      pc.preshared_key = c.preshared_key->clone();
    }
    pc.endpoint = c.endpoint;
    pc.allowed_ips = c.allowed_ips;
    pc.persistent_keepalive = c.persistent_keepalive.value_or(0);
    auto added = device_->add_peer(pc, now_ns, outbox_);
    if (!added) return added.error().code == Errc::kExhausted ? ENOSPC : EINVAL;
    return 0;
  }
  const uint32_t slot = *found;
  if (c.preshared_key) {
    std::optional<crypto::Key> key;
    if (!sodium_is_zero(c.preshared_key->data(), 32)) key = c.preshared_key->clone();
    device_->set_preshared_key(slot, key, now_ns);
  } else if (reset && device_->peer_view(slot).has_preshared_key) {
    device_->set_preshared_key(slot, std::nullopt, now_ns);
  }
  if (c.endpoint) device_->set_endpoint(slot, *c.endpoint, now_ns, outbox_);
  if (c.persistent_keepalive) {
    device_->set_persistent_keepalive(slot, *c.persistent_keepalive, now_ns, outbox_);
  } else if (reset) {
    device_->set_persistent_keepalive(slot, 0, now_ns, outbox_);
  }
  if (c.replace_allowed_ips || reset) {
    device_->set_allowed_ips(slot, c.allowed_ips, now_ns, outbox_);
  } else if (!c.allowed_ips.empty()) {
    device_->add_allowed_ips(slot, c.allowed_ips, now_ns, outbox_);
  }
  return 0;
}

int Agent::set(const uapi::SetRequest& request) {
  const uint64_t now_ns = monotonic_ns();
  // Room for the peers this request adds, checked before anything changes so
  // that a refused request leaves the gateway as it was.
  uint32_t live = 0;
  for (uint32_t i = 0; i < device_->peer_count(); ++i) live += device_->peer_live(i) ? 1 : 0;
  uint32_t added = 0;
  for (const uapi::PeerChange& c : request.peers) {
    if (!c.remove && !c.update_only && !device_->find_peer(c.public_key)) ++added;
  }
  if (!request.replace_peers && live + added > shm::kMaxPeers) return ENOSPC;
  if (request.replace_peers && added + live > shm::kMaxPeers) {
    // Count again with the peers replace_peers removes gone.
    uint32_t kept = 0;
    for (const uapi::PeerChange& c : request.peers) {
      if (!c.remove && device_->find_peer(c.public_key)) ++kept;
    }
    if (kept + added > shm::kMaxPeers) return ENOSPC;
  }

  if (request.private_key) device_->set_private_key(*request.private_key, now_ns, outbox_);
  if (request.listen_port && *request.listen_port != listen_port_) {
    set_listen_port(*request.listen_port, now_ns);
  }
  if (request.replace_peers) {
    for (uint32_t i = 0; i < device_->peer_count(); ++i) {
      if (!device_->peer_live(i)) continue;
      const crypto::PublicKey key = device_->peer_view(i).public_key;
      const bool named =
          std::any_of(request.peers.begin(), request.peers.end(),
                      [&](const uapi::PeerChange& c) { return !c.remove && c.public_key == key; });
      if (!named) device_->remove_peer(i, now_ns, outbox_);
    }
  }
  int error = 0;
  for (const uapi::PeerChange& c : request.peers) {
    const int e = apply_peer(c, request.replace_peers, now_ns);
    if (e != 0 && error == 0) error = e;
  }
  rebase_new_peers(now_ns);
  refresh_labels();
  send_commands();
  log(LogLevel::kInfo, "uapi: configuration changed (%zu peer change(s)%s%s%s)",
      request.peers.size(), request.private_key ? ", private key" : "",
      request.listen_port ? ", listen port" : "", request.replace_peers ? ", replace peers" : "");
  return error;
}

void Agent::set_listen_port(uint16_t port, uint64_t now_ns) {
  shm::CmdListenPort body{};
  body.port = port;
  shm::RingMessage& m = outbox_.emplace_back();
  m.kind = shm::MessageKind::kCmdListenPortSet;
  m.peer = shm::kNoPeer;
  m.timestamp_ns = now_ns;
  m.length = sizeof(body);
  std::memcpy(m.body, &body, sizeof(body));
  if (port != listen_port_) log(LogLevel::kInfo, "listen port %u -> %u", listen_port_, port);
  listen_port_ = port;
}

// A slot that holds a different peer than last time starts its byte counts
// from what the slot's counters say now (the dataplane counts per slot since
// it started; `wg show` counts per peer).
void Agent::rebase_new_peers(uint64_t since_ns) {
  bases_.resize(device_->peer_count());
  for (uint32_t i = 0; i < device_->peer_count(); ++i) {
    if (!device_->peer_live(i)) {
      bases_[i] = SlotBase{};
      continue;
    }
    const crypto::PublicKey key = device_->peer_view(i).public_key;
    if (bases_[i].known && bases_[i].public_key == key) continue;
    bases_[i].known = true;
    bases_[i].public_key = key;
    bases_[i].rx_bytes = peer_bytes(i, true);
    bases_[i].tx_bytes = peer_bytes(i, false);
    bases_[i].since_ns = since_ns;
  }
}

// --- reload -----------------------------------------------------------------

bool Agent::reload(uint64_t now_ns) {
  config::LoadResult loaded = config::load_config(cfg_.source_path);
  if (!loaded.config) {
    log(LogLevel::kError, "reload rejected, running configuration unchanged: %s",
        loaded.error.to_string().c_str());
    return false;
  }
  config::Config& next = *loaded.config;
  if (const char* field = restart_only_change(cfg_, next)) {
    log(LogLevel::kError,
        "reload rejected, running configuration unchanged: %s changed in %s; that takes a "
        "restart of the gateway",
        field, cfg_.source_path.c_str());
    return false;
  }
  if (next.metrics_port != cfg_.metrics_port) {
    metrics_.reset();
    if (next.metrics_port != 0) {
      auto opened = open_metrics(next.metrics_port);
      if (!opened) {
        log(LogLevel::kError, "reload: metrics port %u: %s (%s)", next.metrics_port,
            opened.error().context, std::strerror(opened.error().sys_errno));
      }
    }
  }
  set_log_level(next.log_level);
  device_->sync(next, now_ns, outbox_);
  if (next.listen_port != listen_port_) set_listen_port(next.listen_port, now_ns);
  cfg_ = std::move(next);
  rebase_new_peers(now_ns);
  refresh_labels();
  send_commands();
  uint32_t live = 0;
  for (uint32_t i = 0; i < device_->peer_count(); ++i) live += device_->peer_live(i) ? 1 : 0;
  log(LogLevel::kInfo, "reloaded %s: %u peer(s)", cfg_.source_path.c_str(), live);
  return true;
}

}  // namespace wirespeed::controlplane::app
