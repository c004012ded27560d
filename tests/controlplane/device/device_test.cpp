// Tests for controlplane/device: two (or three) Devices with real crypto,
// wired together by a small fake network that plays the dataplane's part for
// handshake messages — it takes each Outbox, keeps every command in a log,
// tracks the endpoints the PeerSet/EndpointSet commands give it, and delivers
// each kCmdTransmitUdp payload to the Device at the destination with the
// sender's address as `from`. Time is a fake monotonic clock; the wall clock
// for TAI64N follows it. Tests assert on the commands, never on code having run.
#include "controlplane/device/device.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "controlplane/crypto/aead.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::controlplane::device {
namespace {

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
uint64_t wall_of(void* ctx) {
  return kWallBase + static_cast<FakeClock*>(ctx)->now;
}

shm::Endpoint v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
  shm::Endpoint e;
  e.family = 4;
  e.port = port;
  e.addr[0] = a;
  e.addr[1] = b;
  e.addr[2] = c;
  e.addr[3] = d;
  return e;
}

shm::Endpoint v6(uint8_t last, uint16_t port) {
  shm::Endpoint e;
  e.family = 6;
  e.port = port;
  const uint8_t prefix[] = {0x20, 0x01, 0x0d, 0xb8};
  std::memcpy(e.addr, prefix, sizeof(prefix));
  e.addr[15] = last;
  return e;
}

config::Endpoint to_config(const shm::Endpoint& e) {
  config::Endpoint c;
  c.address.family = e.family;
  std::memcpy(c.address.bytes.data(), e.addr, 16);
  c.port = e.port;
  return c;
}

config::Prefix prefix(const char* text) {
  auto p = peers::parse_prefix(text);
  EXPECT_TRUE(p.ok()) << text;
  return *p;
}

template <typename Body>
Body body_of(const shm::RingMessage& m) {
  Body b;
  std::memcpy(&b, m.body, sizeof(b));
  return b;
}

std::vector<uint8_t> payload_of(const shm::RingMessage& m) {
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

config::Config make_config(const Host& self, const std::vector<PeerSpec>& peers) {
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

  // Moves `src.out` into its log, mirrors endpoint commands and delivers the
  // datagrams (unless the network is down).
  void flush(Host& src) {
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
void expect_matching(const shm::CmdKeypairInstall& a, const shm::CmdKeypairInstall& b) {
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
TEST_F(DeviceTest, T01_HandshakeInstallsMatchingKeypairs) {
  start_pair();
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
  EXPECT_EQ(ka.birth_ns, clock_.now);

  // Initiator: install, endpoint from the response's source, keepalive.
  ASSERT_EQ(a_.log.size(), 4u);
  EXPECT_EQ(a_.log[0].kind, MessageKind::kCmdTransmitUdp);
  EXPECT_EQ(body_of<shm::CmdTransmitUdp>(a_.log[0]).destination.family, 0)
      << "initiation to the peer's endpoint";
  EXPECT_EQ(payload_of(a_.log[0]).size(), wire::kInitiationSize);
  EXPECT_EQ(a_.log[1].kind, MessageKind::kCmdKeypairInstall);
  EXPECT_EQ(a_.log[2].kind, MessageKind::kCmdEndpointSet);
  EXPECT_EQ(body_of<shm::Endpoint>(a_.log[2]), b_.endpoint);
  EXPECT_EQ(a_.log[3].kind, MessageKind::kCmdSendKeepalive);
  for (const auto& m : a_.log) EXPECT_EQ(m.peer, 0u);

  // Responder: install (as next), endpoint learnt from the initiation, response.
  ASSERT_EQ(b_.log.size(), 3u);
  EXPECT_EQ(b_.log[0].kind, MessageKind::kCmdKeypairInstall);
  EXPECT_EQ(b_.log[1].kind, MessageKind::kCmdEndpointSet);
  EXPECT_EQ(body_of<shm::Endpoint>(b_.log[1]), a_.endpoint);
  EXPECT_EQ(b_.log[2].kind, MessageKind::kCmdTransmitUdp);
  EXPECT_EQ(body_of<shm::CmdTransmitUdp>(b_.log[2]).destination, a_.endpoint);
  EXPECT_EQ(payload_of(b_.log[2]).size(), wire::kResponseSize);

  EXPECT_EQ(a_.dev->stats().handshakes_as_initiator, 1u);
  EXPECT_EQ(b_.dev->stats().handshakes_as_responder, 1u);
  EXPECT_EQ(a_.dev->stats().total_drops() + b_.dev->stats().total_drops(), 0u);

  const PeerView va = a_.dev->peer_view(0);
  EXPECT_TRUE(va.has_current);
  EXPECT_EQ(va.current_local_index, ka.local_index);
  EXPECT_EQ(va.last_handshake_ns, clock_.now);
  EXPECT_EQ(va.last_handshake_wall_ns, kWallBase + clock_.now);
  EXPECT_FALSE(va.handshake_in_flight);

  // The responder's keypair is "next" until the dataplane sees data with it.
  PeerView vb = b_.dev->peer_view(0);
  EXPECT_FALSE(vb.has_current);
  EXPECT_TRUE(vb.has_next);
  EXPECT_EQ(vb.endpoint, a_.endpoint);
  EXPECT_EQ(vb.last_handshake_ns, 0u);
  clock_.now += 3 * kMs;
  confirm(b_, 0, kb.local_index);
  vb = b_.dev->peer_view(0);
  EXPECT_TRUE(vb.has_current);
  EXPECT_FALSE(vb.has_next);
  EXPECT_EQ(vb.current_local_index, kb.local_index);
  EXPECT_EQ(vb.last_handshake_ns, clock_.now);
  EXPECT_EQ(b_.dev->stats().keypairs_confirmed, 1u);
  // The same confirmation again names a keypair that is no longer next.
  confirm(b_, 0, kb.local_index);
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kStaleEvent), 1u);
  EXPECT_TRUE(b_.out.empty());
}

TEST_F(DeviceTest, T01b_HandshakeOverIpv6Endpoints) {
  a_.endpoint = v6(1, 51820);
  b_.endpoint = v6(2, 51821);
  start_pair();
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
  EXPECT_EQ(b_.dev->peer_view(0).endpoint, a_.endpoint);
}

// 2 — preshared keys: equal on both sides work, different ones give no keypair.
TEST_F(DeviceTest, T02_PresharedKey) {
  crypto::Key psk;
  randombytes_buf(psk.data(), psk.size());
  start_pair(&psk, &psk);
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
}

TEST_F(DeviceTest, T02b_MismatchedPresharedKeyGivesTheInitiatorNoKeypair) {
  crypto::Key psk_a, psk_b;
  randombytes_buf(psk_a.data(), psk_a.size());
  randombytes_buf(psk_b.data(), psk_b.size());
  start_pair(&psk_a, &psk_b);
  need_handshake(a_, 0);
  pump();
  // The responder cannot tell (psk is mixed after its last check) and answers;
  // the initiator's response does not authenticate.
  EXPECT_EQ(b_.count(MessageKind::kCmdTransmitUdp), 1u);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairInstall), 0u);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 0u);
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kBadResponse), 1u);
  EXPECT_FALSE(a_.dev->peer_view(0).has_current);
  EXPECT_TRUE(a_.dev->peer_view(0).handshake_in_flight) << "a forged response must not abort it";

  // A psk on one side only fails the same way.
  crypto::Key psk_c;
  randombytes_buf(psk_c.data(), psk_c.size());
  start(c_, {{&b_, true, {"10.8.3.0/24"}, 0, &psk_c}});
  start(b_, {{&c_, false, {"10.8.3.0/24"}}});
  c_.log.clear();
  need_handshake(c_, 0);
  pump();
  EXPECT_EQ(c_.count(MessageKind::kCmdKeypairInstall), 0u);
  EXPECT_EQ(c_.dev->stats().drop(DeviceDrop::kBadResponse), 1u);
}

