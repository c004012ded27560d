// Tests for the encap pipeline (dataplane/pipeline/encap.cpp) on hand-built
// mbufs: a LAN frame comes out of the outer port as a WireGuard data message
// to the peer's endpoint that the libsodium reference opens to the inner
// packet plus zero padding (to a multiple of 16, never past the MTU), with
// counters 0, 1, 2, ... in order; keepalives; staging while there is no
// keypair and the flush when one is installed (initiator) or confirmed by
// the first packet under it (responder); the events the path raises.
#include <gtest/gtest.h>

#include <cstring>
#include <tuple>

#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/wire/constants.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

using EncapTest = PipelineTest;

constexpr unsigned kOuter = static_cast<unsigned>(PortRole::kOuter);
constexpr unsigned kInner = static_cast<unsigned>(PortRole::kInner);

// WireGuard's padding as the kernel computes it for a packet within the MTU.
size_t padded_length(size_t len) {
  const size_t aligned =
      (len + wire::kMessagePadding - 1) / wire::kMessagePadding * wire::kMessagePadding;
  return std::min<size_t>(aligned, kMtu);
}

// Checks one datagram sent to peer 0 and returns the opened plaintext (empty
// on failure, with the failure recorded).
Bytes open_sent(const SentDatagram& d, const TestKeypair& kp, uint64_t expected_counter,
                const shm::Endpoint& to) {
  const Net& n = net();
  const bool v6 = to.family == 6;
  EXPECT_EQ(d.view.kind, v6 ? net::FrameKind::kIpv6Udp : net::FrameKind::kIpv4Udp);
  EXPECT_EQ(d.view.eth_src, kOuterMac);
  EXPECT_EQ(d.view.eth_dst, v6 ? kPeerMac6 : kPeerMac);
  EXPECT_EQ(d.view.src, v6 ? n.outer6 : n.outer4);
  EXPECT_EQ(std::memcmp(d.view.dst.bytes.data(), to.addr, 16), 0);
  EXPECT_EQ(d.view.src_port, kListenPort);
  EXPECT_EQ(d.view.dst_port, to.port);
  EXPECT_EQ(d.view.frame_len, d.frame.size()) << "no bytes after the datagram";
  if (!v6) {
    EXPECT_TRUE(net::ipv4_header_checksum_ok(d.frame.data(), d.view));
    EXPECT_EQ(d.view.ttl, 64);
  }
  EXPECT_TRUE(net::udp_checksum_ok(d.frame.data(), d.view));

  const Bytes msg = d.message();
  if (msg.size() < wire::kKeepaliveSize) {
    ADD_FAILURE() << "message of " << msg.size() << " bytes";
    return {};
  }
  EXPECT_EQ(msg[0], static_cast<uint8_t>(wire::MessageType::kData));
  EXPECT_EQ(msg[1] | msg[2] | msg[3], 0);
  EXPECT_EQ(pipeline::load_le32(msg.data() + 4), kp.remote_index);
  const uint64_t counter = pipeline::load_le64(msg.data() + 8);
  EXPECT_EQ(counter, expected_counter);
  const auto opened = reference_open(kp.send_key, counter, Bytes(msg.begin() + 16, msg.end()));
  if (!opened) {
    ADD_FAILURE() << "the reference does not open counter " << counter;
    return {};
  }
  return *opened;
}

// The plaintext must be the packet, then zeros up to padded_length.
void expect_padded_packet(const Bytes& plaintext, const Bytes& packet) {
  ASSERT_EQ(plaintext.size(), padded_length(packet.size())) << "inner length " << packet.size();
  EXPECT_TRUE(std::equal(packet.begin(), packet.end(), plaintext.begin()));
  for (size_t i = packet.size(); i < plaintext.size(); ++i) {
    ASSERT_EQ(plaintext[i], 0) << "padding byte " << i << " of a " << packet.size()
                               << "-byte packet";
  }
}

// --- 2. Round trip ---

