// Device (device.hpp): configuration at runtime — peers added, removed and
// changed field by field (UAPI `set`, SIGHUP reload via sync), the private
// key replaced. Control-plane main thread.
//
// The kernel's model (drivers/net/wireguard/netlink.c set_peer, set_device)
// is followed, translated into the only thing the dataplane understands:
// commands on the ring. Every function emits the difference and nothing
// more, so that a change to one peer never reaches another peer's slot
// (keypairs, staged packets, endpoint) unless the kernel would touch it too
// (an allowed IP moving between peers; a new private key, which restarts
// every session). What the applier does with each command
// (dataplane/control/applier.cpp):
//   kCmdPeerSet          new key in the slot: the old occupant is dropped
//   kCmdPeerRemove       keypairs, routes, staged packets, endpoint of the slot
//   kCmdAllowedIpAdd     the prefix moves to the slot from whoever held it
//   kCmdAllowedIpRemove  withdrawn only if the slot holds it
//   kCmdEndpointSet      the slot's endpoint, nothing else
//   kCmdKeypairsClear    the slot's keypairs, nothing else
#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "controlplane/device/commands.hpp"
#include "controlplane/device/device.hpp"

namespace wirespeed::controlplane::device {

namespace shm = dataplane::shm;
using detail::push_command;

namespace {

// UAPI and the kernel spell "no preshared key" as 32 zero bytes.
bool is_none(const std::optional<crypto::Key>& key) {
  return !key || sodium_is_zero(key->data(), key->size()) == 1;
}

bool valid_endpoint(const config::Endpoint& e) {
  return e.address.family == 4 || e.address.family == 6;
}

// The valid prefixes of `prefixes`, canonical, each once, in their order.
std::vector<config::Prefix> canonical_set(const std::vector<config::Prefix>& prefixes) {
  std::vector<config::Prefix> out;
  out.reserve(prefixes.size());
  for (const config::Prefix& p : prefixes) {
    if (!peers::is_valid(p)) continue;
    const config::Prefix c = peers::canonicalize(p);
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  }
  return out;
}

}  // namespace

// --- Building and installing a peer -----------------------------------------

Result<void> Device::check_peer(const config::PeerConfig& pc) const {
  if (pc.public_key == identity_.public_key) {
    return make_error(Errc::kInvalidArgument, "device: a peer has the device's own public key");
  }
  if (by_public_key_.contains(pc.public_key)) {
    return make_error(Errc::kInvalidArgument, "device: two peers have the same public key");
  }
  for (const config::Prefix& prefix : pc.allowed_ips) {
    if (!peers::is_valid(prefix)) {
      return make_error(Errc::kInvalidArgument, "device: invalid allowed IP");
    }
  }
  if (pc.endpoint && !valid_endpoint(*pc.endpoint)) {
    return make_error(Errc::kInvalidArgument, "device: endpoint address family");
  }
  return ok_result();
}

std::unique_ptr<Device::Peer> Device::make_peer(const config::PeerConfig& pc, uint32_t slot) {
  auto peer = std::make_unique<Peer>(opts_.jitter);
  peer->slot = slot;
  peer->name = pc.name;
  peer->public_key = pc.public_key;
  if (pc.endpoint) peer->configured_endpoint = detail::to_endpoint(*pc.endpoint);
  peer->persistent_keepalive = pc.persistent_keepalive;
  peer->handshake = std::make_unique<noise::Handshake>(identity_, pc.public_key);
  if (!is_none(pc.preshared_key)) {
    peer->handshake->set_preshared_key(pc.preshared_key->clone());
    peer->preshared_key = pc.preshared_key->clone();
  }
  peer->cookie_maker = std::make_unique<cookie::CookieMaker>(pc.public_key);
  for (const config::Prefix& prefix : canonical_set(pc.allowed_ips))
    (void)take_prefix(*peer, prefix);
  return peer;
}

void Device::push_allowed_ip(Outbox& out, uint32_t slot, const config::Prefix& prefix, bool add,
                             Nanos now) {
  shm::CmdAllowedIp body{};
  body.family = prefix.addr.family;
  body.cidr = prefix.cidr;
  std::memcpy(body.addr, prefix.addr.bytes.data(), sizeof(body.addr));
  push_command(out,
               add ? shm::MessageKind::kCmdAllowedIpAdd : shm::MessageKind::kCmdAllowedIpRemove,
               slot, now, body);
}

bool Device::take_prefix(Peer& peer, const config::Prefix& prefix) {
  const auto [it, fresh] = prefix_owner_.emplace(prefix, peer.slot);
  if (!fresh) {
    if (it->second == peer.slot) return false;
    // Another peer holds it: it moves here (kernel allowedips.c insert). The
    // dataplane moves it on our kCmdAllowedIpAdd; nothing is withdrawn.
    if (Peer* loser = live(it->second)) {
      std::erase(loser->allowed_ips, prefix);
      notify(DeviceEventKind::kPeerChanged, loser, "allowed ips");
    }
    it->second = peer.slot;
  }
  peer.allowed_ips.push_back(prefix);
  return true;
}

void Device::install_peer(Peer& peer, Nanos now, Outbox& out) {
  const bool set_endpoint = peer.configured_endpoint && !peer.adopted_endpoint;
  shm::CmdPeerSet set{};
  std::memcpy(set.public_key, peer.public_key.data(), sizeof(set.public_key));
  if (set_endpoint) set.endpoint = *peer.configured_endpoint;  // else family 0: keep
  push_command(out, shm::MessageKind::kCmdPeerSet, peer.slot, now, set);
  if (set_endpoint) {
    peer.endpoint = *peer.configured_endpoint;
    push_command(out, shm::MessageKind::kCmdEndpointSet, peer.slot, now, peer.endpoint);
  }
  for (const config::Prefix& prefix : peer.allowed_ips) {
    push_allowed_ip(out, peer.slot, prefix, /*add=*/true, now);
  }
  apply(peer, peer.timers.set_persistent_keepalive(peer.persistent_keepalive, now), now, out,
        "keepalive");
}

// --- Peers added and removed -------------------------------------------------

Result<uint32_t> Device::add_peer(const config::PeerConfig& pc, Nanos now, Outbox& out) {
  deadlines_changed();
  if (auto checked = check_peer(pc); !checked) return checked.error();
  // Lowest free slot first, so that slots stay dense and a re-added peer
  // does not wander to the end of the table.
  uint32_t slot = 0;
  while (slot < peers_.size() && peers_[slot] != nullptr) ++slot;
  if (slot >= shm::kMaxPeers) {
    return make_error(Errc::kExhausted, "device: every dataplane peer slot is taken");
  }
  std::unique_ptr<Peer> made = make_peer(pc, slot);
  Peer& peer = *made;
  if (slot == peers_.size()) {
    peers_.push_back(std::move(made));
  } else {
    peers_[slot] = std::move(made);
  }
  by_public_key_.emplace(peer.public_key, slot);
  install_peer(peer, now, out);
  notify(DeviceEventKind::kPeerAdded, &peer);
  return slot;
}

void Device::remove_peer(uint32_t slot, Nanos now, Outbox& out) {
  deadlines_changed();
  Peer* p = live(slot);
  if (p == nullptr) return;
  // Reported while the peer is still there, so that the sink can name it.
  mark_down(*p, "removed");
  notify(DeviceEventKind::kPeerRemoved, p);

  // The dataplane retires the keypairs; the indices that named them and the
  // handshake in flight die here.
  drop_keypair(p->previous);
  drop_keypair(p->current);
  drop_keypair(p->next);
  release_index(p->handshake_index);
  p->handshake_index = 0;
  p->timers.stop();
  for (const config::Prefix& prefix : p->allowed_ips) prefix_owner_.erase(prefix);
  push_command(out, shm::MessageKind::kCmdPeerRemove, slot, now);

  by_public_key_.erase(p->public_key);
  peers_[slot].reset();
  while (!peers_.empty() && peers_.back() == nullptr) peers_.pop_back();
}

// --- One field of a peer ---------------------------------------------------------

void Device::set_endpoint(uint32_t slot, const config::Endpoint& endpoint, Nanos now, Outbox& out) {
  deadlines_changed();
  Peer* p = live(slot);
  if (p == nullptr || !valid_endpoint(endpoint)) return;
  const shm::Endpoint e = detail::to_endpoint(endpoint);
  bool changed = !p->configured_endpoint || *p->configured_endpoint != e;
  p->configured_endpoint = e;
  if (p->endpoint != e) {
    // As the kernel's set_peer: the configured endpoint replaces a roamed
    // one at once. Sessions stay; the next packet goes to the new address.
    p->endpoint = e;
    push_command(out, shm::MessageKind::kCmdEndpointSet, slot, now, e);
    changed = true;
  }
  if (changed) notify(DeviceEventKind::kPeerChanged, p, "endpoint");
}

void Device::set_preshared_key(uint32_t slot, const std::optional<crypto::Key>& key,
                               Nanos /*now*/) {
  deadlines_changed();
  Peer* p = live(slot);
  if (p == nullptr) return;
  const bool none = is_none(key);
  if (none && !p->preshared_key) return;
  if (!none && p->preshared_key && p->preshared_key->equals(*key)) return;
  // The handshake in flight (if any) and the sessions in place stay: the key
  // is mixed into the next handshake (kernel: under the handshake lock).
  if (none) {
    p->preshared_key.reset();
    p->handshake->set_preshared_key(crypto::Key{});
  } else {
    p->preshared_key = key->clone();
    p->handshake->set_preshared_key(key->clone());
  }
  notify(DeviceEventKind::kPeerChanged, p, "preshared key");
}

void Device::set_persistent_keepalive(uint32_t slot, uint16_t seconds, Nanos now, Outbox& out) {
  deadlines_changed();
  Peer* p = live(slot);
  if (p == nullptr || p->persistent_keepalive == seconds) return;
  p->persistent_keepalive = seconds;
  apply(*p, p->timers.set_persistent_keepalive(seconds, now), now, out, "keepalive");
  notify(DeviceEventKind::kPeerChanged, p, "persistent keepalive");
}

// Adds before withdrawals: a prefix in both lists is never touched, and one
// that moves here from another peer is routed throughout.
void Device::set_allowed_ips(uint32_t slot, const std::vector<config::Prefix>& prefixes, Nanos now,
                             Outbox& out) {
  deadlines_changed();
  Peer* p = live(slot);
  if (p == nullptr) return;
  const std::vector<config::Prefix> wanted = canonical_set(prefixes);
  bool changed = false;
  for (const config::Prefix& prefix : wanted) {
    if (take_prefix(*p, prefix)) {
      push_allowed_ip(out, slot, prefix, /*add=*/true, now);
      changed = true;
    }
  }
  std::vector<config::Prefix> kept;
  kept.reserve(p->allowed_ips.size());
  for (const config::Prefix& prefix : p->allowed_ips) {
    if (std::find(wanted.begin(), wanted.end(), prefix) != wanted.end()) {
      kept.push_back(prefix);
      continue;
    }
    prefix_owner_.erase(prefix);
    push_allowed_ip(out, slot, prefix, /*add=*/false, now);
    changed = true;
  }
  p->allowed_ips = std::move(kept);
  if (changed) notify(DeviceEventKind::kPeerChanged, p, "allowed ips");
}

void Device::add_allowed_ips(uint32_t slot, const std::vector<config::Prefix>& prefixes, Nanos now,
                             Outbox& out) {
  deadlines_changed();
  Peer* p = live(slot);
  if (p == nullptr) return;
  bool changed = false;
  for (const config::Prefix& prefix : canonical_set(prefixes)) {
    if (take_prefix(*p, prefix)) {
      push_allowed_ip(out, slot, prefix, /*add=*/true, now);
      changed = true;
    }
  }
  if (changed) notify(DeviceEventKind::kPeerChanged, p, "allowed ips");
}

void Device::set_name(Peer& peer, const std::string& name) {
  if (peer.name == name) return;
  peer.name = name;
  notify(DeviceEventKind::kPeerChanged, &peer, "name");
}

// --- The device's identity ------------------------------------------------------

// Kernel set_device: the peer holding the new public key is removed first;
// then the identity changes, the cookie keys and every peer's static-static
// DH are derived anew, handshakes in flight are dropped and the sessions
// expire (wg_noise_expire_current_peer_keypairs). The kernel only stops
// sending with the old keys; the dataplane has one "clear" for a peer's
// keypairs, so receiving stops too — the peer's next initiation, or our
// next staged packet, makes a session under the new identity.
void Device::set_private_key(const crypto::PrivateKey& key, Nanos now, Outbox& out) {
  deadlines_changed();
  if (key.equals(identity_.private_key)) return;
  if (auto same = find_peer(crypto::public_key(key))) remove_peer(*same, now, out);

  // Handshakes keep a pointer to identity_, which stays where it is.
  identity_ = noise::StaticIdentity::from_private(key.clone());
  checker_.set_identity(identity_.public_key);
  for (auto& pp : peers_) {
    if (!pp) continue;
    Peer& peer = *pp;
    peer.handshake->set_identity(identity_);
    release_index(peer.handshake_index);
    peer.handshake_index = 0;
    if (peer.current || peer.previous || peer.next) {
      clear_keypairs(peer, now, out, "private key changed");
    }
    // The keypair ages and the handshake rate limit go with the sessions
    // (kernel wg_noise_reset_last_sent_handshake), so that the next packet
    // starts a handshake at once; persistent keepalive stays armed.
    peer.timers.stop();
    apply(peer, peer.timers.set_persistent_keepalive(peer.persistent_keepalive, now), now, out,
          "keepalive");
  }
  notify(DeviceEventKind::kPrivateKeyChanged, nullptr);
}

// --- wg syncconf ------------------------------------------------------------

// Removals first, so that a configuration that swaps peers at kMaxPeers
// finds its slots. A prefix that moves from a removed peer to a new one is
// unrouted between the two commands (the applier applies route changes a
// poll at a time, so usually not even then).
void Device::sync(const config::Config& cfg, Nanos now, Outbox& out) {
  deadlines_changed();
  set_private_key(cfg.private_key, now, out);

  std::set<crypto::PublicKey> wanted;
  for (const config::PeerConfig& pc : cfg.peers) wanted.insert(pc.public_key);
  for (uint32_t slot = 0; slot < peers_.size(); ++slot) {
    if (peers_[slot] && !wanted.contains(peers_[slot]->public_key)) remove_peer(slot, now, out);
  }

  for (const config::PeerConfig& pc : cfg.peers) {
    const std::optional<uint32_t> found = find_peer(pc.public_key);
    if (!found) {
      (void)add_peer(pc, now, out);  // validated whole by the caller
      continue;
    }
    const uint32_t slot = *found;
    Peer& peer = *peers_[slot];
    set_name(peer, pc.name);
    set_preshared_key(slot, pc.preshared_key, now);
    set_persistent_keepalive(slot, pc.persistent_keepalive, now, out);
    set_allowed_ips(slot, pc.allowed_ips, now, out);
    // Only a changed configured endpoint moves the peer: one that roamed
    // stays where it roamed to. An endpoint dropped from the file leaves the
    // live one alone (wg cannot unset an endpoint either).
    if (pc.endpoint) {
      const shm::Endpoint e = detail::to_endpoint(*pc.endpoint);
      if (!peer.configured_endpoint || *peer.configured_endpoint != e) {
        set_endpoint(slot, *pc.endpoint, now, out);
      }
    } else {
      peer.configured_endpoint.reset();
    }
  }
}

}  // namespace wirespeed::controlplane::device
