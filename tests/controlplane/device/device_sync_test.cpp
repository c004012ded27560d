// Device::sync (wg syncconf, SIGHUP reload), set_private_key, and the
// DeviceEvents the protocol side reports (handshakes, up/down, give-up,
// roaming). Sessions that must survive are made by real handshakes between
// two Devices and checked by their keypair indices and by the absence of any
// command for their slot.
#include "tests/controlplane/device/config_fixture.hpp"

namespace wirespeed::controlplane::device::test {
namespace {

using K = DeviceEventKind;
using Lines = std::vector<std::string>;

std::vector<shm::RingMessage> for_slot(const std::vector<shm::RingMessage>& ms, uint32_t slot) {
  std::vector<shm::RingMessage> r;
  for (const auto& m : ms)
    if (m.peer == slot) r.push_back(m);
  return r;
}

class DeviceSyncTest : public DeviceConfigTest {
 protected:
  // A: B in slot 0 (with a session, made by a handshake), C in slot 1.
  void start_with_session() {
    start(a_, {{&b_, true, {"10.8.2.0/24"}}, {&c_, true, {"10.8.3.0/24"}}}, recorded(events_a_));
    start(b_, {{&a_, false, {"10.8.1.0/24"}}}, recorded(events_b_));
    model_.apply(a_.log);
    const auto [ka, kb] = handshake();
    expect_matching(ka, kb);
    session_index_ = ka.local_index;
    ASSERT_EQ(a_.dev->peer_view(0).current_local_index, session_index_);
    events_a_.all.clear();
    events_b_.all.clear();
  }
  config::Config base_config() {
    return make_config(a_, {{&b_, true, {"10.8.2.0/24"}}, {&c_, true, {"10.8.3.0/24"}}});
  }
  void expect_session_kept() {
    const PeerView v = a_.dev->peer_view(0);
    EXPECT_TRUE(v.has_current);
    EXPECT_EQ(v.current_local_index, session_index_);
  }

  DataplaneModel model_;
  uint32_t session_index_ = 0;
};

// S01 — the same configuration again: nothing at all.
TEST_F(DeviceSyncTest, S01_SyncWithTheSameConfigEmitsNothing) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  a_.dev->sync(base_config(), clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty()) << ::testing::PrintToString(describe(a_.out));
  EXPECT_TRUE(events_a_.all.empty()) << ::testing::PrintToString(events_a_.lines());
  expect_session_kept();

  // The session still works after the sync: B confirms it and a rekey from
  // A completes with B (same keys on both sides as before).
  clock_.now += 6 * kS;
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
}

// S02 — removed, added and changed peers; the unchanged one is not touched.
TEST_F(DeviceSyncTest, S02_SyncAddsRemovesAndChangesPeers) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  const crypto::PublicKey d = random_public_key(), e = random_public_key();
  ASSERT_EQ(*a_.dev->add_peer(peer_config(d, {"10.8.4.0/24"}), clock_.now, a_.out), 2u);
  (void)emitted(a_, &model_);
  events_a_.all.clear();

  crypto::Key psk;
  randombytes_buf(psk.data(), psk.size());
  config::Config next = make_config(a_, {{&b_, true, {"10.8.2.0/24"}}});
  config::PeerConfig c =
      peer_config(c_.pub, {"10.8.3.0/24", "10.8.33.0/24"}, v4(198, 51, 100, 30, 4), 25);
  c.preshared_key = psk.clone();
  c.name = "branch-c";
  next.peers.push_back(std::move(c));
  next.peers.push_back(peer_config(e, {"10.8.5.0/24"}, v6(9, 51820)));

  a_.dev->sync(next, clock_.now, a_.out);
  const auto got = emitted(a_, &model_);
  EXPECT_EQ(describe(got), (Lines{"peer_remove 2", "keepalive 1", "add 1 10.8.33.0/24",
                                  "endpoint 1", "peer_set 2", "endpoint 2", "add 2 10.8.5.0/24"}));
  EXPECT_TRUE(for_slot(got, 0).empty());
  expect_session_kept();
  expect_model_matches(model_, *a_.dev);

  const PeerView vc = a_.dev->peer_view(1);
  EXPECT_EQ(vc.name, "branch-c");
  EXPECT_EQ(vc.persistent_keepalive, 25);
  EXPECT_EQ(vc.endpoint, v4(198, 51, 100, 30, 4));
  ASSERT_TRUE(a_.dev->preshared_key(1).has_value());
  EXPECT_TRUE(a_.dev->preshared_key(1)->equals(psk));
  EXPECT_EQ(a_.dev->peer_view(2).public_key, e);
  EXPECT_FALSE(a_.dev->find_peer(d));

