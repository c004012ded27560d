// Device runtime configuration, one setter at a time: add_peer, remove_peer
// (slots reused lowest first), set_endpoint, set_preshared_key,
// set_persistent_keepalive, set_allowed_ips / add_allowed_ips (prefixes
// moving between peers), the refusals — each checked by the exact commands
// emitted, by peer_view and against a model of the dataplane's applier.
#include <random>

#include "tests/controlplane/device/config_fixture.hpp"

namespace wirespeed::controlplane::device::test {
namespace {

using K = DeviceEventKind;
using Lines = std::vector<std::string>;

// C01 — a peer added at runtime gets exactly what install_peers gives the
// same peer in a Device created with it.
TEST_F(DeviceConfigTest, C01_AddPeerEmitsWhatInstallPeersEmits) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  DataplaneModel model;
  model.apply(a_.log);

  const auto added = a_.dev->add_peer(
      peer_config(c_.pub, {"10.8.3.0/24", "fd00:3::/64"}, c_.endpoint), clock_.now, a_.out);
  ASSERT_TRUE(added.ok()) << errc_name(added.error().code);
  EXPECT_EQ(*added, 1u);
  const auto got = emitted(a_, &model);
  EXPECT_EQ(describe(got),
            (Lines{"peer_set 1", "endpoint 1", "add 1 10.8.3.0/24", "add 1 fd00:3::/64"}));

  config::Config both = make_config(a_, {{&b_, true, {"10.8.2.0/24"}}});
  both.peers.push_back(peer_config(c_.pub, {"10.8.3.0/24", "fd00:3::/64"}, c_.endpoint));
  auto twin = Device::create(both, options());
  ASSERT_TRUE(twin.ok());
  Outbox installed;
  (*twin)->install_peers(clock_.now, installed);
  std::vector<shm::RingMessage> slot1;
  for (const auto& m : installed)
    if (m.peer == 1) slot1.push_back(m);
  ASSERT_EQ(slot1.size(), got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(0, std::memcmp(&slot1[i], &got[i], sizeof(shm::RingMessage))) << describe(got[i]);
  }

  const PeerView v = a_.dev->peer_view(1);
  EXPECT_TRUE(v.live);
  EXPECT_EQ(v.public_key, c_.pub);
  EXPECT_EQ(v.endpoint, c_.endpoint);
  EXPECT_EQ(v.allowed_ips,
            (std::vector<config::Prefix>{prefix("10.8.3.0/24"), prefix("fd00:3::/64")}));
  EXPECT_FALSE(v.has_preshared_key);
  EXPECT_FALSE(a_.dev->preshared_key(1).has_value());
  EXPECT_EQ(a_.dev->find_peer(c_.pub), std::optional<uint32_t>(1));
  EXPECT_EQ(events_a_.lines(), (Lines{line(K::kPeerAdded, 1)})) << "install_peers reports nothing";
  expect_model_matches(model, *a_.dev);
}

// C02 — refusals change nothing: no command, no event, no prefix moved.
TEST_F(DeviceConfigTest, C02_AddPeerRefusals) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));

  auto own = a_.dev->add_peer(peer_config(a_.pub, {"10.8.9.0/24"}), clock_.now, a_.out);
  ASSERT_FALSE(own.ok());
  EXPECT_EQ(own.error().code, Errc::kInvalidArgument);

  auto duplicate = a_.dev->add_peer(peer_config(b_.pub, {"10.8.9.0/24"}), clock_.now, a_.out);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code, Errc::kInvalidArgument);

  // A valid prefix that another peer holds, then an invalid one: the first
  // must not have moved.
  config::PeerConfig bad_prefix = peer_config(c_.pub, {"10.8.2.0/24"});
  config::Prefix wrong;
  wrong.addr.family = 4;
  wrong.cidr = 33;
  bad_prefix.allowed_ips.push_back(wrong);
  auto refused = a_.dev->add_peer(bad_prefix, clock_.now, a_.out);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kInvalidArgument);

  config::PeerConfig bad_endpoint = peer_config(c_.pub, {"10.8.3.0/24"}, c_.endpoint);
  bad_endpoint.endpoint->address.family = 5;
  auto refused_endpoint = a_.dev->add_peer(bad_endpoint, clock_.now, a_.out);
  ASSERT_FALSE(refused_endpoint.ok());
  EXPECT_EQ(refused_endpoint.error().code, Errc::kInvalidArgument);

  EXPECT_TRUE(a_.out.empty());
  EXPECT_TRUE(events_a_.all.empty()) << ::testing::PrintToString(events_a_.lines());
  EXPECT_EQ(a_.dev->peer_count(), 1u);
  EXPECT_FALSE(a_.dev->find_peer(c_.pub));
  EXPECT_EQ(a_.dev->peer_view(0).allowed_ips, std::vector<config::Prefix>{prefix("10.8.2.0/24")});
}