// 3 — an initiation from a key B does not know: dropped, counted, silent.
TEST_F(DeviceTest, T03_UnknownPeerIsDroppedAndCounted) {
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});
  start(c_, {{&b_, true, {"10.8.2.0/24"}}});  // C knows B; B does not know C
  b_.log.clear();
  need_handshake(c_, 0);
  pump();
  EXPECT_EQ(c_.count(MessageKind::kCmdTransmitUdp), 1u);
  EXPECT_TRUE(b_.log.empty());
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kUnknownPeer), 1u);
  EXPECT_EQ(b_.dev->stats().total_drops(), 1u);
  EXPECT_EQ(c_.count(MessageKind::kCmdKeypairInstall), 0u);
}

// 4 — malformed and unauthenticated datagrams: each counted once, no output.
TEST_F(DeviceTest, T04_MalformedDatagramsAreCountedAndIgnored) {
  start_pair();
  // A genuine initiation to tamper with.
  network_up_ = false;
  need_handshake(a_, 0);
  flush(a_);
  const auto sent = a_.of_kind(MessageKind::kCmdTransmitUdp);
  ASSERT_EQ(sent.size(), 1u);
  const std::vector<uint8_t> genuine = payload_of(sent[0]);

  std::vector<uint8_t> random148(148), random92(92), random64(64);
  randombytes_buf(random148.data(), random148.size());
  randombytes_buf(random92.data(), random92.size());
  randombytes_buf(random64.data(), random64.size());
  random148[0] = 1, random148[1] = random148[2] = random148[3] = 0;
  random92[0] = 2, random92[1] = random92[2] = random92[3] = 0;
  random64[0] = 3, random64[1] = random64[2] = random64[3] = 0;
  std::vector<uint8_t> bad_mac1 = genuine;
  bad_mac1[wire::kMac1Offset<wire::MessageInitiation> + 3] ^= 0x10;
  std::vector<uint8_t> bad_reserved = genuine;
  bad_reserved[2] = 1;
  std::vector<uint8_t> truncated(genuine.begin(), genuine.end() - 1);
  std::vector<uint8_t> keepalive(wire::kKeepaliveSize, 0);
  keepalive[0] = 4;
  std::vector<uint8_t> type5(148, 0);
  type5[0] = 5;

  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    shm::Endpoint from;
    DeviceDrop expected;
  };
  const Case cases[] = {
      {"empty", {}, a_.endpoint, DeviceDrop::kMalformed},
      {"short", {1, 0, 0, 0, 9, 9}, a_.endpoint, DeviceDrop::kMalformed},
      {"truncated initiation", truncated, a_.endpoint, DeviceDrop::kMalformed},
      {"reserved byte set", bad_reserved, a_.endpoint, DeviceDrop::kMalformed},
      {"data message", keepalive, a_.endpoint, DeviceDrop::kMalformed},
      {"type 5", type5, a_.endpoint, DeviceDrop::kMalformed},
      {"random initiation", random148, a_.endpoint, DeviceDrop::kBadMac},
      {"random response", random92, a_.endpoint, DeviceDrop::kBadMac},
      {"random cookie reply", random64, a_.endpoint, DeviceDrop::kUnknownIndex},
      {"bad mac1", bad_mac1, a_.endpoint, DeviceDrop::kBadMac},
      {"no source address", genuine, shm::Endpoint{}, DeviceDrop::kMalformed},
  };
  uint64_t total = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    const uint64_t before = b_.dev->stats().drop(c.expected);
    b_.dev->on_handshake_datagram(c.bytes, c.from, false, clock_.now, b_.out);
    EXPECT_TRUE(b_.out.empty());
    EXPECT_EQ(b_.dev->stats().drop(c.expected), before + 1);
    EXPECT_EQ(b_.dev->stats().total_drops(), ++total);
  }
  // The genuine one still works afterwards.
  b_.dev->on_handshake_datagram(genuine, a_.endpoint, false, clock_.now, b_.out);
  EXPECT_EQ(b_.out.size(), 3u);
}

