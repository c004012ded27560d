// Helpers for the runtime-configuration tests of the Device
// (device_config_test.cpp, device_sync_test.cpp): an event recorder, a model
// of what the dataplane's applier does with the peer and route commands, and
// shorthands for the commands one call emitted.
#pragma once

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "tests/controlplane/device/device_fixture.hpp"

namespace wirespeed::controlplane::device::test {

// Every DeviceEvent, in order.
struct EventRecorder {
  std::vector<DeviceEvent> all;

  static void sink(void* ctx, const DeviceEvent& e) {
    static_cast<EventRecorder*>(ctx)->all.push_back(e);
  }
  std::vector<DeviceEvent> of(DeviceEventKind kind) const {
    std::vector<DeviceEvent> r;
    for (const auto& e : all)
      if (e.kind == kind) r.push_back(e);
    return r;
  }
  size_t count(DeviceEventKind kind, uint32_t peer) const {
    size_t n = 0;
    for (const auto& e : all) n += e.kind == kind && e.peer == peer ? 1 : 0;
    return n;
  }
  // "kind:peer:detail" lines, for readable failure messages and exact checks.
  std::vector<std::string> lines() const {
    std::vector<std::string> r;
    for (const auto& e : all) {
      r.push_back(std::to_string(static_cast<int>(e.kind)) + ":" + std::to_string(e.peer) + ":" +
                  e.detail);
    }
    return r;
  }
};

inline std::string line(DeviceEventKind kind, uint32_t peer, const char* detail = "") {
  return std::to_string(static_cast<int>(kind)) + ":" + std::to_string(peer) + ":" + detail;
}

inline config::Prefix prefix_of(const shm::RingMessage& m) {
  const auto b = body_of<shm::CmdAllowedIp>(m);
  config::Prefix p;
  p.addr.family = b.family;
  std::memcpy(p.addr.bytes.data(), b.addr, 16);
  p.cidr = b.cidr;
  return p;
}

// "add 3 10.8.2.0/24", "remove 0 fd00::/64", "peer_set 1", "peer_remove 2",
// "endpoint 0", "keepalive 0", "clear 1", "transmit 0", ...: one line per
// command, so that a test can say exactly which commands it expects.
inline std::string describe(const shm::RingMessage& m) {
  const std::string slot = std::to_string(m.peer);
  switch (m.kind) {
    case MessageKind::kCmdAllowedIpAdd:
      return "add " + slot + " " + peers::format_prefix(prefix_of(m));
    case MessageKind::kCmdAllowedIpRemove:
      return "remove " + slot + " " + peers::format_prefix(prefix_of(m));
    case MessageKind::kCmdPeerSet:
      return "peer_set " + slot;
    case MessageKind::kCmdPeerRemove:
      return "peer_remove " + slot;
    case MessageKind::kCmdEndpointSet:
      return "endpoint " + slot;
    case MessageKind::kCmdSendKeepalive:
      return "keepalive " + slot;
    case MessageKind::kCmdKeypairsClear:
      return "clear " + slot;
    case MessageKind::kCmdKeypairInstall:
      return "install " + slot;
    case MessageKind::kCmdTransmitUdp:
      return "transmit " + slot;
    case MessageKind::kCmdFlushStaged:
      return "flush " + slot;
    default:
      return "kind " + std::to_string(static_cast<int>(m.kind));
  }
}

inline std::vector<std::string> describe(std::span<const shm::RingMessage> ms) {
  std::vector<std::string> r;
  for (const auto& m : ms) r.push_back(describe(m));
  return r;
}

// What the applier (dataplane/control/applier.cpp) makes of the peer and
// route commands: which slot holds which key, and which slot each prefix
// routes to. Deliberately naive: a list of facts replayed command by command.
struct DataplaneModel {
  std::map<uint32_t, crypto::PublicKey> slots;
  std::map<config::Prefix, uint32_t> routes;