// C03 — kMaxPeers slots and no more; a freed slot is the next one used.
TEST_F(DeviceConfigTest, C03_TooManyPeersThenAFreedSlot) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  DataplaneModel model;
  model.apply(a_.log);
  for (uint32_t i = 1; i < shm::kMaxPeers; ++i) {
    const std::string p =
        "10." + std::to_string(100 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
    auto added =
        a_.dev->add_peer(peer_config(random_public_key(), {p.c_str()}), clock_.now, a_.out);
    ASSERT_TRUE(added.ok()) << i;
    ASSERT_EQ(*added, i);
  }
  model.apply(a_.out);
  wipe_outbox(a_.out);
  EXPECT_EQ(a_.dev->peer_count(), shm::kMaxPeers);

  const size_t events_before = events_a_.all.size();
  auto refused = a_.dev->add_peer(peer_config(c_.pub, {"10.8.3.0/24"}), clock_.now, a_.out);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Errc::kExhausted);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(events_a_.all.size(), events_before);
  EXPECT_FALSE(a_.dev->find_peer(c_.pub));

  a_.dev->remove_peer(500, clock_.now, a_.out);
  auto added = a_.dev->add_peer(peer_config(c_.pub, {"10.8.3.0/24"}), clock_.now, a_.out);
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(*added, 500u);
  EXPECT_EQ(describe(emitted(a_, &model)),
            (Lines{"peer_remove 500", "peer_set 500", "add 500 10.8.3.0/24"}));
  expect_model_matches(model, *a_.dev);
}

// C04 — add, remove, re-add: the lowest free slot is taken, trailing free
// slots leave peer_count, and each removal emits one kCmdPeerRemove.
TEST_F(DeviceConfigTest, C04_RemoveThenReAddReusesSlotsLowestFirst) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}, {&c_, true, {"10.8.3.0/24"}}}, recorded(events_a_));
  DataplaneModel model;
  model.apply(a_.log);
  const crypto::PublicKey d = random_public_key(), e = random_public_key(), f = random_public_key(),
                          g = random_public_key();
  ASSERT_EQ(*a_.dev->add_peer(peer_config(d, {"10.8.4.0/24"}), clock_.now, a_.out), 2u);
  ASSERT_EQ(*a_.dev->add_peer(peer_config(e, {"10.8.5.0/24"}), clock_.now, a_.out), 3u);
  (void)emitted(a_, &model);

  a_.dev->remove_peer(1, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), Lines{"peer_remove 1"});
  EXPECT_FALSE(a_.dev->peer_live(1));
  const PeerView gone = a_.dev->peer_view(1);
  EXPECT_FALSE(gone.live);
  EXPECT_TRUE(gone.allowed_ips.empty());
  EXPECT_EQ(gone.public_key, crypto::PublicKey{});
  EXPECT_FALSE(a_.dev->find_peer(c_.pub));
  EXPECT_EQ(a_.dev->peer_count(), 4u) << "slot 3 is still in use";

  // Removing a free or unknown slot does nothing.
  a_.dev->remove_peer(1, clock_.now, a_.out);
  a_.dev->remove_peer(77, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());

  a_.dev->remove_peer(0, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), Lines{"peer_remove 0"});

  EXPECT_EQ(*a_.dev->add_peer(peer_config(f, {"10.8.6.0/24"}), clock_.now, a_.out), 0u);
  EXPECT_EQ(*a_.dev->add_peer(peer_config(c_.pub, {"10.8.3.0/24"}), clock_.now, a_.out), 1u);
  EXPECT_EQ(*a_.dev->add_peer(peer_config(g, {"10.8.7.0/24"}), clock_.now, a_.out), 4u);
  EXPECT_EQ(describe(emitted(a_, &model)),
            (Lines{"peer_set 0", "add 0 10.8.6.0/24", "peer_set 1", "add 1 10.8.3.0/24",
                   "peer_set 4", "add 4 10.8.7.0/24"}));
  EXPECT_EQ(a_.dev->peer_view(1).public_key, c_.pub);

  a_.dev->remove_peer(4, clock_.now, a_.out);
  EXPECT_EQ(a_.dev->peer_count(), 4u);
  a_.dev->remove_peer(3, clock_.now, a_.out);
  EXPECT_EQ(a_.dev->peer_count(), 3u) << "trailing free slots are not counted";
  (void)emitted(a_, &model);
  expect_model_matches(model, *a_.dev);

  EXPECT_EQ(events_a_.count(K::kPeerRemoved, 1), 1u);
  EXPECT_EQ(events_a_.count(K::kPeerRemoved, 0), 1u);
  EXPECT_EQ(events_a_.count(K::kPeerAdded, 4), 1u);
  EXPECT_EQ(events_a_.of(K::kPeerAdded).size(), 5u);
  EXPECT_EQ(events_a_.of(K::kPeerRemoved).size(), 4u);
  EXPECT_TRUE(events_a_.of(K::kPeerDown).empty()) << "none of them had a session";
}