class EncapRoundTrip : public PipelineTest,
                       public ::testing::WithParamInterface<std::tuple<uint8_t, uint8_t>> {};

TEST_P(EncapRoundTrip, SealsToTheEndpointInCounterOrder) {
  const auto [outer_family, inner_family] = GetParam();
  standard_setup(outer_family);
  const Net& n = net();
  const IpAddr& src = inner_family == 4 ? n.host4 : n.host6;
  const IpAddr& dst = inner_family == 4 ? n.remote4 : n.remote6;
  const shm::Endpoint to = endpoint(outer_family == 4 ? n.peer4 : n.peer6, kPeerPort);

  // Two bursts: the counter carries on across them.
  std::vector<Bytes> packets;
  for (size_t i = 0; i < 40; ++i)
    packets.push_back(ip_packet(src, dst, i * 31 % 1300, static_cast<uint8_t>(i)));
  std::vector<Bytes> frames;
  for (const Bytes& p : packets)
    frames.push_back(lan_frame(p, inner_family == 4 ? kHostMac : kHostMac6));
  encap(std::vector<Bytes>(frames.begin(), frames.begin() + 25));
  encap(std::vector<Bytes>(frames.begin() + 25, frames.end()));

  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), packets.size());
  uint64_t udp_bytes = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("packet " + std::to_string(i));
    expect_padded_packet(open_sent(sent[i], kp0_, i, to), packets[i]);
    udp_bytes += sent[i].view.payload_len;
  }
  EXPECT_EQ(total_drops(), 0u);
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::encrypted), packets.size());
  const shm::LcoreCounters& w = zone().lcore_counters[1];
  EXPECT_EQ(w.port[kInner].rx_packets.get(), packets.size());
  EXPECT_EQ(w.port[kOuter].tx_packets.get(), packets.size());
  const shm::PeerCounters& pc = zone().peer_counters[1][0];
  EXPECT_EQ(pc.tx_packets.get(), packets.size());
  EXPECT_EQ(pc.tx_bytes.get(), udp_bytes);
  EXPECT_EQ(pc.last_tx_ns.get(), kNow);
  EXPECT_EQ(pc.last_tx_data_ns.get(), kNow);
  const shm::KeypairSlot* kp = live_keypair(kp0_.local_index);
  ASSERT_NE(kp, nullptr);
  EXPECT_EQ(kp->send_counter.load(), packets.size());
  EXPECT_TRUE(take_events().empty());
  EXPECT_TRUE(take_tx(PortRole::kInner).empty());
}

INSTANTIATE_TEST_SUITE_P(Families, EncapRoundTrip,
                         ::testing::Values(std::make_tuple(uint8_t{4}, uint8_t{4}),
                                           std::make_tuple(uint8_t{6}, uint8_t{6}),
                                           std::make_tuple(uint8_t{6}, uint8_t{4}),
                                           std::make_tuple(uint8_t{4}, uint8_t{6})),
                         [](const auto& info) {
                           return "Outer" + std::to_string(std::get<0>(info.param)) + "Inner" +
                                  std::to_string(std::get<1>(info.param));
                         });