// 5 — under load, an initiation without a cookie gets a cookie reply; the
// initiator's retry carries mac2 and succeeds.
TEST_F(DeviceTest, T05_UnderLoadCookieRoundTrip) {
  start_pair();
  b_.under_load = true;
  need_handshake(a_, 0);
  pump();
  ASSERT_EQ(b_.log.size(), 1u);
  EXPECT_EQ(b_.log[0].kind, MessageKind::kCmdTransmitUdp);
  EXPECT_EQ(b_.log[0].peer, shm::kNoPeer);
  EXPECT_EQ(body_of<shm::CmdTransmitUdp>(b_.log[0]).destination, a_.endpoint)
      << "explicit destination";
  const auto reply = payload_of(b_.log[0]);
  ASSERT_EQ(reply.size(), wire::kCookieReplySize);
  EXPECT_EQ(wire::classify(reply), wire::MessageType::kHandshakeCookie);
  EXPECT_EQ(b_.dev->stats().cookie_replies_sent, 1u);
  EXPECT_EQ(b_.count(MessageKind::kCmdKeypairInstall), 0u);
  EXPECT_EQ(a_.dev->stats().cookie_replies_received, 1u);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairInstall), 0u);

  // The retransmission, 5 s later, carries mac2: B (still loaded) answers.
  clock_.now += wire::kRekeyTimeout;
  tick(a_);
  pump();
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 2u);
  EXPECT_EQ(b_.dev->stats().cookie_replies_sent, 1u);
  ASSERT_EQ(a_.installs().size(), 1u);
  ASSERT_EQ(b_.installs().size(), 1u);
  expect_matching(a_.installs()[0], b_.installs()[0]);
}

TEST_F(DeviceTest, T05b_CookieBindsTheSourcePortAndAddressFamily) {
  a_.endpoint = v6(1, 51820);
  b_.endpoint = v6(2, 51820);
  start_pair();
  b_.under_load = true;
  need_handshake(a_, 0);
  pump();
  ASSERT_EQ(a_.dev->stats().cookie_replies_received, 1u);
  // A moves to another port (NAT rebinding): its cookie no longer fits, so
  // B asks again instead of doing the DH.
  a_.endpoint.port = 40001;
  clock_.now += wire::kRekeyTimeout;
  tick(a_);
  pump();
  EXPECT_EQ(b_.dev->stats().cookie_replies_sent, 2u);
  EXPECT_EQ(b_.count(MessageKind::kCmdKeypairInstall), 0u);
  clock_.now += wire::kRekeyTimeout;
  tick(a_);
  pump();
  EXPECT_EQ(b_.count(MessageKind::kCmdKeypairInstall), 1u);
  expect_matching(a_.installs().at(0), b_.installs().at(0));
}

// Under load, messages with a valid cookie still spend the source's token
// bucket (burst kPacketsBurstPerSource): the one past it is dropped.
TEST_F(DeviceTest, T05c_UnderLoadCookiedSourceIsRateLimited) {
  start_pair();
  b_.under_load = true;
  need_handshake(a_, 0);
  pump();
  ASSERT_EQ(a_.dev->stats().cookie_replies_received, 1u);

  network_up_ = false;
  std::vector<std::vector<uint8_t>> burst;
  for (unsigned i = 0; i <= wire::kPacketsBurstPerSource; ++i) {
    clock_.now += 30 * kMs;  // distinct timestamps
    a_.dev->force_rekey(0, clock_.now, a_.out);
    flush(a_);
    burst.push_back(payload_of(a_.of_kind(MessageKind::kCmdTransmitUdp).back()));
  }
  for (const auto& datagram : burst) {
    b_.dev->on_handshake_datagram(datagram, a_.endpoint, true, clock_.now, b_.out);
  }
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kRateLimited), 1u);
  EXPECT_EQ(b_.dev->stats().initiations_received, 1u);  // the rest: the peer's 50/s limit
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kFlood), wire::kPacketsBurstPerSource - 1);
  EXPECT_EQ(b_.dev->stats().cookie_replies_sent, 1u);
}