// C05 — removing a peer with a session touches no other peer's slot; the
// removed peer is unknown to handshakes and events until re-added, and then
// handshakes again.
TEST_F(DeviceConfigTest, C05_RemovedPeerIsGoneAndReAddedPeerHandshakesAgain) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}, {&c_, true, {"10.8.3.0/24"}}}, recorded(events_a_));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});
  start(c_, {{&a_, false, {"10.8.1.0/24"}}});
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);
  need_handshake(a_, 1);
  pump();
  const uint32_t c_index = a_.dev->peer_view(1).current_local_index;
  ASSERT_NE(c_index, 0u);
  events_a_.all.clear();

  a_.dev->remove_peer(0, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_)), Lines{"peer_remove 0"});
  EXPECT_EQ(events_a_.lines(), (Lines{line(K::kPeerDown, 0, "removed"), line(K::kPeerRemoved, 0)}));
  EXPECT_TRUE(a_.dev->peer_view(1).has_current);
  EXPECT_EQ(a_.dev->peer_view(1).current_local_index, c_index);

  // Late dataplane events for the slot, and B's next initiation, find nobody.
  const uint64_t bad_events = a_.dev->stats().drop(DeviceDrop::kBadEvent);
  need_handshake(a_, 0);
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kBadEvent), bad_events + 1);
  clock_.now += 6 * kS;
  need_handshake(b_, 0);
  pump();
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kUnknownPeer), 1u);

  clock_.now += 6 * kS;
  ASSERT_EQ(
      *a_.dev->add_peer(peer_config(b_.pub, {"10.8.2.0/24"}, b_.endpoint), clock_.now, a_.out), 0u);
  EXPECT_EQ(describe(emitted(a_)), (Lines{"peer_set 0", "endpoint 0", "add 0 10.8.2.0/24"}));
  const auto [ka2, kb2] = handshake();
  expect_matching(ka2, kb2);
  EXPECT_EQ(a_.dev->peer_view(1).current_local_index, c_index);
  for (const auto& m : a_.log) {
    if (m.peer == 1) {
      EXPECT_NE(m.kind, MessageKind::kCmdKeypairsClear);
    }
  }
}