// One burst for three peers, interleaved: peer 0 and peer 1 have keypairs,
// peer 2 has none. encap_burst seals every peer's packets in one burst of
// IPsec-MB jobs: each datagram must still carry its own peer's key, index
// and counter sequence, in arrival order per peer, and peer 2's packets are
// staged, not sealed with someone else's key.
TEST_F(EncapTest, OneBurstForSeveralPeersSealsEachWithItsOwnKeypair) {
  standard_setup();
  const Net& n = net();
  const IpAddr peer1_ep = ip("192.0.2.3"), peer2_ep = ip("192.0.2.4");
  add_peer(1, endpoint(peer1_ep, 2222));
  allow(1, ip("10.8.2.0"), 24);
  neighbour(PortRole::kOuter, peer1_ep, kRoamMac);
  const TestKeypair kp1 = make_keypair(7);
  install(1, kp1);
  add_peer(2, endpoint(peer2_ep, 3333));
  allow(2, ip("10.8.3.0"), 24);
  neighbour(PortRole::kOuter, peer2_ep, kRoamMac);

  const IpAddr dst[3] = {n.remote4, ip("10.8.2.5"), ip("10.8.3.5")};
  std::vector<Bytes> packets;
  std::vector<Bytes> frames;
  for (unsigned i = 0; i < 30; ++i) {
    packets.push_back(ip_packet(n.host4, dst[i % 3], 20 + i * 13, static_cast<uint8_t>(i)));
    frames.push_back(lan_frame(packets.back()));
  }
  encap(frames);  // one burst of 30
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 20u) << "peers 0 and 1 sent, peer 2 staged";
  uint64_t next_counter[2] = {0, 0};
  unsigned next_packet[2] = {0, 1};  // index into packets of each peer's next one
  for (const SentDatagram& d : sent) {
    const bool to_peer1 = d.view.dst == peer1_ep;
    const unsigned p = to_peer1 ? 1 : 0;
    SCOPED_TRACE("datagram to peer " + std::to_string(p));
    const TestKeypair& kp = to_peer1 ? kp1 : kp0_;
    const Bytes msg = d.message();
    ASSERT_GE(msg.size(), wire::kKeepaliveSize);
    EXPECT_EQ(pipeline::load_le32(msg.data() + 4), kp.remote_index);
    const uint64_t counter = pipeline::load_le64(msg.data() + 8);
    EXPECT_EQ(counter, next_counter[p]++);
    const auto opened = reference_open(kp.send_key, counter, Bytes(msg.begin() + 16, msg.end()));
    ASSERT_TRUE(opened.has_value()) << "not sealed with this peer's key";
    expect_padded_packet(*opened, packets[next_packet[p]]);
    next_packet[p] += 3;
  }
  EXPECT_EQ(next_counter[0], 10u);
  EXPECT_EQ(next_counter[1], 10u);
  EXPECT_EQ(peer(2).staged_count, 10u);
  EXPECT_EQ(total_drops(), 0u);
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::encrypted), 20u);
}

TEST_F(EncapTest, DecapOfOurOwnOutputIsTheLanPacket) {
  // The gateway looped to itself: a second keypair whose receive side is
  // kp0_'s send side turns what encap sent into what decap delivers, so the
  // two IPsec-MB directions agree with each other as well as with libsodium.
  standard_setup();
  const Net& n = net();
  const Bytes packet = ip_packet(n.host4, n.remote4, 77);
  encap(lan_frame(packet));
  std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);

  TestKeypair mirror = make_keypair(9);
  mirror.local_index = kp0_.remote_index;
  mirror.receive_key = kp0_.send_key;
  install(0, mirror);
  allow(0, ip("10.8.0.0"), 24);                      // the packet's source, seen from the far side
  neighbour(PortRole::kInner, n.remote4, kRoamMac);  // and its destination as if on the LAN
  decap(from_peer(sent[0].message()));
  const std::vector<Bytes> out = take_tx(PortRole::kInner);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], ethernet(kRoamMac, kInnerMac, net::kEtherTypeIpv4, packet));
  EXPECT_EQ(total_drops(), 0u);
}

// --- Padding ---

TEST_F(EncapTest, PaddingForEveryLengthUpTo48) {
  // encap_to_peer takes packets that already start at their IP header; raw
  // bytes of every length 0..48 isolate the padding rule from IP parsing
  // (length 0 is a keepalive).
  standard_setup();
  std::vector<Bytes> payloads;
  for (size_t len = 0; len <= 48; ++len) {
    Bytes p(len);
    for (size_t i = 0; i < len; ++i) p[i] = static_cast<uint8_t>(0xA0 + len + i);
    payloads.push_back(p);
  }
  worker_ctx_.now_ns = now_;
  for (const Bytes& p : payloads) {
    rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
    ASSERT_NE(m, nullptr);
    if (!p.empty())
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(p.size())), p.data(), p.size());
    pipeline::encap_to_peer(worker_ctx_, 0, &m, 1, false);
  }
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), payloads.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("length " + std::to_string(i));
    expect_padded_packet(open_sent(sent[i], kp0_, i, endpoint(net().peer4, kPeerPort)),
                         payloads[i]);
    EXPECT_EQ(sent[i].view.payload_len, 16 + padded_length(i) + 16);
  }
  EXPECT_EQ(total_drops(), 0u);
  // Only the empty one was a keepalive: last_tx_data_ns is set by the others.
  EXPECT_EQ(zone().peer_counters[1][0].last_tx_data_ns.get(), kNow);
}

