// Tests for the main lcore's Applier (dataplane/control/applier.hpp), driven
// through the command ring as the control plane drives it: peers and their
// allowed IPs, the keypair life cycle (the kernel's add_new_keypair and
// received_with_keypair rotations, retirement, reclamation after an RCU
// grace period), the transmit commands, and commands it must ignore.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

using ApplierTest = PipelineTest;

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return false;
  }
  return true;
}

unsigned live_slots(const shm::StateZone& zone) {
  unsigned n = 0;
  for (const shm::KeypairSlot& kp : zone.keypairs) n += kp.state.load() == shm::SlotState::kLive;
  return n;
}

// --- Peers and routes ---

TEST_F(ApplierTest, AllowedIpsRouteToTheirPeer) {
  const Net& n = net();
  add_peer(0, endpoint(n.peer4, kPeerPort));
  EXPECT_EQ(peer(0).state.load(), shm::PeerState::kActive);
  allow(0, ip("10.8.1.0"), 24);
  allow(0, ip("fd00:8:1::"), 64);
  EXPECT_EQ(route(n.remote4), 0u);
  EXPECT_EQ(route(n.remote6), 0u);
  EXPECT_EQ(route(ip("10.8.2.1")), shm::kNoPeer);
  EXPECT_EQ(route(ip("fd00:8:2::1")), shm::kNoPeer);

  allow(0, ip("10.8.1.0"), 24, false);
  EXPECT_EQ(route(n.remote4), shm::kNoPeer);
  EXPECT_EQ(route(n.remote6), 0u);
}

TEST_F(ApplierTest, APrefixBelongsToOnePeerAndMovesWhenTaken) {
  const Net& n = net();
  add_peer(0, endpoint(n.peer4, kPeerPort));
  add_peer(1, endpoint(n.peer4, 2222));
  allow(0, ip("10.8.1.0"), 24);
  allow(0, ip("10.8.0.0"), 16);
  allow(1, ip("10.8.1.0"), 24);  // taken, as `wg set` would
  EXPECT_EQ(route(n.remote4), 1u);
  EXPECT_EQ(route(ip("10.8.7.7")), 0u) << "the covering /16 stays with peer 0";

  remove_peer(0);  // must not take peer 1's prefix with it
  EXPECT_EQ(route(n.remote4), 1u);
  EXPECT_EQ(route(ip("10.8.7.7")), shm::kNoPeer);
  remove_peer(1);
  EXPECT_EQ(route(n.remote4), shm::kNoPeer);
}

TEST_F(ApplierTest, EndpointIsSetKeptAndReplaced) {
  const Net& n = net();
  add_peer(0, std::nullopt);
  EXPECT_EQ(peer(0).endpoint.family, 0);
  command(MessageKind::kCmdEndpointSet, 0, endpoint(n.peer6, 7777));
  poll();
  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer6, 7777));
  add_peer(0, std::nullopt);  // same key, no endpoint: keeps it
  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer6, 7777));
  add_peer(0, endpoint(n.peer4, 8888));
  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer4, 8888));
}

TEST_F(ApplierTest, PeerSetWithTheSameKeyKeepsTheSession) {
  standard_setup();
  const uint32_t generation = peer(0).generation;
  add_peer(0, std::nullopt);
  EXPECT_EQ(peer(0).generation, generation);
  EXPECT_NE(live_keypair(kp0_.local_index), nullptr);
  EXPECT_EQ(route(net().remote4), 0u);
}

TEST_F(ApplierTest, PeerSetWithANewKeyStartsOver) {
  standard_setup();
  const Net& n = net();
  encap(lan_frame(ip_packet(n.host4, ip("10.8.1.9"), 1)));
  take_outer();
  const uint32_t generation = peer(0).generation;
  add_peer(0, endpoint(n.peer4, 3333), /*key_seed=*/99);
  EXPECT_EQ(peer(0).state.load(), shm::PeerState::kActive);
  EXPECT_EQ(peer(0).generation, generation + 1);
  EXPECT_EQ(peer(0).public_key[0], 99);
  EXPECT_EQ(peer(0).current.load(), shm::kNoKeypair);
  EXPECT_EQ(index_lookup(kp0_.local_index), -1);
  EXPECT_EQ(route(n.remote4), shm::kNoPeer) << "another peer's allowed IPs are not inherited";
  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer4, 3333));
}