// 6a — an initiation nobody answers is retried every kRekeyTimeout, with a
// fresh sender index each time, and given up after kMaxTimerHandshakes retries.
TEST_F(DeviceTest, T06a_UnansweredHandshakeRetriesThenGivesUp) {
  network_up_ = false;
  start_pair();
  const Nanos t0 = clock_.now;
  need_handshake(a_, 0);
  flush(a_);
  ASSERT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 1u);
  // A second request inside kRekeyTimeout is rate limited.
  clock_.now += 1 * kS;
  need_handshake(a_, 0);
  flush(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 1u);

  for (unsigned retry = 1; retry <= wire::kMaxTimerHandshakes; ++retry) {
    SCOPED_TRACE("retry " + std::to_string(retry));
    const Nanos due = t0 + retry * wire::kRekeyTimeout;
    EXPECT_EQ(a_.dev->next_deadline(), due);
    clock_.now = due - 1;
    tick(a_);
    EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), retry);
    clock_.now = due;
    tick(a_);
    ASSERT_EQ(a_.count(MessageKind::kCmdTransmitUdp), retry + 1);
    EXPECT_EQ(a_.dev->peer_view(0).handshake_attempts, retry);
  }
  const auto sent = a_.of_kind(MessageKind::kCmdTransmitUdp);
  std::set<uint32_t> indices;
  for (const auto& m : sent) {
    auto init = wire::parse_initiation(payload_of(m));
    ASSERT_TRUE(init.ok());
    indices.insert(init->sender_index.get());
  }
  EXPECT_EQ(indices.size(), sent.size()) << "every retry names a fresh index";
  EXPECT_EQ(a_.count(MessageKind::kCmdFlushStaged), 0u);

  const Nanos give_up = t0 + (wire::kMaxTimerHandshakes + 1) * wire::kRekeyTimeout;
  clock_.now = give_up;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdFlushStaged), 1u);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), wire::kMaxTimerHandshakes + 1);
  // Then nothing until the key material is zeroed, kKeyWipeTime later.
  EXPECT_EQ(a_.dev->next_deadline(), give_up + wire::kKeyWipeTime);
  clock_.now = give_up + wire::kKeyWipeTime;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairsClear), 1u);
  EXPECT_FALSE(a_.dev->peer_view(0).handshake_in_flight);
  EXPECT_EQ(a_.dev->next_deadline(), timers::kNever);
}

uint64_t constant_jitter(void*) {
  return 200 * kMs;
}

TEST_F(DeviceTest, T06b_RetransmitDeadlineIncludesJitter) {
  network_up_ = false;
  DeviceOptions o = options();
  o.jitter = timers::JitterSource{&constant_jitter, nullptr};
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, std::move(o));
  a_.log.clear();
  const Nanos t0 = clock_.now;
  need_handshake(a_, 0);
  flush(a_);
  EXPECT_EQ(a_.dev->next_deadline(), t0 + wire::kRekeyTimeout + 200 * kMs);
}

// 6c — a peer without an endpoint cannot be sent to; the attempt is counted
// and the retry schedule still runs so that staged packets are dropped in time.
TEST_F(DeviceTest, T06c_NoEndpointIsCountedAndStillGivesUp) {
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});
  b_.log.clear();
  const Nanos t0 = clock_.now;
  need_handshake(b_, 0);
  flush(b_);
  EXPECT_EQ(b_.count(MessageKind::kCmdTransmitUdp), 0u);
  EXPECT_EQ(b_.dev->stats().initiations_without_endpoint, 1u);
  clock_.now = t0 + (wire::kMaxTimerHandshakes + 1) * wire::kRekeyTimeout;
  for (Nanos t = t0; t <= clock_.now; t += wire::kRekeyTimeout) {
    b_.dev->tick(t, b_.out);
  }
  flush(b_);
  EXPECT_EQ(b_.count(MessageKind::kCmdFlushStaged), 1u);
  EXPECT_EQ(b_.dev->stats().initiations_without_endpoint, wire::kMaxTimerHandshakes + 1);
}

