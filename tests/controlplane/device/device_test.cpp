// Device: handshakes as initiator and responder, psk, malformed input,
// cookies under load, replay, install_peers, create refusals, events.
#include "tests/controlplane/device/device_fixture.hpp"

namespace wirespeed::controlplane::device::test {
namespace {
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
}  // namespace wirespeed::controlplane::device::test