TEST_F(ApplierTest, PeerRemoveForgetsEverythingAndDropsStagedPackets) {
  standard_setup(4, false);
  const Net& n = net();
  for (int i = 0; i < 3; ++i) encap(lan_frame(ip_packet(n.host4, n.remote4, 4)));
  ASSERT_EQ(peer(0).staged_count, 3u);
  install(0, make_keypair(7, false));  // a `next` that never gets confirmed
  remove_peer(0);
  EXPECT_EQ(peer(0).state.load(), shm::PeerState::kFree);
  EXPECT_EQ(peer(0).staged_count, 0u);
  EXPECT_EQ(drops(DropReason::kNoKeypair), 3u);
  EXPECT_EQ(peer(0).endpoint.family, 0);
  EXPECT_EQ(peer(0).next.load(), shm::kNoKeypair);
  EXPECT_EQ(live_slots(zone()), 0u);
  EXPECT_EQ(route(n.remote4), shm::kNoPeer);
  EXPECT_EQ(route(n.remote6), shm::kNoPeer);
}

// --- Keypairs ---

TEST_F(ApplierTest, InitiatorInstallsRotateCurrentAndPrevious) {
  standard_setup(4, false);
  const Net& n = net();
  const TestKeypair a = make_keypair(11), b = make_keypair(12), c = make_keypair(13);
  install(0, a);
  const int32_t slot_a = index_lookup(a.local_index);
  ASSERT_GE(slot_a, 0);
  EXPECT_EQ(peer(0).current.load(), slot_a);
  EXPECT_EQ(peer(0).handshakes.get(), 1u);
  EXPECT_EQ(peer(0).last_handshake_ns.get(), a.birth_ns);
  install(0, b);
  const int32_t slot_b = index_lookup(b.local_index);
  EXPECT_EQ(peer(0).current.load(), slot_b);
  EXPECT_EQ(peer(0).previous.load(), slot_a);
  install(0, c);
  const int32_t slot_c = index_lookup(c.local_index);
  EXPECT_EQ(peer(0).current.load(), slot_c);
  EXPECT_EQ(peer(0).previous.load(), slot_b);
  EXPECT_EQ(peer(0).next.load(), shm::kNoKeypair);
  EXPECT_EQ(peer(0).handshakes.get(), 3u);

  // a was retired and, no reader being online, reclaimed at the end of the
  // poll: free, out of the index, keys wiped.
  const shm::KeypairSlot& old = zone().keypairs[slot_a];
  EXPECT_EQ(old.state.load(), shm::SlotState::kFree);
  EXPECT_EQ(index_lookup(a.local_index), -1);
  EXPECT_TRUE(all_zero(old.send_key, 32));
  EXPECT_TRUE(all_zero(old.receive_key, 32));

  // Previous and current both decrypt; the retired one is unknown.
  decap(std::vector<Bytes>{peer_data(b, 0, ip_packet(n.remote4, n.host4, 1)),
                           peer_data(c, 0, ip_packet(n.remote4, n.host4, 2)),
                           peer_data(a, 0, ip_packet(n.remote4, n.host4, 3))});
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 2u);
  EXPECT_EQ(drops(DropReason::kUnknownIndex), 1u);
}