// C06 — the endpoint: set at once, not re-sent when equal, moves a roamed
// peer back when set explicitly.
TEST_F(DeviceConfigTest, C06_SetEndpoint) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  a_.dev->set_endpoint(0, to_config(c_.endpoint), clock_.now, a_.out);
  auto got = emitted(a_);
  ASSERT_EQ(describe(got), Lines{"endpoint 0"});
  EXPECT_EQ(body_of<shm::Endpoint>(got[0]), c_.endpoint);
  EXPECT_EQ(a_.dev->peer_view(0).endpoint, c_.endpoint);
  EXPECT_EQ(events_a_.lines(), Lines{line(K::kPeerChanged, 0, "endpoint")});

  a_.dev->set_endpoint(0, to_config(c_.endpoint), clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(events_a_.all.size(), 1u);

  // Roaming (the dataplane saw an authenticated packet from elsewhere).
  const shm::Endpoint roamed = v4(203, 0, 113, 9, 1234);
  shm::RingMessage ev{};
  ev.kind = MessageKind::kEventEndpointChanged;
  ev.peer = 0;
  std::memcpy(ev.body, &roamed, sizeof(roamed));
  ev.length = sizeof(roamed);
  a_.dev->on_event(ev, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(a_.dev->peer_view(0).endpoint, roamed);
  ASSERT_EQ(events_a_.all.size(), 2u);
  EXPECT_EQ(events_a_.all[1].kind, K::kEndpointChanged);
  EXPECT_EQ(events_a_.all[1].endpoint, roamed);
  a_.dev->on_event(ev, clock_.now, a_.out);  // the same address again: no news
  EXPECT_EQ(events_a_.all.size(), 2u);

  // The operator names the configured endpoint again: the roamed one goes.
  a_.dev->set_endpoint(0, to_config(c_.endpoint), clock_.now, a_.out);
  got = emitted(a_);
  ASSERT_EQ(describe(got), Lines{"endpoint 0"});
  EXPECT_EQ(body_of<shm::Endpoint>(got[0]), c_.endpoint);

  // Nonsense is ignored.
  config::Endpoint bad = to_config(b_.endpoint);
  bad.address.family = 0;
  a_.dev->set_endpoint(0, bad, clock_.now, a_.out);
  a_.dev->set_endpoint(5, to_config(b_.endpoint), clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(a_.dev->peer_view(0).endpoint, c_.endpoint);
}

// C07 — a preshared key applies from the next handshake; the session in
// place stays; both sides need it for the handshake to complete.
TEST_F(DeviceConfigTest, C07_PresharedKey) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  start(b_, {{&a_, false, {"10.8.1.0/24"}}});
  (void)handshake();
  const uint32_t index = a_.dev->peer_view(0).current_local_index;
  events_a_.all.clear();

  crypto::Key psk;
  randombytes_buf(psk.data(), psk.size());
  a_.dev->set_preshared_key(0, psk.clone(), clock_.now);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_TRUE(a_.dev->peer_view(0).has_preshared_key);
  ASSERT_TRUE(a_.dev->preshared_key(0).has_value());
  EXPECT_TRUE(a_.dev->preshared_key(0)->equals(psk));
  EXPECT_EQ(a_.dev->peer_view(0).current_local_index, index) << "the session stays";
  EXPECT_EQ(events_a_.lines(), Lines{line(K::kPeerChanged, 0, "preshared key")});
  a_.dev->set_preshared_key(0, psk.clone(), clock_.now);
  EXPECT_EQ(events_a_.all.size(), 1u) << "the same key is no change";

  // Only A has it: B answers, A cannot authenticate the response.
  clock_.now += 6 * kS;
  need_handshake(a_, 0);
  pump();
  EXPECT_EQ(a_.dev->stats().drop(DeviceDrop::kBadResponse), 1u);
  EXPECT_EQ(a_.dev->peer_view(0).current_local_index, index);

  b_.dev->set_preshared_key(0, psk.clone(), clock_.now);
  clock_.now += 6 * kS;
  const auto [ka, kb] = handshake();
  expect_matching(ka, kb);

  // 32 zero bytes mean "none", as in UAPI.
  a_.dev->set_preshared_key(0, crypto::Key{}, clock_.now);
  EXPECT_FALSE(a_.dev->peer_view(0).has_preshared_key);
  EXPECT_FALSE(a_.dev->preshared_key(0).has_value());
  a_.dev->set_preshared_key(0, std::nullopt, clock_.now);
  EXPECT_EQ(events_a_.of(K::kPeerChanged).size(), 2u);
  b_.dev->set_preshared_key(0, std::nullopt, clock_.now);
  clock_.now += 6 * kS;
  const auto [ka2, kb2] = handshake();
  expect_matching(ka2, kb2);
  EXPECT_TRUE(a_.out.empty());
}

// C08 — persistent keepalive: turning it on sends one at once (kernel
// set_peer), a changed interval or turning it off sends nothing.
TEST_F(DeviceConfigTest, C08_PersistentKeepalive) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  const Nanos t0 = clock_.now;
  EXPECT_EQ(a_.dev->next_deadline(), timers::kNever);
  a_.dev->set_persistent_keepalive(0, 25, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_)), Lines{"keepalive 0"});
  EXPECT_EQ(a_.dev->peer_view(0).persistent_keepalive, 25);
  EXPECT_EQ(a_.dev->next_deadline(), t0 + 25 * kS);
  EXPECT_EQ(events_a_.lines(), Lines{line(K::kPeerChanged, 0, "persistent keepalive")});

  a_.dev->set_persistent_keepalive(0, 25, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(events_a_.all.size(), 1u);

  a_.dev->set_persistent_keepalive(0, 40, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty()) << "already on: no extra keepalive";
  EXPECT_EQ(a_.dev->peer_view(0).persistent_keepalive, 40);

  a_.dev->set_persistent_keepalive(0, 0, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(a_.dev->next_deadline(), timers::kNever);
  clock_.now = t0 + 100 * kS;
  tick(a_);
  EXPECT_EQ(a_.count(MessageKind::kCmdSendKeepalive), 1u);
  EXPECT_EQ(events_a_.all.size(), 3u);
}

// C09 — replacing allowed IPs emits the difference only.
TEST_F(DeviceConfigTest, C09_SetAllowedIpsEmitsOnlyTheDifference) {
  start(a_, {{&b_, true, {"10.8.2.0/24", "10.9.0.0/16"}}}, recorded(events_a_));
  DataplaneModel model;
  model.apply(a_.log);

  a_.dev->set_allowed_ips(0, {prefix("10.9.0.0/16"), prefix("fd00::/64")}, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), (Lines{"add 0 fd00::/64", "remove 0 10.8.2.0/24"}));
  EXPECT_EQ(a_.dev->peer_view(0).allowed_ips,
            (std::vector<config::Prefix>{prefix("10.9.0.0/16"), prefix("fd00::/64")}));
  EXPECT_EQ(events_a_.lines(), Lines{line(K::kPeerChanged, 0, "allowed ips")});

  // The same set, written with host bits and a duplicate: no change.
  a_.dev->set_allowed_ips(0, {prefix("fd00::1/64"), prefix("10.9.3.4/16"), prefix("10.9.0.0/16")},
                          clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());
  EXPECT_EQ(events_a_.all.size(), 1u);

  a_.dev->add_allowed_ips(0, {prefix("10.9.0.0/16"), prefix("192.168.7.0/24")}, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), Lines{"add 0 192.168.7.0/24"});
  a_.dev->add_allowed_ips(0, {prefix("192.168.7.0/24")}, clock_.now, a_.out);
  EXPECT_TRUE(a_.out.empty());

  a_.dev->set_allowed_ips(0, {}, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)),
            (Lines{"remove 0 10.9.0.0/16", "remove 0 fd00::/64", "remove 0 192.168.7.0/24"}));
  EXPECT_TRUE(a_.dev->peer_view(0).allowed_ips.empty());
  expect_model_matches(model, *a_.dev);
  EXPECT_TRUE(model.routes.empty());
}