  void drop_routes(uint32_t slot) {
    std::erase_if(routes, [&](const auto& kv) { return kv.second == slot; });
  }
  void apply(const shm::RingMessage& m) {
    switch (m.kind) {
      case MessageKind::kCmdPeerSet: {
        const auto b = body_of<shm::CmdPeerSet>(m);
        crypto::PublicKey key;
        std::memcpy(key.data(), b.public_key, 32);
        const auto it = slots.find(m.peer);
        if (it == slots.end() || it->second != key) {
          if (it != slots.end()) drop_routes(m.peer);  // a different peer: removed first
          slots[m.peer] = key;
        }
        break;
      }
      case MessageKind::kCmdPeerRemove:
        slots.erase(m.peer);
        drop_routes(m.peer);
        break;
      case MessageKind::kCmdAllowedIpAdd:
        routes[prefix_of(m)] = m.peer;  // moves it from any other slot
        break;
      case MessageKind::kCmdAllowedIpRemove: {
        const auto it = routes.find(prefix_of(m));
        if (it != routes.end() && it->second == m.peer) routes.erase(it);
        break;
      }
      default:
        break;
    }
  }
  void apply(std::span<const shm::RingMessage> ms) {
    for (const auto& m : ms) apply(m);
  }
};

// The model agrees with what the Device says it has: the same live slots
// with the same keys, and each live peer's allowed IPs are exactly the
// prefixes routed to its slot.
inline void expect_model_matches(const DataplaneModel& model, const Device& dev) {
  std::map<uint32_t, crypto::PublicKey> slots;
  std::map<config::Prefix, uint32_t> routes;
  for (uint32_t i = 0; i < dev.peer_count(); ++i) {
    if (!dev.peer_live(i)) continue;
    const PeerView v = dev.peer_view(i);
    slots[i] = v.public_key;
    for (const config::Prefix& p : v.allowed_ips) {
      EXPECT_TRUE(routes.emplace(p, i).second)
          << peers::format_prefix(p) << " listed for two peers";
    }
  }
  EXPECT_EQ(model.slots, slots);
  EXPECT_EQ(model.routes.size(), routes.size());
  for (const auto& [p, slot] : routes) {
    const auto it = model.routes.find(p);
    if (it == model.routes.end()) {
      ADD_FAILURE() << peers::format_prefix(p) << " of slot " << slot << " is not routed";
    } else {
      EXPECT_EQ(it->second, slot) << peers::format_prefix(p);
    }
  }
}

inline config::PeerConfig peer_config(const crypto::PublicKey& key,
                                      const std::vector<const char*>& allowed,
                                      std::optional<shm::Endpoint> endpoint = std::nullopt,
                                      uint16_t keepalive = 0) {
  config::PeerConfig pc;
  pc.public_key = key;
  for (const char* a : allowed) pc.allowed_ips.push_back(prefix(a));
  if (endpoint) pc.endpoint = to_config(*endpoint);
  pc.persistent_keepalive = keepalive;
  return pc;
}

inline crypto::PublicKey random_public_key() {
  return crypto::public_key(crypto::generate_private_key());
}

// The DeviceTest fixture with an event recorder on every Device it starts
// through start_recorded(), and a way to see what one call emitted.
class DeviceConfigTest : public DeviceTest {
 protected:
  DeviceOptions recorded(EventRecorder& events) {
    DeviceOptions o = options();
    o.events = EventSink{&EventRecorder::sink, &events};
    return o;
  }

  // The commands `h` emitted since its last flush (then flushed: endpoint
  // mirror updated, datagrams delivered), also fed to `model` when given.
  std::vector<shm::RingMessage> emitted(Host& h, DataplaneModel* model = nullptr) {
    const size_t mark = h.log.size();
    flush(h);
    std::vector<shm::RingMessage> r(h.log.begin() + static_cast<std::ptrdiff_t>(mark), h.log.end());
    if (model != nullptr) model->apply(r);
    return r;
  }

  EventRecorder events_a_, events_b_;
};

}  // namespace wirespeed::controlplane::device::test