TEST_F(ApplierTest, ManyInstallsInOnePollRecycleSlots) {
  // Ten installs in one poll: the fifth finds all four slots of the peer
  // taken (two live, two retired but not yet reclaimed) and must wait out a
  // grace period for one (free_keypair_slot -> reclaim(true)).
  standard_setup(4, false);
  std::vector<TestKeypair> kps;
  for (uint8_t i = 0; i < 10; ++i) {
    kps.push_back(make_keypair(static_cast<uint8_t>(20 + i)));
    shm::CmdKeypairInstall body{};
    body.local_index = kps.back().local_index;
    body.remote_index = kps.back().remote_index;
    body.birth_ns = kNow;
    body.we_initiated = 1;
    std::memcpy(body.send_key, kps.back().send_key.data(), 32);
    std::memcpy(body.receive_key, kps.back().receive_key.data(), 32);
    indices_used_.push_back(body.local_index);
    command(MessageKind::kCmdKeypairInstall, 0, body);
  }
  EXPECT_EQ(poll(), 10u);
  EXPECT_EQ(peer(0).current.load(), index_lookup(kps[9].local_index));
  EXPECT_EQ(peer(0).previous.load(), index_lookup(kps[8].local_index));
  EXPECT_EQ(live_slots(zone()), 2u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(index_lookup(kps[i].local_index), -1) << i;
  EXPECT_EQ(peer(0).handshakes.get(), 10u);
}

TEST_F(ApplierTest, ResponderInstallReplacesAnUnconfirmedNext) {
  standard_setup();  // kp0_ current
  const Net& n = net();
  const TestKeypair b = make_keypair(31, false), c = make_keypair(32, false);
  install(0, b);
  const int32_t cur = index_lookup(kp0_.local_index);
  EXPECT_EQ(peer(0).current.load(), cur);
  EXPECT_EQ(peer(0).next.load(), index_lookup(b.local_index));
  EXPECT_EQ(peer(0).previous.load(), shm::kNoKeypair);
  install(0, c);  // the initiator retried: b is gone
  EXPECT_EQ(peer(0).next.load(), index_lookup(c.local_index));
  EXPECT_EQ(index_lookup(b.local_index), -1);
  EXPECT_EQ(peer(0).current.load(), cur);
  decap(peer_data(b, 0, ip_packet(n.remote4, n.host4, 1)));
  EXPECT_EQ(drops(DropReason::kUnknownIndex), 1u);
}

TEST_F(ApplierTest, InitiatorInstallWhileANextIsPending) {
  // add_new_keypair with i_am_the_initiator and a next keypair: next becomes
  // previous, current is retired, the new one is current.
  standard_setup();  // kp0_ current
  const TestKeypair b = make_keypair(41, false), c = make_keypair(42, true);
  install(0, b);
  install(0, c);
  EXPECT_EQ(peer(0).current.load(), index_lookup(c.local_index));
  EXPECT_EQ(peer(0).previous.load(), index_lookup(b.local_index));
  EXPECT_EQ(peer(0).next.load(), shm::kNoKeypair);
  EXPECT_EQ(index_lookup(kp0_.local_index), -1);
}

TEST_F(ApplierTest, KeypairsClearRetiresEveryKeypair) {
  standard_setup();
  const TestKeypair b = make_keypair(51, true), c = make_keypair(52, false);
  install(0, b);  // kp0_ -> previous, b current
  EXPECT_EQ(peer(0).previous.load(), index_lookup(kp0_.local_index));
  command(MessageKind::kCmdKeypairsClear, 0);
  poll();
  EXPECT_EQ(peer(0).current.load(), shm::kNoKeypair);
  EXPECT_EQ(peer(0).previous.load(), shm::kNoKeypair);
  EXPECT_EQ(live_slots(zone()), 0u);

  install(0, b);  // current again, then an unconfirmed next
  install(0, c);
  EXPECT_EQ(live_slots(zone()), 2u);
  command(MessageKind::kCmdKeypairsClear, 0);
  poll();
  EXPECT_EQ(peer(0).current.load(), shm::kNoKeypair);
  EXPECT_EQ(peer(0).next.load(), shm::kNoKeypair);
  EXPECT_EQ(live_slots(zone()), 0u);
  for (uint32_t idx : {kp0_.local_index, b.local_index, c.local_index})
    EXPECT_EQ(index_lookup(idx), -1);

  encap(lan_frame(ip_packet(net().host4, net().remote4, 1)));
  EXPECT_EQ(peer(0).staged_count, 1u) << "no keypair: LAN traffic waits for a handshake";
  take_events();
}

TEST_F(ApplierTest, RetiredKeypairWaitsForTheGracePeriod) {
  standard_setup(4, false);  // route changes done before a reader is online
  // This thread plays a worker that is inside a burst (online, not yet
  // quiescent). The guard takes it offline whatever happens, or TearDown's
  // route changes would wait for it for ever.
  ASSERT_EQ(rte_rcu_qsbr_thread_register(rcu_, 0), 0);
  rte_rcu_qsbr_thread_online(rcu_, 0);
  struct Offline {
    rte_rcu_qsbr* rcu;
    ~Offline() {
      rte_rcu_qsbr_thread_offline(rcu, 0);
      rte_rcu_qsbr_thread_unregister(rcu, 0);
    }
  } offline{rcu_};

  const TestKeypair a = make_keypair(61), b = make_keypair(62), c = make_keypair(63);
  install(0, a);
  const int32_t slot_a = index_lookup(a.local_index);
  install(0, b);
  install(0, c);  // retires a
  EXPECT_EQ(zone().keypairs[slot_a].state.load(), shm::SlotState::kRetiring);
  EXPECT_EQ(index_lookup(a.local_index), -1) << "no new lookups find it";
  EXPECT_FALSE(all_zero(zone().keypairs[slot_a].receive_key, 32))
      << "a reader may still use the keys";
  poll();
  EXPECT_EQ(zone().keypairs[slot_a].state.load(), shm::SlotState::kRetiring);

  rte_rcu_qsbr_quiescent(rcu_, 0);  // the reader finished its burst
  poll();
  EXPECT_EQ(zone().keypairs[slot_a].state.load(), shm::SlotState::kFree);
  EXPECT_TRUE(all_zero(zone().keypairs[slot_a].receive_key, 32));
}

// `wg set NAME listen-port`: decap accepts data on the new port only, encap
// and control-plane datagrams leave from it, the header reports it; port 0
// and a short body change nothing.
TEST_F(ApplierTest, ListenPortSetMovesTheGatewayToTheNewPort) {
  standard_setup();
  zone().header.listen_port = kListenPort;  // as dataplane_main sets it at start
  const Net& n = net();
  constexpr uint16_t kNewPort = kListenPort + 7;
  shm::CmdListenPort zero{};
  command(MessageKind::kCmdListenPortSet, shm::kNoPeer, zero);
  command_bytes(MessageKind::kCmdListenPortSet, shm::kNoPeer, &kNewPort, 1);  // too short
  poll();
  EXPECT_EQ(gw_.listen_port.load(), kListenPort);
  EXPECT_EQ(zone().header.listen_port.load(), kListenPort);

  shm::CmdListenPort body{};
  body.port = kNewPort;
  command(MessageKind::kCmdListenPortSet, shm::kNoPeer, body);
  poll();
  EXPECT_EQ(gw_.listen_port.load(), kNewPort);
  EXPECT_EQ(zone().header.listen_port.load(), kNewPort);

  // To the old port: not ours any more.
  decap(peer_data(kp0_, 0, ip_packet(n.remote4, n.host4, 10, 1)));
  EXPECT_TRUE(take_tx(PortRole::kInner).empty());
  // To the new one: delivered with the same session.
  Bytes frame = peer_data(kp0_, 1, ip_packet(n.remote4, n.host4, 10, 2));
  frame[14 + 20 + 2] = static_cast<uint8_t>(kNewPort >> 8);  // UDP destination port
  frame[14 + 20 + 3] = static_cast<uint8_t>(kNewPort & 0xff);
  frame[14 + 20 + 6] = frame[14 + 20 + 7] = 0;  // no UDP checksum (IPv4)
  decap(frame);
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u);

  encap(lan_frame(ip_packet(n.host4, n.remote4, 77)));
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].view.src_port, kNewPort);
}