// C10 — a prefix moves to whoever takes it (kernel allowedips.c): one add,
// no removal from the old owner, and the old owner's later changes never
// withdraw it.
TEST_F(DeviceConfigTest, C10_AllowedIpMovesBetweenPeers) {
  start(a_, {{&b_, true, {"10.8.2.0/24", "10.8.20.0/24"}}, {&c_, true, {"10.8.3.0/24"}}},
        recorded(events_a_));
  DataplaneModel model;
  model.apply(a_.log);

  a_.dev->add_allowed_ips(1, {prefix("10.8.2.0/24")}, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), Lines{"add 1 10.8.2.0/24"});
  EXPECT_EQ(a_.dev->peer_view(0).allowed_ips, std::vector<config::Prefix>{prefix("10.8.20.0/24")});
  EXPECT_EQ(a_.dev->peer_view(1).allowed_ips,
            (std::vector<config::Prefix>{prefix("10.8.3.0/24"), prefix("10.8.2.0/24")}));
  EXPECT_EQ(events_a_.lines(), (Lines{line(K::kPeerChanged, 0, "allowed ips"),
                                      line(K::kPeerChanged, 1, "allowed ips")}));
  expect_model_matches(model, *a_.dev);

  // B's list without the moved prefix: nothing to withdraw for it.
  a_.dev->set_allowed_ips(0, {prefix("10.8.4.0/24")}, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), (Lines{"add 0 10.8.4.0/24", "remove 0 10.8.20.0/24"}));
  expect_model_matches(model, *a_.dev);

  // set_allowed_ips takes too, and a new peer takes from an existing one.
  a_.dev->set_allowed_ips(0, {prefix("10.8.4.0/24"), prefix("10.8.3.0/24")}, clock_.now, a_.out);
  EXPECT_EQ(describe(emitted(a_, &model)), Lines{"add 0 10.8.3.0/24"});
  const crypto::PublicKey d = random_public_key();
  ASSERT_EQ(*a_.dev->add_peer(peer_config(d, {"10.8.4.0/24"}), clock_.now, a_.out), 2u);
  EXPECT_EQ(describe(emitted(a_, &model)), (Lines{"peer_set 2", "add 2 10.8.4.0/24"}));
  EXPECT_EQ(a_.dev->peer_view(0).allowed_ips, std::vector<config::Prefix>{prefix("10.8.3.0/24")});
  expect_model_matches(model, *a_.dev);

  // Removing the old owner leaves the moved prefixes with their new owners.
  a_.dev->remove_peer(1, clock_.now, a_.out);
  (void)emitted(a_, &model);
  expect_model_matches(model, *a_.dev);
  EXPECT_EQ(model.routes.at(prefix("10.8.3.0/24")), 0u);
  EXPECT_FALSE(model.routes.contains(prefix("10.8.2.0/24")));
}