TEST_F(EncapTest, PaddingOfIpPacketsCoversEveryResidue) {
  standard_setup();
  const Net& n = net();
  std::vector<Bytes> packets;
  for (size_t len = 28; len < 28 + 48; ++len)
    packets.push_back(ip_packet_of_length(n.host4, n.remote4, len));
  std::vector<Bytes> frames;
  for (const Bytes& p : packets) frames.push_back(lan_frame(p));
  encap(frames);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), packets.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("IP length " + std::to_string(packets[i].size()));
    expect_padded_packet(open_sent(sent[i], kp0_, i, endpoint(n.peer4, kPeerPort)), packets[i]);
  }
}

TEST_F(EncapTest, PaddingNeverGoesPastTheMtu) {
  standard_setup();
  const Net& n = net();
  // 1404..1420: the last 16 lengths below the 1420-byte MTU, which is not a
  // multiple of 16 (1424 would be): from 1409 on the padding stops at 1420.
  std::vector<Bytes> packets;
  for (size_t len = kMtu - 16; len <= kMtu; ++len) {
    packets.push_back(ip_packet_of_length(n.host6, n.remote6, len, static_cast<uint8_t>(len)));
  }
  std::vector<Bytes> frames;
  for (const Bytes& p : packets) frames.push_back(lan_frame(p, kHostMac6));
  encap(frames);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), packets.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("IP length " + std::to_string(packets[i].size()));
    const Bytes plaintext = open_sent(sent[i], kp0_, i, endpoint(n.peer4, kPeerPort));
    expect_padded_packet(plaintext, packets[i]);
    EXPECT_LE(plaintext.size(), kMtu);
  }
  EXPECT_EQ(padded_length(kMtu), kMtu);
  EXPECT_EQ(total_drops(), 0u);
}

TEST_F(EncapTest, EthernetPaddingOfShortFramesIsNotEncrypted) {
  standard_setup();
  const Net& n = net();
  const Bytes packet = ip_packet(n.host4, n.remote4, 0);  // 28 bytes
  Bytes frame = lan_frame(packet);
  frame.resize(60, 0x5A);  // the NIC's minimum-size padding
  encap(frame);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  expect_padded_packet(open_sent(sent[0], kp0_, 0, endpoint(n.peer4, kPeerPort)), packet);
}

// --- 3. Keepalive sent ---

TEST_F(EncapTest, KeepaliveSentByTheMainLcoreAndByCommand) {
  standard_setup();
  main_ctx_.now_ns = now_;
  EXPECT_TRUE(pipeline::send_keepalive(main_ctx_, 0, test_pool()));
  command(MessageKind::kCmdSendKeepalive, 0);
  poll();
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 2u);
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(sent[i].view.payload_len, wire::kKeepaliveSize);
    EXPECT_TRUE(open_sent(sent[i], kp0_, i, endpoint(net().peer4, kPeerPort)).empty());
  }
  const shm::PeerCounters& pc = zone().peer_counters[0][0];
  EXPECT_EQ(pc.tx_packets.get(), 2u);
  EXPECT_EQ(pc.last_tx_ns.get(), kNow);
  EXPECT_EQ(pc.last_tx_data_ns.get(), 0u) << "keepalives carry no data";
  EXPECT_EQ(total_drops(), 0u);
}