TEST_F(ApplierTest, WorksWithoutAnRcuVariable) {
  // rcu == nullptr (no reader registered anywhere): Routes::apply and the
  // keypair retirement skip their grace periods.
  applier_ = std::make_unique<control::Applier>(*state_, test_routes(), test_index(), nullptr,
                                                main_ctx_, gw_, test_pool(), internal_);
  standard_setup(4, false);
  const TestKeypair a = make_keypair(71), b = make_keypair(72), c = make_keypair(73);
  install(0, a);
  const int32_t slot_a = index_lookup(a.local_index);
  install(0, b);
  install(0, c);
  EXPECT_EQ(zone().keypairs[slot_a].state.load(), shm::SlotState::kFree);
  EXPECT_EQ(route(net().remote4), 0u);
}

TEST_F(ApplierTest, ConfirmationOfASlotThatIsNotNextIsIgnored) {
  standard_setup();
  const int32_t cur = index_lookup(kp0_.local_index);
  for (uint32_t slot : {static_cast<uint32_t>(cur), 5u, shm::kMaxKeypairs + 3, 0xFFFFFFFFu}) {
    ASSERT_EQ(rte_ring_enqueue_elem(internal_, &slot, sizeof(slot)), 0);
  }
  EXPECT_EQ(poll(), 4u);
  EXPECT_EQ(peer(0).current.load(), cur);
  EXPECT_EQ(peer(0).previous.load(), shm::kNoKeypair);
  EXPECT_TRUE(take_events().empty());
}