// C11 — random sequences of adds, removals and allowed-IP changes: after
// every call the dataplane model agrees with the Device, and the call
// emitted commands for its own slot only.
TEST_F(DeviceConfigTest, C11_RandomChangesAgreeWithTheDataplaneModel) {
  start(a_, {{&b_, true, {"10.8.2.0/24"}}}, recorded(events_a_));
  DataplaneModel model;
  model.apply(a_.log);
  std::vector<crypto::PublicKey> keys;
  for (int i = 0; i < 8; ++i) keys.push_back(random_public_key());
  std::vector<config::Prefix> pool;
  for (const char* p :
       {"10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24", "10.1.2.3/32", "0.0.0.0/0", "192.168.0.0/16",
        "fd00::/8", "fd00:1::/32", "fd00:1:2::/48", "::/0", "2001:db8::1/128", "172.16.0.0/12"}) {
    pool.push_back(prefix(p));
  }
  std::mt19937 rng(4);
  auto subset = [&] {
    std::vector<config::Prefix> s;
    for (const auto& p : pool)
      if (rng() % 4 == 0) s.push_back(p);
    return s;
  };
  for (int step = 0; step < 3000; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const unsigned op = rng() % 4;
    uint32_t target = 0;
    if (op == 0) {
      config::PeerConfig pc;
      pc.public_key = keys[rng() % keys.size()];
      pc.allowed_ips = subset();
      const bool known = a_.dev->find_peer(pc.public_key).has_value();
      auto added = a_.dev->add_peer(pc, clock_.now, a_.out);
      ASSERT_EQ(added.ok(), !known);
      if (added.ok()) target = *added;
    } else {
      target = static_cast<uint32_t>(rng() % (a_.dev->peer_count() + 1));
      if (op == 1) a_.dev->remove_peer(target, clock_.now, a_.out);
      if (op == 2) a_.dev->set_allowed_ips(target, subset(), clock_.now, a_.out);
      if (op == 3) a_.dev->add_allowed_ips(target, subset(), clock_.now, a_.out);
    }
    for (const auto& m : emitted(a_, &model)) ASSERT_EQ(m.peer, target) << describe(m);
    expect_model_matches(model, *a_.dev);
    if (HasFailure()) return;
  }
}

}  // namespace
}  // namespace wirespeed::controlplane::device::test