// 6d — persistent keepalive: one at once when configured, then one per
// interval after the last packet sent.
TEST_F(DeviceTest, T06d_PersistentKeepalive) {
  const Nanos t0 = clock_.now;
  start(a_, {{&b_, true, {"10.8.2.0/24"}, 25}});
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 1u)
      << "turning it on opens the NAT mapping at once";
  EXPECT_EQ(a_.dev->peer_view(0).persistent_keepalive, 25);
  EXPECT_EQ(a_.dev->next_deadline(), t0 + 25 * kS);
  a_.dev->on_traffic(0, PeerTraffic{}, clock_.now, a_.out);  // baseline

  clock_.now = t0 + 25 * kS - 1;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 1u);
  clock_.now = t0 + 25 * kS;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 2u);

  // The dataplane sent it: the counters show one more packet, no data.
  PeerTraffic t;
  t.tx_packets = 1;
  t.last_tx_ns = clock_.now;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  flush(a_);
  EXPECT_EQ(a_.dev->next_deadline(), t0 + 50 * kS);
  clock_.now = t0 + 50 * kS;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 3u);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 0u);
}

// 6e — the initiator rekeys when it sends 120 s into a session; the responder
// does not (it would race the initiator).
TEST_F(DeviceTest, T06e_RekeyAfterTimeOnSendAsInitiatorOnly) {
  start_pair();
  const auto [ka, kb] = handshake();
  const Nanos t1 = clock_.now;
  confirm(b_, 0, kb.local_index);
  a_.dev->on_traffic(0, PeerTraffic{}, clock_.now, a_.out);
  b_.dev->on_traffic(0, PeerTraffic{}, clock_.now, b_.out);

  PeerTraffic ta, tb;
  auto exchange = [&](Nanos at) {
    clock_.now = at;
    ++ta.tx_packets, ++ta.rx_packets, ++ta.current_send_counter;
    ta.last_tx_ns = ta.last_tx_data_ns = ta.last_rx_ns = ta.last_rx_data_ns = at;
    ++tb.tx_packets, ++tb.rx_packets, ++tb.current_send_counter;
    tb.last_tx_ns = tb.last_tx_data_ns = tb.last_rx_ns = tb.last_rx_data_ns = at;
    b_.dev->on_traffic(0, tb, at, b_.out);
    flush(b_);
    a_.dev->on_traffic(0, ta, at, a_.out);
    flush(a_);
  };
  exchange(t1 + 60 * kS);
  exchange(t1 + wire::kRekeyAfterTime - 1);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 1u);
  EXPECT_EQ(b_.count(MessageKind::kCmdTransmitUdp), 1u);  // its one response

  exchange(t1 + wire::kRekeyAfterTime);
  pump();
  EXPECT_EQ(b_.count(MessageKind::kCmdTransmitUdp), 2u) << "B only answered";
  ASSERT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 2u);
  ASSERT_EQ(a_.installs().size(), 2u);
  ASSERT_EQ(b_.installs().size(), 2u);
  expect_matching(a_.installs()[1], b_.installs()[1]);
  EXPECT_NE(a_.installs()[1].local_index, ka.local_index);
  const PeerView va = a_.dev->peer_view(0);
  EXPECT_EQ(va.current_local_index, a_.installs()[1].local_index);
  EXPECT_TRUE(va.has_previous);
}

// 6f — no rekey: at kRejectAfterTime both sides retire their keypairs.
TEST_F(DeviceTest, T06f_KeypairsClearedAtRejectAfterTime) {
  start_pair();
  handshake();
  const Nanos t1 = clock_.now;
  clock_.now = t1 + wire::kRejectAfterTime - 1;
  tick(a_);
  tick(b_);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairsClear), 0u);
  EXPECT_EQ(b_.count(MessageKind::kCmdKeypairsClear), 0u);
  clock_.now = t1 + wire::kRejectAfterTime;
  tick(a_);
  tick(b_);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairsClear), 1u);
  EXPECT_EQ(b_.count(MessageKind::kCmdKeypairsClear), 1u);
  EXPECT_FALSE(a_.dev->peer_view(0).has_current);
  EXPECT_FALSE(b_.dev->peer_view(0).has_next);
}

// 6g — after a rekey, the old keypair reaching 180 s must not take the fresh
// one with it ("clear" retires every keypair of the peer).
TEST_F(DeviceTest, T06g_ExpiredPreviousDoesNotClearAFreshCurrent) {
  start_pair();
  handshake();
  const Nanos t1 = clock_.now;
  clock_.now = t1 + 121 * kS;
  a_.dev->force_rekey(0, clock_.now, a_.out);
  pump();
  ASSERT_EQ(a_.installs().size(), 2u);
  const Nanos t2 = clock_.now;

  clock_.now = t1 + wire::kRejectAfterTime;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairsClear), 0u);
  EXPECT_TRUE(a_.dev->peer_view(0).has_current);
  clock_.now = t2 + wire::kRejectAfterTime;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairsClear), 1u);
}