// --- 6. Staging, initiator ---

TEST_F(EncapTest, StagesUntilAKeypairThenFlushesInOrder) {
  standard_setup(4, /*with_keypair=*/false);
  const Net& n = net();
  std::vector<Bytes> packets;
  for (size_t i = 0; i < 40; ++i)
    packets.push_back(ip_packet(n.host4, n.remote4, i, static_cast<uint8_t>(i)));
  std::vector<Bytes> frames;
  for (const Bytes& p : packets) frames.push_back(lan_frame(p));
  encap(std::vector<Bytes>(frames.begin(), frames.begin() + 3));
  encap(std::vector<Bytes>(frames.begin() + 3, frames.end()));  // two more bursts

  EXPECT_TRUE(take_outer().empty());
  EXPECT_EQ(peer(0).staged_count, packets.size());
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::staged), packets.size());
  EXPECT_EQ(total_drops(), 0u);
  std::vector<shm::RingMessage> events = take_events();
  ASSERT_EQ(events.size(), 1u) << "one handshake request for a burst of staged packets";
  EXPECT_EQ(events[0].kind, MessageKind::kEventNeedHandshake);
  EXPECT_EQ(events[0].peer, 0u);
  EXPECT_EQ(events[0].length, 0u);

  install(0, kp0_);  // initiator: current at once, staged packets go out
  EXPECT_EQ(peer(0).staged_count, 0u);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), packets.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    SCOPED_TRACE("staged packet " + std::to_string(i));
    expect_padded_packet(open_sent(sent[i], kp0_, i, endpoint(n.peer4, kPeerPort)), packets[i]);
  }
  EXPECT_EQ(total_drops(), 0u);
  EXPECT_TRUE(take_events().empty());
}

// Staged packets of all peers share one budget (kStagedTotalMax), so that
// traffic to many peers without a session cannot drain the mbuf pool: past
// it, packets are stage_full even when the peer's own queue has room; the
// budget comes back when the packets leave the queue.
TEST_F(EncapTest, StagingStopsAtTheGatewayWideBudgetAndGetsItBack) {
  standard_setup(4, /*with_keypair=*/false);
  const Net& n = net();
  zone().stage_budget.staged.store(shm::kStagedTotalMax - 3);  // other peers hold the rest
  std::vector<Bytes> frames;
  for (size_t i = 0; i < 10; ++i) frames.push_back(lan_frame(ip_packet(n.host4, n.remote4, i)));
  encap(frames);
  EXPECT_EQ(peer(0).staged_count, 3u);
  EXPECT_EQ(drops(DropReason::kStageFull), 7u);
  EXPECT_EQ(zone().stage_budget.staged.load(), shm::kStagedTotalMax);

  install(0, kp0_);  // the three go out and give their share back
  EXPECT_EQ(take_outer().size(), 3u);
  EXPECT_EQ(zone().stage_budget.staged.load(), shm::kStagedTotalMax - 3);
  zone().stage_budget.staged.store(0);
}

TEST_F(EncapTest, NeedHandshakeIsRaisedAgainAfter250Milliseconds) {
  standard_setup(4, false);
  const Bytes frame = lan_frame(ip_packet(net().host4, net().remote4, 1));
  encap(frame);
  now_ += 249ULL * 1000 * 1000;
  encap(frame);
  EXPECT_EQ(take_events().size(), 1u);
  now_ += 2ULL * 1000 * 1000;
  encap(frame);
  const std::vector<shm::RingMessage> events = take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MessageKind::kEventNeedHandshake);
  EXPECT_EQ(events[0].timestamp_ns, now_);
}

TEST_F(EncapTest, ExpiredCurrentKeypairStagesAndAsksForAHandshake) {
  standard_setup();
  now_ = kNow + wire::kRejectAfterTime;
  encap(lan_frame(ip_packet(net().host4, net().remote4, 1)));
  EXPECT_TRUE(take_outer().empty());
  EXPECT_EQ(peer(0).staged_count, 1u);
  const std::vector<shm::RingMessage> events = take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MessageKind::kEventNeedHandshake);
}