// --- Transmit commands ---

TEST_F(ApplierTest, TransmitFrameSendsTheBytesAsIs) {
  const Net& n = net();
  const Bytes outer = arp_frame(2, kOuterMac, n.outer4, n.peer4, kPeerMac);
  const Bytes inner = icmp_frame(kHostMac, kInnerMac, n.inner4, n.host4, 0, 20);
  command_bytes(MessageKind::kCmdTransmitFrame, shm::kNoPeer, outer.data(),
                static_cast<uint16_t>(outer.size()), static_cast<uint8_t>(PortRole::kOuter));
  command_bytes(MessageKind::kCmdTransmitFrame, shm::kNoPeer, inner.data(),
                static_cast<uint16_t>(inner.size()), static_cast<uint8_t>(PortRole::kInner));
  EXPECT_EQ(poll(), 2u);
  EXPECT_EQ(take_tx(PortRole::kOuter), std::vector<Bytes>{outer});
  EXPECT_EQ(take_tx(PortRole::kInner), std::vector<Bytes>{inner});
  EXPECT_EQ(zone().lcore_counters[0].port[0].tx_packets.get(), 1u);
  EXPECT_EQ(zone().lcore_counters[0].port[1].tx_packets.get(), 1u);
}

// A handshake message to a hop without a MAC is held (not left to the 5 s
// retry timer) and leaves as soon as the control plane installs the hop.
TEST_F(ApplierTest, HeldHandshakeGoesOutWhenTheNeighbourArrives) {
  const IpAddr far = ip("192.0.2.77");
  shm::CmdTransmitUdp body{};
  body.destination = endpoint(far, 5555);
  body.payload_len = wire::kInitiationSize;
  for (unsigned i = 0; i < body.payload_len; ++i) body.payload[i] = static_cast<uint8_t>(i);
  command(MessageKind::kCmdTransmitUdp, shm::kNoPeer, body);
  poll();
  EXPECT_TRUE(take_outer().empty());
  EXPECT_EQ(take_events().size(), 1u);  // the neighbour miss
  EXPECT_EQ(total_drops(), 0u);
  const MacAddress far_mac{{0x02, 0x77, 0, 0, 0, 0x77}};
  neighbour(PortRole::kOuter, far, far_mac);
  poll();
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].view.dst, far);
  EXPECT_EQ(sent[0].view.dst_port, 5555);
  EXPECT_EQ(sent[0].view.eth_dst, far_mac);
  EXPECT_EQ(sent[0].view.eth_src, kOuterMac);
  EXPECT_TRUE(net::udp_checksum_ok(sent[0].frame.data(), sent[0].view));
  EXPECT_EQ(sent[0].message(), Bytes(body.payload, body.payload + body.payload_len));
  // Held once, sent once.
  neighbour(PortRole::kOuter, far, far_mac);
  poll();
  EXPECT_TRUE(take_outer().empty());
}