  EXPECT_EQ(events_a_.lines(),
            (Lines{line(K::kPeerRemoved, 2), line(K::kPeerChanged, 1, "name"),
                   line(K::kPeerChanged, 1, "preshared key"),
                   line(K::kPeerChanged, 1, "persistent keepalive"),
                   line(K::kPeerChanged, 1, "allowed ips"), line(K::kPeerChanged, 1, "endpoint"),
                   line(K::kPeerAdded, 2)}));

  // And back: every change undone, B still untouched.
  a_.dev->sync(base_config(), clock_.now, a_.out);
  const auto back = emitted(a_, &model_);
  EXPECT_EQ(describe(back), (Lines{"peer_remove 2", "remove 1 10.8.33.0/24", "endpoint 1"}));
  expect_session_kept();
  expect_model_matches(model_, *a_.dev);
  EXPECT_EQ(a_.dev->peer_view(1).persistent_keepalive, 0);
  EXPECT_FALSE(a_.dev->peer_view(1).has_preshared_key);
}

// S03 — a peer that roamed stays where it went unless the configured
// endpoint itself changed; a dropped endpoint leaves the live one alone.
TEST_F(DeviceSyncTest, S03_SyncKeepsARoamedEndpoint) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  const shm::Endpoint roamed = v4(203, 0, 113, 7, 999);
  shm::RingMessage ev{};
  ev.kind = MessageKind::kEventEndpointChanged;
  ev.peer = 0;
  std::memcpy(ev.body, &roamed, sizeof(roamed));
  ev.length = sizeof(roamed);
  a_.dev->on_event(ev, clock_.now, a_.out);

  a_.dev->sync(base_config(), clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(a_.dev->peer_view(0).endpoint, roamed);

  config::Config moved = base_config();
  moved.peers[0].endpoint = to_config(v4(192, 0, 2, 99, 51820));
  a_.dev->sync(moved, clock_.now, a_.out);
  const auto got = emitted(a_);
  ASSERT_EQ(describe(got), Lines{"endpoint 0"});
  EXPECT_EQ(body_of<shm::Endpoint>(got[0]), v4(192, 0, 2, 99, 51820));

  config::Config none = base_config();
  none.peers[0].endpoint.reset();
  a_.dev->sync(none, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(a_.dev->peer_view(0).endpoint, v4(192, 0, 2, 99, 51820));
  expect_session_kept();
}

// S04 — an allowed IP that changes owner in the file: routed to the new
// owner, never withdrawn behind its back; also from a removed peer to a new one.
TEST_F(DeviceSyncTest, S04_SyncMovesAllowedIps) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  config::Config next =
      make_config(a_, {{&b_, true, {"10.8.2.0/24", "10.8.3.0/24"}}, {&c_, true, {"10.8.30.0/24"}}});
  a_.dev->sync(next, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model_)), (Lines{"add 0 10.8.3.0/24", "add 1 10.8.30.0/24"}));
  expect_model_matches(model_, *a_.dev);
  EXPECT_EQ(model_.routes.at(prefix("10.8.3.0/24")), 0u);
  expect_session_kept();

  // C leaves; a new peer takes its prefix.
  const crypto::PublicKey d = random_public_key();
  config::Config swap = make_config(a_, {{&b_, true, {"10.8.2.0/24", "10.8.3.0/24"}}});
  swap.peers.push_back(peer_config(d, {"10.8.30.0/24"}));
  a_.dev->sync(swap, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model_)),
            (Lines{"peer_remove 1", "peer_set 1", "add 1 10.8.30.0/24"}));
  expect_model_matches(model_, *a_.dev);
  EXPECT_EQ(a_.dev->peer_view(1).public_key, d);
  expect_session_kept();
}

// S05 — at kMaxPeers, a file that swaps one peer for another still fits:
// removals come first and the new peer takes the freed slot.
TEST_F(DeviceSyncTest, S05_SyncSwapsAPeerAtTheSlotLimit) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  config::Config full = base_config();
  for (uint32_t i = 2; i < shm::kMaxPeers; ++i) {
    const std::string p =
        "10." + std::to_string(100 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
    full.peers.push_back(peer_config(random_public_key(), {p.c_str()}));
  }
  a_.dev->sync(full, clock_.now, a_.out);
  (void)emitted(a_, &model_);
  ASSERT_EQ(a_.dev->peer_count(), shm::kMaxPeers);

  config::Config swapped = base_config();
  for (uint32_t i = 2; i < shm::kMaxPeers; ++i) {
    if (i == 700) continue;
    swapped.peers.push_back(peer_config(
        full.peers[i].public_key, {peers::format_prefix(full.peers[i].allowed_ips[0]).c_str()}));
  }
  const crypto::PublicKey d = random_public_key();
  swapped.peers.push_back(peer_config(d, {"10.8.70.0/24"}));
  a_.dev->sync(swapped, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model_)),
            (Lines{"peer_remove 700", "peer_set 700", "add 700 10.8.70.0/24"}));
  EXPECT_EQ(a_.dev->find_peer(d), std::optional<uint32_t>(700));
  expect_model_matches(model_, *a_.dev);
  expect_session_kept();
}