TEST_F(EncapTest, SendKeepaliveCommandSendsStrandedStagedPacketsInstead) {
  // A worker that read `current` just before the install staged its packet
  // just after the install's flush: the packet waits although a keypair is
  // there. The keepalive the control plane asks for after a handshake sends
  // it instead ("staged packets confirm the session as well").
  standard_setup();
  const Bytes packet = ip_packet(net().host4, net().remote4, 5);
  rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
  ASSERT_NE(m, nullptr);
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(packet.size())), packet.data(),
              packet.size());
  shm::PeerSlot& p = peer(0);
  p.stage_lock.lock();
  p.staged[p.staged_count++] = reinterpret_cast<uintptr_t>(m);
  p.stage_lock.unlock();

  command(MessageKind::kCmdSendKeepalive, 0);
  poll();
  EXPECT_EQ(p.staged_count, 0u);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  expect_padded_packet(open_sent(sent[0], kp0_, 0, endpoint(net().peer4, kPeerPort)), packet);
}

TEST_F(EncapTest, UnconfirmedNextKeypairIsNotUsedForSending) {
  standard_setup(4, false);
  encap(lan_frame(ip_packet(net().host4, net().remote4, 5)));
  take_events();
  install(0, make_keypair(2, /*we_initiated=*/false));
  EXPECT_EQ(peer(0).staged_count, 1u) << "a responder's keypair is not usable before confirmation";
  command(MessageKind::kCmdSendKeepalive, 0);
  poll();
  EXPECT_TRUE(take_outer().empty());
  EXPECT_EQ(peer(0).staged_count, 1u);
  EXPECT_EQ(total_drops(), 0u);
  take_events();
}

// --- 7. Rotation as responder ---

TEST_F(EncapTest, ResponderKeypairConfirmedByTheFirstPacketUnderIt) {
  standard_setup(4, false);
  const Net& n = net();
  TestKeypair kp = make_keypair(3, /*we_initiated=*/false);
  install(0, kp);
  const int32_t slot = index_lookup(kp.local_index);
  ASSERT_GE(slot, 0);
  EXPECT_EQ(peer(0).next.load(), slot);
  EXPECT_EQ(peer(0).current.load(), shm::kNoKeypair);

  // Until the initiator speaks, LAN traffic is staged.
  std::vector<Bytes> packets;
  for (size_t i = 0; i < 5; ++i)
    packets.push_back(ip_packet(n.host4, n.remote4, 10 + i, static_cast<uint8_t>(i)));
  for (const Bytes& p : packets) encap(lan_frame(p));
  EXPECT_TRUE(take_outer().empty());
  EXPECT_EQ(peer(0).staged_count, packets.size());
  take_events();  // the handshake request

  // The initiator's first data packet under the new session.
  const Bytes in = ip_packet(n.remote4, n.host4, 30);
  decap(peer_data(kp, 0, in));
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u) << "delivered while still `next`";
  EXPECT_EQ(rte_ring_count(internal_), 1u) << "one confirmation request to the main lcore";
  decap(peer_data(kp, 1, in));
  EXPECT_EQ(rte_ring_count(internal_), 1u) << "only the first packet asks";

  poll();
  EXPECT_EQ(peer(0).current.load(), slot);
  EXPECT_EQ(peer(0).next.load(), shm::kNoKeypair);
  EXPECT_EQ(peer(0).staged_count, 0u);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), packets.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    expect_padded_packet(open_sent(sent[i], kp, i, endpoint(n.peer4, kPeerPort)), packets[i]);
  }
  const std::vector<shm::RingMessage> events = take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MessageKind::kEventKeypairConfirmed);
  EXPECT_EQ(events[0].peer, 0u);
  shm::EventKeypair body;
  ASSERT_EQ(events[0].length, sizeof(body));
  std::memcpy(&body, events[0].body, sizeof(body));
  EXPECT_EQ(body.local_index, kp.local_index);
  EXPECT_EQ(total_drops(), 0u);

  // A later confirmation request for the same slot (a retry) changes nothing.
  uint32_t again = static_cast<uint32_t>(slot);
  ASSERT_EQ(rte_ring_enqueue_elem(internal_, &again, sizeof(again)), 0);
  poll();
  EXPECT_EQ(peer(0).current.load(), slot);
  EXPECT_TRUE(take_events().empty());
}

