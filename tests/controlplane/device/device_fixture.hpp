// The Device test fixture: two Devices (or more) with real crypto, a fake
// clock, and helpers that read ring messages back. Shared by
// device_test.cpp (handshakes, cookies, events) and device_timers_test.cpp
// (timers, adoption, index release).
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controlplane/crypto/aead.hpp"
#include "controlplane/device/device.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::controlplane::device::test {

namespace shm = dataplane::shm;
namespace wire = dataplane::wire;
using shm::MessageKind;

constexpr Nanos kS = wire::kNanosPerSecond;
constexpr Nanos kMs = wire::kNanosPerMilli;
constexpr Nanos kT0 = 1'000 * kS;  // not 0, so that "0 means unset" bugs show
constexpr uint64_t kWallBase = 1'700'000'000ULL * kS;

struct FakeClock {
  Nanos now = kT0;
};
inline uint64_t wall_of(void* ctx) {
  return kWallBase + static_cast<FakeClock*>(ctx)->now;
}

inline shm::Endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  shm::Endpoint e;
  e.family = 4;
  e.port = port;
  e.addr[0] = a;
  e.addr[1] = b;
  e.addr[2] = c;
  e.addr[3] = d;
  return e;
}

inline shm::Endpoint v6(uint8_t last, uint16_t port) {
  shm::Endpoint e;
  e.family = 6;
  e.port = port;
  const uint8_t prefix[] = {0x20, 0x01, 0x0d, 0xb8};
  std::memcpy(e.addr, prefix, sizeof(prefix));
  e.addr[15] = last;
  return e;
}

inline config::Endpoint to_config(const shm::Endpoint& e) {
  config::Endpoint c;
  c.address.family = e.family;
  std::memcpy(c.address.bytes.data(), e.addr, 16);
  c.port = e.port;
  return c;
}

inline config::Prefix prefix(const char* text) {
  auto p = peers::parse_prefix(text);
  EXPECT_TRUE(p.ok()) << text;
  return *p;
}

template <typename Body>
inline Body body_of(const shm::RingMessage& m) {
  Body b;
  std::memcpy(&b, m.body, sizeof(b));
  return b;
}

inline std::vector<uint8_t> payload_of(const shm::RingMessage& m) {
  const auto t = body_of<shm::CmdTransmitUdp>(m);
  return std::vector<uint8_t>(t.payload, t.payload + t.payload_len);
}

// One gateway: its key, its outer address, its Device, and what the fake
// dataplane under it was told.
struct Host {
  explicit Host(const shm::Endpoint& e) : endpoint(e) {}

  crypto::PrivateKey key = crypto::generate_private_key();
  crypto::PublicKey pub = crypto::public_key(key);
  shm::Endpoint endpoint;
  bool under_load = false;
  std::unique_ptr<Device> dev;
  Outbox out;
  std::vector<shm::RingMessage> log;            // every command, in order
  std::map<uint32_t, shm::Endpoint> endpoints;  // per peer slot, as the dataplane holds it

  std::vector<shm::RingMessage> of_kind(MessageKind kind) const {
    std::vector<shm::RingMessage> r;
    for (const auto& m : log)
      if (m.kind == kind) r.push_back(m);
    return r;
  }
  std::vector<shm::CmdKeypairInstall> installs() const {
    std::vector<shm::CmdKeypairInstall> r;
    for (const auto& m : of_kind(MessageKind::kCmdKeypairInstall))
      r.push_back(body_of<shm::CmdKeypairInstall>(m));
    return r;
  }
  size_t count(MessageKind kind) const { return of_kind(kind).size(); }
};

struct PeerSpec {
  const Host* host;
  bool with_endpoint = true;
  std::vector<const char*> allowed;
  uint16_t keepalive = 0;
  const crypto::Key* psk = nullptr;
};

inline config::Config make_config(const Host& self, const std::vector<PeerSpec>& peers) {
  config::Config cfg;
  cfg.name = "wsp0";
  cfg.private_key = self.key.clone();
  for (const PeerSpec& spec : peers) {
    config::PeerConfig pc;
    pc.public_key = spec.host->pub;
    if (spec.with_endpoint) pc.endpoint = to_config(spec.host->endpoint);
    for (const char* a : spec.allowed) pc.allowed_ips.push_back(prefix(a));
    pc.persistent_keepalive = spec.keepalive;
    if (spec.psk) pc.preshared_key = spec.psk->clone();
    cfg.peers.push_back(std::move(pc));
  }
  return cfg;
}

class DeviceTest : public ::testing::Test {
 protected:
  DeviceOptions options() {
    DeviceOptions o;
    o.jitter = {};  // none: deadlines are exact
    o.wall_clock = WallClock{&wall_of, &clock_};
    return o;
  }

  void start(Host& h, const std::vector<PeerSpec>& peers, DeviceOptions o) {
    auto dev = Device::create(make_config(h, peers), std::move(o));
    ASSERT_TRUE(dev.ok()) << errc_name(dev.error().code);
    h.dev = std::move(*dev);
    h.dev->install_peers(clock_.now, h.out);
    flush(h);
  }
  void start(Host& h, const std::vector<PeerSpec>& peers) { start(h, peers, options()); }

  // A (initiator side, knows B's endpoint) and B (learns A's from the handshake).
  void start_pair(const crypto::Key* psk_a = nullptr, const crypto::Key* psk_b = nullptr) {
    start(a_, {{&b_, true, {"10.8.2.0/24"}, 0, psk_a}});
    start(b_, {{&a_, false, {"10.8.1.0/24"}, 0, psk_b}});
    a_.log.clear();
    b_.log.clear();
  }

  Host* host_at(const shm::Endpoint& e) {
    for (Host* h : hosts_)
      if (h->endpoint == e && h->dev) return h;
    return nullptr;
  }