// A held message whose hop stays unknown past the hold time is not sent late
// (the control plane's retry timer owns it by then) and its loss is counted.
TEST_F(ApplierTest, HeldHandshakePastItsHoldTimeIsDroppedAndCounted) {
  const IpAddr far = ip("192.0.2.78");
  shm::CmdTransmitUdp body{};
  body.destination = endpoint(far, 5555);
  body.payload_len = wire::kInitiationSize;
  command(MessageKind::kCmdTransmitUdp, shm::kNoPeer, body);
  poll();
  EXPECT_EQ(take_events().size(), 1u);  // the neighbour miss
  EXPECT_EQ(total_drops(), 0u);
  now_ += 3001ULL * 1000 * 1000;  // past the 3 s hold
  neighbour(PortRole::kOuter, far, MacAddress{{0x02, 0x78, 0, 0, 0, 0x78}});
  poll();
  EXPECT_TRUE(take_outer().empty());
  EXPECT_EQ(drops(DropReason::kNoNeighbour), 1u);
  EXPECT_EQ(total_drops(), 1u);
}

TEST_F(ApplierTest, TransmitUdpToADestinationOrToThePeer) {
  standard_setup(6);
  const Net& n = net();
  shm::CmdTransmitUdp body{};
  body.payload_len = wire::kResponseSize;
  for (unsigned i = 0; i < body.payload_len; ++i) body.payload[i] = static_cast<uint8_t>(i + 1);
  const Bytes payload(body.payload, body.payload + body.payload_len);
  body.destination = endpoint(n.peer4, 4444);
  command(MessageKind::kCmdTransmitUdp, shm::kNoPeer, body);
  body.destination = shm::Endpoint{};  // to peer 0's endpoint ([2001:db8::2]:51821)
  command(MessageKind::kCmdTransmitUdp, 0, body);
  poll();
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].view.kind, net::FrameKind::kIpv4Udp);
  EXPECT_EQ(sent[0].view.dst, n.peer4);
  EXPECT_EQ(sent[0].view.src, n.outer4);
  EXPECT_EQ(sent[0].view.dst_port, 4444);
  EXPECT_EQ(sent[0].view.eth_dst, kPeerMac);
  EXPECT_EQ(sent[1].view.kind, net::FrameKind::kIpv6Udp);
  EXPECT_EQ(sent[1].view.dst, n.peer6);
  EXPECT_EQ(sent[1].view.dst_port, kPeerPort);
  EXPECT_EQ(sent[1].view.eth_dst, kPeerMac6);
  for (const SentDatagram& d : sent) {
    EXPECT_EQ(d.view.src_port, kListenPort);
    EXPECT_EQ(d.view.eth_src, kOuterMac);
    EXPECT_EQ(d.message(), payload);
    EXPECT_TRUE(net::udp_checksum_ok(d.frame.data(), d.view));
    // Handshakes carry a UDP checksum over IPv4 too.
    EXPECT_NE(net::load_be16(d.frame.data() + d.view.l4_offset + 6), 0);
  }
  EXPECT_EQ(total_drops(), 0u);
}

TEST_F(ApplierTest, NeighbourSetReplacesTheMac) {
  standard_setup();
  const Net& n = net();
  neighbour(PortRole::kInner, n.host4, kRoamMac);
  decap(peer_data(kp0_, 0, ip_packet(n.remote4, n.host4, 1)));
  const std::vector<Bytes> out = take_tx(PortRole::kInner);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(MacAddress::from(out[0].data()), kRoamMac);
}