TEST_F(EncapTest, ResponderRotationKeepsThePreviousKeypairForLatePackets) {
  standard_setup();  // kp0_ current (we initiated it)
  const Net& n = net();
  TestKeypair next = make_keypair(4, false);
  install(0, next);
  const int32_t old_slot = index_lookup(kp0_.local_index);
  const int32_t new_slot = index_lookup(next.local_index);
  ASSERT_GE(old_slot, 0);
  ASSERT_GE(new_slot, 0);
  EXPECT_EQ(peer(0).current.load(), old_slot) << "we keep sending under kp0_ until confirmed";

  decap(peer_data(next, 0, ip_packet(n.remote4, n.host4, 1)));
  poll();
  EXPECT_EQ(peer(0).current.load(), new_slot);
  EXPECT_EQ(peer(0).previous.load(), old_slot);
  // A late packet under the old session still decrypts.
  decap(peer_data(kp0_, 0, ip_packet(n.remote4, n.host4, 2)));
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 2u);
  // And we send under the new one.
  encap(lan_frame(ip_packet(n.host4, n.remote4, 3)));
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(pipeline::load_le32(sent[0].message().data() + 4), next.remote_index);
  EXPECT_EQ(total_drops(), 0u);
  take_events();
}

// --- Events of the send path ---

TEST_F(EncapTest, RekeyWantedOnceAfterRekeyAfterMessages) {
  standard_setup();
  const Bytes frame = lan_frame(ip_packet(net().host4, net().remote4, 1));
  // Stand-in for 2^60 messages sent: the nonce counter is the workers' to write.
  shm::KeypairSlot* kp = live_keypair(kp0_.local_index);
  ASSERT_NE(kp, nullptr);
  kp->send_counter.store(wire::kRekeyAfterMessages - 1);
  encap(frame);
  EXPECT_TRUE(take_events().empty()) << "counter 2^60 - 1 is still within the limit";
  encap(frame);
  encap(frame);
  const std::vector<shm::RingMessage> events = take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MessageKind::kEventRekeyWanted);
  shm::EventKeypair body;
  std::memcpy(&body, events[0].body, sizeof(body));
  EXPECT_EQ(body.local_index, kp0_.local_index);
  EXPECT_EQ(body.send_counter, wire::kRekeyAfterMessages + 1);
  EXPECT_EQ(take_outer().size(), 3u) << "rekeying is a wish, the packets still go";
}

// The decap side limits neighbour-miss events to 64 a second per lcore "so a
// flood of misses cannot fill the event ring" (decap.cpp); a flood of LAN
// traffic to a peer whose next hop has no MAC must not either.
TEST_F(EncapTest, NeighbourMissEventsAreRateLimited) {
  add_peer(0, endpoint(ip("192.0.2.50"), kPeerPort));  // on-link, no neighbour entry
  allow(0, ip("10.8.1.0"), 24);
  install(0, kp0_);
  const Bytes frame = lan_frame(ip_packet(net().host4, net().remote4, 1));
  for (unsigned i = 0; i < 100; ++i) encap(frame);
  EXPECT_EQ(drops(DropReason::kNoNeighbour), 100u);
  const std::vector<shm::RingMessage> events = take_events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, MessageKind::kEventNeighbourMiss);
  EXPECT_EQ(events[0].port, static_cast<uint8_t>(PortRole::kOuter));
  EXPECT_LE(events.size(), 64u) << "encap_to_peer raises one event per burst without a limit";
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