  // Device::next_deadline() caches its walk over the peers; after whatever
  // the test just did, the cache must agree with a fresh walk. Asked after
  // every step, as the glue asks on every pass, so a call that moves a timer
  // without marking the cache stale shows here.
  static void expect_deadline_current(const Host& h) {
    if (h.dev) {
      EXPECT_EQ(h.dev->next_deadline(), h.dev->scan_deadlines())
          << "next_deadline() kept a cached deadline after a timer moved";
    }
  }

  // Moves `src.out` into its log, mirrors endpoint commands and delivers the
  // datagrams (unless the network is down).
  void flush(Host& src) {
    expect_deadline_current(src);
    Outbox batch;
    batch.swap(src.out);
    for (const auto& m : batch) {
      src.log.push_back(m);
      if (m.kind == MessageKind::kCmdPeerSet) {
        const auto set = body_of<shm::CmdPeerSet>(m);
        if (set.endpoint.family != 0) src.endpoints[m.peer] = set.endpoint;
      } else if (m.kind == MessageKind::kCmdEndpointSet) {
        src.endpoints[m.peer] = body_of<shm::Endpoint>(m);
      } else if (m.kind == MessageKind::kCmdTransmitUdp) {
        const auto t = body_of<shm::CmdTransmitUdp>(m);
        shm::Endpoint dst = t.destination;
        if (dst.family == 0) dst = src.endpoints[m.peer];
        Host* to = host_at(dst);
        if (to == nullptr || !network_up_) continue;
        to->dev->on_handshake_datagram(std::span<const uint8_t>(t.payload, t.payload_len),
                                       src.endpoint, to->under_load, clock_.now, to->out);
        expect_deadline_current(*to);
      }
    }
    wipe_outbox(batch);
  }

  void pump() {
    for (int round = 0; round < 16; ++round) {
      bool any = false;
      for (Host* h : hosts_) {
        if (!h->out.empty()) {
          any = true;
          flush(*h);
        }
      }
      if (!any) return;
    }
    FAIL() << "the hosts keep talking";
  }

  void need_handshake(Host& h, uint32_t peer) {
    shm::RingMessage ev{};
    ev.kind = MessageKind::kEventNeedHandshake;
    ev.peer = peer;
    h.dev->on_event(ev, clock_.now, h.out);
  }

  void confirm(Host& h, uint32_t peer, uint32_t local_index) {
    shm::RingMessage ev{};
    ev.kind = MessageKind::kEventKeypairConfirmed;
    ev.peer = peer;
    shm::EventKeypair body{local_index, 0, 0};
    std::memcpy(ev.body, &body, sizeof(body));
    ev.length = sizeof(body);
    h.dev->on_event(ev, clock_.now, h.out);
  }

  void tick(Host& h) {
    h.dev->tick(clock_.now, h.out);
    flush(h);
  }

  // A complete handshake, A initiating; returns {A's install, B's install}.
  std::pair<shm::CmdKeypairInstall, shm::CmdKeypairInstall> handshake() {
    const size_t a_before = a_.installs().size();
    const size_t b_before = b_.installs().size();
    need_handshake(a_, 0);
    pump();
    EXPECT_EQ(a_.installs().size(), a_before + 1);
    EXPECT_EQ(b_.installs().size(), b_before + 1);
    if (a_.installs().size() != a_before + 1 || b_.installs().size() != b_before + 1) return {};
    return {a_.installs().back(), b_.installs().back()};
  }

  FakeClock clock_;
  bool network_up_ = true;
  Host a_{v4(192, 0, 2, 1, 51820)};
  Host b_{v4(192, 0, 2, 2, 51820)};
  Host c_{v4(198, 51, 100, 3, 40000)};
  std::vector<Host*> hosts_{&a_, &b_, &c_};
};

// Keys agree and carry a data message each way (libsodium reference AEAD).
inline void expect_matching(const shm::CmdKeypairInstall& a, const shm::CmdKeypairInstall& b) {
  EXPECT_EQ(a.we_initiated, 1);
  EXPECT_EQ(b.we_initiated, 0);
  EXPECT_EQ(a.local_index, b.remote_index);
  EXPECT_EQ(a.remote_index, b.local_index);
  EXPECT_NE(a.local_index, 0u);
  EXPECT_NE(b.local_index, 0u);
  EXPECT_EQ(0, memcmp(a.send_key, b.receive_key, 32));
  EXPECT_EQ(0, memcmp(a.receive_key, b.send_key, 32));
  EXPECT_NE(0, memcmp(a.send_key, a.receive_key, 32));

  const uint8_t packet[] = {0x45, 0, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint8_t sealed[sizeof(packet) + 16];
  uint8_t opened[sizeof(packet)];
  ASSERT_TRUE(
      crypto::chacha20poly1305_seal(sealed, packet, {}, 0, std::span<const uint8_t, 32>(a.send_key))
          .ok());
  ASSERT_TRUE(crypto::chacha20poly1305_open(opened, sealed, {}, 0,
                                            std::span<const uint8_t, 32>(b.receive_key))
                  .ok());
  EXPECT_EQ(0, memcmp(opened, packet, sizeof(packet)));
  ASSERT_TRUE(
      crypto::chacha20poly1305_seal(sealed, packet, {}, 5, std::span<const uint8_t, 32>(b.send_key))
          .ok());
  ASSERT_TRUE(crypto::chacha20poly1305_open(opened, sealed, {}, 5,
                                            std::span<const uint8_t, 32>(a.receive_key))
                  .ok());
  EXPECT_EQ(0, memcmp(opened, packet, sizeof(packet)));
}

// 1 — initiator and responder derive matching keypairs.
}  // namespace wirespeed::controlplane::device::test