// 6h — the traffic the dataplane counted drives the kernel's timers: data
// received and nothing sent back -> a keepalive after kKeepaliveTimeout; data
// sent and nothing heard -> a new handshake after kKeepaliveTimeout +
// kRekeyTimeout; keepalives sent expect no answer.
TEST_F(DeviceTest, T06h_TrafficDrivesKeepaliveAndNewHandshake) {
  start_pair();
  handshake();
  a_.log.clear();
  const Nanos t1 = clock_.now;
  a_.dev->on_traffic(0, PeerTraffic{}, t1, a_.out);

  // A keepalive received needs no keepalive back.
  PeerTraffic t;
  t.rx_packets = 1;
  t.last_rx_ns = t1 + 1 * kS;
  clock_.now = t1 + 1 * kS;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  clock_.now = t1 + 11 * kS;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 0u);

  // Data received, nothing sent back.
  t.rx_packets = 2;
  t.last_rx_ns = t.last_rx_data_ns = t1 + 12 * kS;
  clock_.now = t1 + 12 * kS;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  clock_.now = t1 + 22 * kS - 1;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 0u);
  clock_.now = t1 + 22 * kS;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 1u);

  // The keepalive went out (no data): no new handshake is expected for it.
  t.tx_packets = 1;
  t.last_tx_ns = clock_.now;
  t.current_send_counter = 1;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  clock_.now = t1 + 40 * kS;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 0u);

  // Data sent and no answer: a new handshake 15 s later.
  const Nanos sent_at = t1 + 41 * kS;
  clock_.now = sent_at;
  t.tx_packets = 2;
  t.last_tx_ns = t.last_tx_data_ns = sent_at;
  t.current_send_counter = 2;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  clock_.now = sent_at + wire::kKeepaliveTimeout + wire::kRekeyTimeout - 1;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 0u);
  clock_.now = sent_at + wire::kKeepaliveTimeout + wire::kRekeyTimeout;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 1u);
}

// Indices are released when what they named is gone: a superseded initiation,
// a keypair rotated out. With only three candidate values, any leak would
// exhaust the table within a few handshakes.
TEST_F(DeviceTest, T13_IndicesAreReleasedWithWhatTheyName) {
  DeviceOptions o = options();
  o.index_rng = [n = 0u]() mutable { return 11u + (n++ % 3u); };
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, std::move(o));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});

  // Retries of an unanswered initiation.
  network_up_ = false;
  need_handshake(a_, 0);
  flush(a_);
  const auto superseded = payload_of(a_.of_kind(MessageKind::kCmdTransmitUdp).back());
  for (int i = 0; i < 5; ++i) {
    clock_.now += wire::kRekeyTimeout;
    tick(a_);
  }
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 6u);

  // The responder answers the first, superseded initiation: A refuses it.
  network_up_ = true;
  b_.dev->on_handshake_datagram(superseded, a_.endpoint, false, clock_.now, b_.out);
  pump();
  EXPECT_EQ(a_.installs().size(), 0u);
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kUnknownIndex), 1u);

  // Many rotations: current, previous and one in flight fit in three indices.
  for (int i = 0; i < 8; ++i) {
    clock_.now += 6 * kS;
    a_.dev->force_rekey(0, clock_.now, a_.out);
    pump();
  }
  EXPECT_EQ(a_.installs().size(), 8u);
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kIndexExhausted), 0u);
  expect_matching(a_.installs().back(), b_.installs().back());
}

// 7 — a replayed initiation is refused; so is a fresh one inside 1/50 s.
TEST_F(DeviceTest, T07_ReplayedInitiationIsRejected) {
  start_pair();
  network_up_ = false;
  need_handshake(a_, 0);
  flush(a_);
  const auto first = payload_of(a_.of_kind(MessageKind::kCmdTransmitUdp).at(0));
  const Nanos t1 = clock_.now;
  b_.dev->on_handshake_datagram(first, a_.endpoint, false, clock_.now, b_.out);
  EXPECT_EQ(b_.out.size(), 3u);
  flush(b_);

  clock_.now = t1 + 1 * kS;
  b_.dev->on_handshake_datagram(first, a_.endpoint, false, clock_.now, b_.out);
  EXPECT_TRUE(b_.out.empty());
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kReplay), 1u);
  EXPECT_EQ(b_.installs().size(), 1u);

  // A newer initiation arriving 10 ms after the last accepted one: flood.
  clock_.now = t1 + 2 * kS;  // its timestamp
  a_.dev->force_rekey(0, clock_.now, a_.out);
  flush(a_);
  const auto second = payload_of(a_.of_kind(MessageKind::kCmdTransmitUdp).at(1));
  b_.dev->on_handshake_datagram(second, a_.endpoint, false, t1 + 10 * kMs, b_.out);
  EXPECT_TRUE(b_.out.empty());
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kFlood), 1u);
  // Later it is accepted: the flood check refused it without recording it.
  b_.dev->on_handshake_datagram(second, a_.endpoint, false, t1 + 2 * kS, b_.out);
  EXPECT_EQ(b_.out.size(), 3u);
}