// P01 — a new private key: every session cleared (only where one exists),
// handshakes restart at once under the new identity.
TEST_F(DeviceSyncTest, P01_NewPrivateKeyRestartsSessions) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  crypto::PrivateKey k2 = crypto::generate_private_key();
  const crypto::PublicKey p2 = crypto::public_key(k2);
  a_.dev->set_private_key(k2, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_)), Lines{"clear 0"}) << "C had no session";
  EXPECT_EQ(events_a_.lines(), (Lines{line(K::kPeerDown, 0, "private key changed"),
                                      line(K::kPrivateKeyChanged, shm::kNoPeer)}));
  EXPECT_EQ(a_.dev->public_key(), p2);
  EXPECT_TRUE(a_.dev->private_key().equals(k2));
  EXPECT_FALSE(a_.dev->peer_view(0).has_current);
  EXPECT_EQ(a_.dev->peer_view(0).last_handshake_ns, clock_.now) << "latest handshake stays";

  // The same key again is no change.
  a_.dev->set_private_key(k2, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(events_a_.all.size(), 2u);

  // B still knows the old public key: its initiation is not for A any more.
  // (Forced, and no time passes: A's handshake rate limit must not apply to
  // the new identity below.)
  const uint64_t drops = a_.dev->stats().total_drops();
  b_.dev->force_rekey(0, clock_.now, b_.out);
  pump();
  ASSERT_EQ(b_.count(MessageKind::kCmdTransmitUdp), 2u) << "response, then the forced initiation";
  EXPECT_GT(a_.dev->stats().total_drops(), drops);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairInstall), 1u);

  // B learns the new key; A's next packet handshakes at once (no rate
  // limit carried over from the old identity).
  b_.dev->remove_peer(0, clock_.now, b_.out);
  ASSERT_EQ(*b_.dev->add_peer(peer_config(p2, {"10.8.1.0/24"}), clock_.now, b_.out), 0u);
  flush(b_);
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
  EXPECT_EQ(events_a_.count(K::kPeerUp, 0), 1u);
}

// P02 — the new public key is a peer's: that peer is removed (kernel).
TEST_F(DeviceSyncTest, P02_NewKeyEqualToAPeersKeyRemovesThePeer) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  a_.dev->set_private_key(c_.key, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_)), (Lines{"peer_remove 1", "clear 0"}));
  EXPECT_FALSE(a_.dev->find_peer(c_.pub));
  EXPECT_EQ(a_.dev->public_key(), c_.pub);
  EXPECT_EQ(a_.dev->peer_count(), 1u);
}

// P03 — an initiation in flight under the old key is abandoned: its
// response (whose mac1 B keys with the old public key) installs nothing.
TEST_F(DeviceSyncTest, P03_HandshakeInFlightIsAbandoned) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});
  network_up_ = false;
  need_handshake(a_, 0);
  const auto sent = emitted(a_);
  ASSERT_EQ(describe(sent), Lines{"transmit 0"});
  EXPECT_TRUE(a_.dev->peer_view(0).handshake_in_flight);

  a_.dev->set_private_key(crypto::generate_private_key(), clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty()) << "no session, nothing to clear";
  EXPECT_FALSE(a_.dev->peer_view(0).handshake_in_flight);

  // The old initiation reaches B after all; B's response comes back.
  network_up_ = true;
  const auto payload = payload_of(sent[0]);
  b_.dev->on_handshake_datagram(payload, a_.endpoint, false, clock_.now, b_.out);
  pump();
  EXPECT_EQ(b_.count(MessageKind::kCmdTransmitUdp), 1u);
  EXPECT_EQ(a_.dev->stats().total_drops(), 1u);
  EXPECT_EQ(a_.count(MessageKind::kCmdKeypairInstall), 0u);
}

