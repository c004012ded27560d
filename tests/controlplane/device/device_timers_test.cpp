// Device: every protocol timer driven by a fake clock, adoption after a
// control-plane restart, and index release.
#include "tests/controlplane/device/device_fixture.hpp"

namespace wirespeed::controlplane::device::test {
namespace {
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

}  // namespace
}  // namespace wirespeed::controlplane::device::test