// 8 — a restarted control plane adopts the dataplane's keypair: nothing is
// sent, the rekey comes on the session's schedule, and the adopted index is
// never handed out again.
TEST_F(DeviceTest, T08_AdoptThenRekey) {
  start_pair();
  const auto [ka, kb] = handshake();
  const Nanos t1 = clock_.now;
  confirm(b_, 0, kb.local_index);

  // Restart A. Its index source first offers the adopted index.
  std::vector<uint32_t> draws;
  auto offered = std::make_shared<std::vector<uint32_t>>(
      std::vector<uint32_t>{ka.local_index, ka.local_index, 0x0a0a0a0a, 0x0b0b0b0b, 0x0c0c0c0c});
  DeviceOptions o = options();
  o.index_rng = [offered, n = size_t{0}]() mutable {
    return (*offered)[std::min(n++, offered->size() - 1)];
  };
  auto dev = Device::create(make_config(a_, {{&b_, true, {"10.8.2.0/24"}}}), std::move(o));
  ASSERT_TRUE(dev.ok());
  a_.dev = std::move(*dev);
  a_.log.clear();
  clock_.now = t1 + 30 * kS;

  AdoptedPeer held;
  held.current = AdoptedKeypair{ka.local_index, ka.remote_index, ka.birth_ns, true, 1000};
  held.endpoint = b_.endpoint;
  a_.dev->adopt(0, held, clock_.now);
  EXPECT_TRUE(a_.out.empty()) << "adopting must not disturb the session";
  const PeerView adopted = a_.dev->peer_view(0);
  EXPECT_TRUE(adopted.has_current);
  EXPECT_EQ(adopted.current_local_index, ka.local_index);
  EXPECT_EQ(adopted.last_handshake_ns, t1);
  EXPECT_EQ(adopted.endpoint, b_.endpoint);

  // Re-installing the peers keeps the dataplane's endpoint.
  a_.dev->install_peers(clock_.now, a_.out);
  flush(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdEndpointSet), 0u);
  ASSERT_EQ(a_.count(MessageKind::kCmdPeerSet), 1u);
  EXPECT_EQ(body_of<shm::CmdPeerSet>(a_.of_kind(MessageKind::kCmdPeerSet)[0]).endpoint.family, 0);
  a_.log.clear();

  // Nothing fires before the session's own deadlines.
  EXPECT_EQ(a_.dev->next_deadline(), t1 + wire::kRejectAfterTime);
  a_.dev->on_traffic(0, PeerTraffic{.tx_packets = 50, .current_send_counter = 1000}, clock_.now,
                     a_.out);
  PeerTraffic t{.rx_packets = 3,
                .tx_packets = 51,
                .last_rx_ns = t1 + 119 * kS,
                .last_rx_data_ns = t1 + 119 * kS,
                .last_tx_ns = t1 + 119 * kS,
                .last_tx_data_ns = t1 + 119 * kS,
                .current_send_counter = 1001};
  clock_.now = t1 + 119 * kS;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  flush(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdTransmitUdp), 0u);

  // Sending at 120 s of the adopted session's age: rekey.
  clock_.now = t1 + wire::kRekeyAfterTime;
  ++t.tx_packets;
  t.last_tx_ns = t.last_tx_data_ns = clock_.now;
  a_.dev->on_traffic(0, t, clock_.now, a_.out);
  pump();
  const auto sent = a_.of_kind(MessageKind::kCmdTransmitUdp);
  ASSERT_EQ(sent.size(), 1u);
  auto init = wire::parse_initiation(payload_of(sent[0]));
  ASSERT_TRUE(init.ok());
  EXPECT_EQ(init->sender_index.get(), 0x0a0a0a0au) << "the adopted index was skipped";

  ASSERT_EQ(a_.installs().size(), 1u);
  ASSERT_EQ(b_.installs().size(), 2u);
  expect_matching(a_.installs()[0], b_.installs()[1]);
  const PeerView va = a_.dev->peer_view(0);
  EXPECT_EQ(va.current_local_index, 0x0a0a0a0au);
  EXPECT_TRUE(va.has_previous);
}

TEST_F(DeviceTest, T08b_AdoptedKeypairExpiresOnSchedule) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}});
  a_.log.clear();
  const Nanos birth = clock_.now;
  clock_.now += 100 * kS;
  a_.dev->adopt(0, AdoptedKeypair{0x12345678, 0x9abcdef0, birth, false, 0}, clock_.now);
  EXPECT_TRUE(a_.dev->peer_view(0).has_current);
  EXPECT_EQ(a_.dev->next_deadline(), birth + wire::kRejectAfterTime);
  clock_.now = birth + wire::kRejectAfterTime;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairsClear), 1u);
  EXPECT_FALSE(a_.dev->peer_view(0).has_current);
}