// P04 — sync carries the private key too.
TEST_F(DeviceSyncTest, P04_SyncWithANewPrivateKey) {
  ASSERT_NO_FATAL_FAILURE(start_with_session());
  config::Config next = base_config();
  next.private_key = crypto::generate_private_key();
  const crypto::PublicKey p2 = crypto::public_key(next.private_key);
  a_.dev->sync(next, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_)), Lines{"clear 0"});
  EXPECT_EQ(a_.dev->public_key(), p2);
}

// E01 — the events of one handshake on both sides.
TEST_F(DeviceSyncTest, E01_HandshakeEvents) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}}, recorded(events_b_));
  const auto [ka, kb] = handshake();
  EXPECT_EQ(events_a_.lines(), (Lines{line(K::kHandshakeInitiated, 0, "traffic"),
                                      line(K::kHandshakeComplete, 0), line(K::kPeerUp, 0)}));
  const auto complete_a = events_a_.of(K::kHandshakeComplete);
  ASSERT_EQ(complete_a.size(), 1u);
  EXPECT_TRUE(complete_a[0].as_initiator);
  EXPECT_EQ(complete_a[0].endpoint, b_.endpoint);

  EXPECT_EQ(events_b_.lines(), Lines{line(K::kHandshakeComplete, 0)});
  EXPECT_FALSE(events_b_.all[0].as_initiator);
  EXPECT_EQ(events_b_.all[0].endpoint, a_.endpoint);
  confirm(b_, 0, kb.local_index);
  EXPECT_EQ(events_b_.lines(), (Lines{line(K::kHandshakeComplete, 0), line(K::kPeerUp, 0)}));

  // A rekey on an up peer is not "up" again.
  clock_.now += 6 * kS;
  a_.dev->force_rekey(0, clock_.now, a_.out);
  pump();
  EXPECT_EQ(events_a_.lines(),
            (Lines{line(K::kHandshakeInitiated, 0, "traffic"), line(K::kHandshakeComplete, 0),
                   line(K::kPeerUp, 0), line(K::kHandshakeInitiated, 0, "forced"),
                   line(K::kHandshakeComplete, 0)}));

  // Expiry: every keypair past kRejectAfterTime, the peer is down.
  clock_.now += wire::kRejectAfterTime;
  tick(a_);
  EXPECT_EQ(events_a_.count(K::kPeerDown, 0), 1u);
  EXPECT_STREQ(events_a_.of(K::kPeerDown)[0].detail, "expired");
}

// E03 — a handshake from a new address is roaming too.
TEST_F(DeviceSyncTest, E03_HandshakeFromANewAddressIsReportedAsRoaming) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}}, recorded(events_b_));
  (void)handshake();
  EXPECT_TRUE(events_b_.of(K::kEndpointChanged).empty()) << "the first address is no roaming";
  a_.endpoint = v4(192, 0, 2, 77, 41000);
  clock_.now += 6 * kS;
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
  const auto roamed = events_b_.of(K::kEndpointChanged);
  ASSERT_EQ(roamed.size(), 1u);
  EXPECT_EQ(roamed[0].endpoint, a_.endpoint);
  EXPECT_EQ(b_.dev->peer_view(0).endpoint, a_.endpoint);
}

// E02 — retries carry their number; giving up is reported.
TEST_F(DeviceSyncTest, E02_RetriesAndGiveUp) {
  network_up_ = false;
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});
  const Nanos t0 = clock_.now;
  need_handshake(a_, 0);
  flush(a_);
  for (unsigned retry = 1; retry <= wire::kMaxTimerHandshakes; ++retry) {
    clock_.now = t0 + retry * wire::kRekeyTimeout;
    tick(a_);
  }
  const auto initiated = events_a_.of(K::kHandshakeInitiated);
  ASSERT_EQ(initiated.size(), wire::kMaxTimerHandshakes + 1);
  EXPECT_STREQ(initiated[0].detail, "traffic");
  for (unsigned retry = 1; retry <= wire::kMaxTimerHandshakes; ++retry) {
    EXPECT_STREQ(initiated[retry].detail, "retry");
    EXPECT_EQ(initiated[retry].attempt, retry);
  }
  EXPECT_TRUE(events_a_.of(K::kHandshakeGaveUp).empty());
  clock_.now = t0 + (wire::kMaxTimerHandshakes + 1) * wire::kRekeyTimeout;
  tick(a_);
  EXPECT_EQ(events_a_.count(K::kHandshakeGaveUp, 0), 1u);
  EXPECT_TRUE(events_a_.of(K::kPeerDown).empty()) << "never up";
}

}  // namespace
}  // namespace wirespeed::controlplane::device::test