TEST_F(ApplierTest, PollBeatsTheHeartbeatAndCountsItsWork) {
  now_ = kNow + 12345;
  EXPECT_EQ(poll(), 0u);
  EXPECT_EQ(zone().header.heartbeat_ns.load(), kNow + 12345);
  command(MessageKind::kCmdEndpointSet, 0, shm::Endpoint{});
  command(MessageKind::kCmdFlushStaged, 0);
  EXPECT_EQ(poll(), 2u);
}

TEST_F(ApplierTest, DropAllStagedReleasesEveryPeersPackets) {
  standard_setup(4, false);
  add_peer(1, endpoint(net().peer4, 1111));
  allow(1, ip("10.8.3.0"), 24);
  encap(std::vector<Bytes>{lan_frame(ip_packet(net().host4, net().remote4, 1)),
                           lan_frame(ip_packet(net().host4, ip("10.8.3.3"), 1)),
                           lan_frame(ip_packet(net().host4, ip("10.8.3.3"), 2))});
  EXPECT_EQ(peer(0).staged_count + peer(1).staged_count, 3u);
  applier().drop_all_staged();
  EXPECT_EQ(peer(0).staged_count + peer(1).staged_count, 0u);
  EXPECT_EQ(drops(DropReason::kNoKeypair), 3u);
}

// --- What the Applier ignores ---

TEST_F(ApplierTest, MalformedCommandsChangeNothing) {
  const Net& n = net();
  shm::CmdPeerSet peer_set{};
  peer_set.endpoint = endpoint(n.peer4, 1);
  command(MessageKind::kCmdPeerSet, shm::kMaxPeers, peer_set);                  // no such slot
  command_bytes(MessageKind::kCmdPeerSet, 2, &peer_set, sizeof(peer_set) - 1);  // short body
  command(static_cast<MessageKind>(999), 0, peer_set);                          // unknown kind
  shm::CmdAllowedIp bad_cidr{};
  bad_cidr.family = 4;
  bad_cidr.cidr = 33;
  command(MessageKind::kCmdAllowedIpAdd, 0, bad_cidr);
  shm::CmdAllowedIp bad_family{};
  bad_family.family = 5;
  command(MessageKind::kCmdAllowedIpAdd, 0, bad_family);
  shm::CmdNeighbourSet nb{};
  nb.family = 4;
  std::memcpy(nb.addr, n.host4.bytes.data(), 4);
  command(MessageKind::kCmdNeighbourSet, shm::kNoPeer, nb, /*port=*/5);
  const Bytes tiny(10, 0xAB);
  command_bytes(MessageKind::kCmdTransmitFrame, shm::kNoPeer, tiny.data(), 10,
                0);  // shorter than Ethernet
  shm::CmdKeypairInstall kp{};
  kp.local_index = 0x4242;
  indices_used_.push_back(kp.local_index);
  command(MessageKind::kCmdKeypairInstall, 3, kp);  // peer 3 does not exist
  shm::CmdTransmitUdp udp{};
  udp.destination = endpoint(n.peer4, 1);
  udp.payload_len = 300;  // longer than the payload field
  command(MessageKind::kCmdTransmitUdp, shm::kNoPeer, udp);
  EXPECT_EQ(poll(), 9u);

  for (uint32_t p = 0; p < shm::kMaxPeers; ++p)
    ASSERT_EQ(peer(p).state.load(), shm::PeerState::kFree) << p;
  EXPECT_EQ(index_lookup(0x4242), -1);
  EXPECT_EQ(live_slots(zone()), 0u);
  EXPECT_TRUE(take_tx(PortRole::kOuter).empty());
  EXPECT_TRUE(take_tx(PortRole::kInner).empty());
  EXPECT_EQ(total_drops(), 0u);
  uint32_t used = 0;
  for (const shm::NeighbourEntry& e : zone().neighbours[0]) used += e.used.load();
  for (const shm::NeighbourEntry& e : zone().neighbours[1]) used += e.used.load();
  EXPECT_EQ(used, 0u);
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