// 9 — install_peers: one PeerSet per peer, the endpoint when configured, and
// every allowed prefix (canonical).
TEST_F(DeviceTest, T09_InstallPeersEmitsPeersEndpointsAndPrefixes) {
  start(a_, {{&b_, true, {"10.8.1.0/24", "fd00:1::/64"}},
             {&c_, false, {"10.8.3.9/24", "10.9.0.7/32"}}});
  const auto& log = a_.log;
  ASSERT_EQ(log.size(), 7u);

  EXPECT_EQ(log[0].kind, MessageKind::kCmdPeerSet);
  EXPECT_EQ(log[0].peer, 0u);
  const auto set0 = body_of<shm::CmdPeerSet>(log[0]);
  EXPECT_EQ(0, memcmp(set0.public_key, b_.pub.data(), 32));
  EXPECT_EQ(set0.endpoint, b_.endpoint);
  EXPECT_EQ(log[1].kind, MessageKind::kCmdEndpointSet);
  EXPECT_EQ(body_of<shm::Endpoint>(log[1]), b_.endpoint);

  struct Want {
    size_t at;
    uint32_t peer;
    uint8_t family, cidr;
    std::vector<uint8_t> addr;
  };
  const Want wants[] = {
      {2, 0, 4, 24, {10, 8, 1, 0}},
      {3, 0, 6, 64, {0xfd, 0, 0, 1}},
      {5, 1, 4, 24, {10, 8, 3, 0}},
      {6, 1, 4, 32, {10, 9, 0, 7}},
  };
  for (const Want& w : wants) {
    SCOPED_TRACE("message " + std::to_string(w.at));
    EXPECT_EQ(log[w.at].kind, MessageKind::kCmdAllowedIpAdd);
    EXPECT_EQ(log[w.at].peer, w.peer);
    const auto add = body_of<shm::CmdAllowedIp>(log[w.at]);
    EXPECT_EQ(add.family, w.family);
    EXPECT_EQ(add.cidr, w.cidr);
    uint8_t expected[16] = {};
    std::memcpy(expected, w.addr.data(), w.addr.size());
    EXPECT_EQ(0, memcmp(add.addr, expected, 16));
  }
  EXPECT_EQ(log[4].kind, MessageKind::kCmdPeerSet);
  EXPECT_EQ(log[4].peer, 1u);
  const auto set1 = body_of<shm::CmdPeerSet>(log[4]);
  EXPECT_EQ(0, memcmp(set1.public_key, c_.pub.data(), 32));
  EXPECT_EQ(set1.endpoint.family, 0) << "no endpoint configured";
  for (const auto& m : log) EXPECT_EQ(m.length > 0, m.kind != MessageKind::kCmdKeypairsClear);
}

TEST_F(DeviceTest, T10_CreateRefusesDuplicateAndOwnKeys) {
  auto dup = Device::create(make_config(a_, {{&b_, true, {}}, {&b_, false, {}}}), options());
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Errc::kInvalidArgument);
  auto self = Device::create(make_config(a_, {{&a_, false, {}}}), options());
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code, Errc::kInvalidArgument);
  config::Config bad_prefix = make_config(a_, {{&b_, true, {"10.0.0.0/8"}}});
  bad_prefix.peers[0].allowed_ips[0].cidr = 33;
  auto invalid = Device::create(bad_prefix, options());
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.error().code, Errc::kInvalidArgument);
  EXPECT_TRUE(Device::create(make_config(a_, {{&b_, true, {"10.0.0.0/8"}}}), options()).ok());
}

TEST_F(DeviceTest, T11_EventsForUnknownPeersOrKindsAreCounted) {
  start_pair();
  shm::RingMessage ev{};
  ev.kind = MessageKind::kEventNeedHandshake;
  ev.peer = 7;
  a_.dev->on_event(ev, clock_.now, a_.out);
  ev.peer = 0;
  ev.kind = MessageKind::kCmdPeerSet;  // not an event
  a_.dev->on_event(ev, clock_.now, a_.out);
  ev.kind = MessageKind::kEventKeypairConfirmed;  // no body
  a_.dev->on_event(ev, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kBadEvent), 3u);

  // An endpoint change moves where the next initiation goes.
  const shm::Endpoint moved = v4(203, 0, 113, 9, 6000);
  ev.kind = MessageKind::kEventEndpointChanged;
  std::memcpy(ev.body, &moved, sizeof(moved));
  ev.length = sizeof(moved);
  a_.dev->on_event(ev, clock_.now, a_.out);
  EXPECT_EQ(a_.dev->peer_view(0).endpoint, moved);
}

// The responder keeps one "next": a second handshake replaces an unconfirmed
// one, and a confirmation of the replaced one is stale.
TEST_F(DeviceTest, T12_ResponderReplacesUnconfirmedNext) {
  start_pair();
  const auto [ka1, kb1] = handshake();
  clock_.now += 6 * kS;
  const auto [ka2, kb2] = handshake();
  EXPECT_NE(kb1.local_index, kb2.local_index);
  EXPECT_EQ(b_.dev->peer_view(0).next_local_index, kb2.local_index);
  confirm(b_, 0, kb1.local_index);
  EXPECT_EQ(b_.dev->stats().drop(DeviceDrop::kStaleEvent), 1u);
  confirm(b_, 0, kb2.local_index);
  EXPECT_EQ(b_.dev->peer_view(0).current_local_index, kb2.local_index);
  // The initiator kept the first keypair as previous.
  EXPECT_EQ(a_.dev->peer_view(0).current_local_index, ka2.local_index);
  EXPECT_TRUE(a_.dev->peer_view(0).has_previous);
  (void)ka1;
}

TEST(DeviceOutbox, WipeZeroesKeysAndEmpties) {
  Outbox out(2);
  out[0].kind = MessageKind::kCmdKeypairInstall;
  std::memset(out[0].body, 0xab, 64);
  const shm::RingMessage* data = out.data();
  wipe_outbox(out);
  EXPECT_TRUE(out.empty());
  for (size_t i = 0; i < 64; ++i)
    EXPECT_EQ(data[0].body[i], 0) << i;  // capacity kept, bytes zeroed
}

}  // namespace
}  // namespace wirespeed::controlplane::device
