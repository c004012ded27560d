// Tests for the decap pipeline (dataplane/pipeline/decap.cpp) on hand-built
// mbufs: data messages sealed by the libsodium reference come out of the
// inner port as exactly the inner IP packet behind a fresh Ethernet header;
// keepalives are consumed; roaming follows authenticated packets only;
// handshakes, ARP, ND and echo for us are punted as copies; the neighbour-miss
// events are rate limited; a worker's TX buffer never overflows.
//
// The drop reasons have their own table (drop_test.cpp); the keypair
// confirmation as responder is in encap_test.cpp with the staging it flushes.
#include <gtest/gtest.h>

#include <cstring>
#include <tuple>

#include "dataplane/net/responder.hpp"
#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

using DecapTest = PipelineTest;

constexpr unsigned kOuter = static_cast<unsigned>(PortRole::kOuter);
constexpr unsigned kInner = static_cast<unsigned>(PortRole::kInner);

// The inner frame decap must produce for a packet to the LAN host.
Bytes expected_lan_frame(const Bytes& packet) {
  const bool v6 = (packet[0] >> 4) == 6;
  return ethernet(v6 ? kHostMac6 : kHostMac, kInnerMac,
                  v6 ? net::kEtherTypeIpv6 : net::kEtherTypeIpv4, packet);
}

// --- 1. Round trip: outer family x inner family, several sizes per burst ---

class DecapRoundTrip : public PipelineTest,
                       public ::testing::WithParamInterface<std::tuple<uint8_t, uint8_t>> {};

TEST_P(DecapRoundTrip, DeliversExactlyTheInnerPacket) {
  const auto [outer_family, inner_family] = GetParam();
  standard_setup(outer_family);
  const Net& n = net();
  const IpAddr& src = inner_family == 4 ? n.remote4 : n.remote6;
  const IpAddr& dst = inner_family == 4 ? n.host4 : n.host6;

  // UDP payload sizes: empty, odd, one block, just past a block, and the
  // largest that fits the 1420-byte MTU with an IPv6 header.
  const size_t sizes[] = {0, 1, 15, 16, 17, 100, 1372};
  std::vector<Bytes> packets;
  std::vector<Bytes> frames;
  uint64_t udp_bytes = 0;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    packets.push_back(ip_packet(src, dst, sizes[i], static_cast<uint8_t>(i)));
    frames.push_back(peer_data(kp0_, i, packets.back(), outer_family));
    udp_bytes += frames.back().size() - net::outer_header_len(outer_family);
  }
  decap(frames);
  const std::vector<Bytes> out = take_tx(PortRole::kInner);

  ASSERT_EQ(out.size(), packets.size());
  for (size_t i = 0; i < packets.size(); ++i) {
    EXPECT_EQ(out[i], expected_lan_frame(packets[i]))
        << "packet " << i << " (" << sizes[i] << " B)";
  }
  EXPECT_TRUE(take_tx(PortRole::kOuter).empty());
  EXPECT_EQ(total_drops(), 0u);
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::decrypted), packets.size());
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::keepalives_received), 0u);
  const shm::LcoreCounters& w = zone().lcore_counters[1];
  EXPECT_EQ(w.port[kOuter].rx_packets.get(), packets.size());
  EXPECT_EQ(w.port[kInner].tx_packets.get(), packets.size());
  const shm::PeerCounters& pc = zone().peer_counters[1][0];
  EXPECT_EQ(pc.rx_packets.get(), packets.size());
  EXPECT_EQ(pc.rx_bytes.get(), udp_bytes);
  EXPECT_EQ(pc.last_rx_ns.get(), kNow);
  EXPECT_EQ(pc.last_rx_data_ns.get(), kNow);
  EXPECT_TRUE(take_events().empty()) << "the endpoint did not move";
  EXPECT_TRUE(take_punts().empty());
}

INSTANTIATE_TEST_SUITE_P(Families, DecapRoundTrip,
                         ::testing::Values(std::make_tuple(uint8_t{4}, uint8_t{4}),
                                           std::make_tuple(uint8_t{6}, uint8_t{6}),
                                           std::make_tuple(uint8_t{6}, uint8_t{4}),
                                           std::make_tuple(uint8_t{4}, uint8_t{6})),
                         [](const auto& info) {
                           return "Outer" + std::to_string(std::get<0>(info.param)) + "Inner" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST_F(DecapTest, OutOfOrderCountersInsideTheWindowAreAccepted) {
  standard_setup();
  const Net& n = net();
  const uint64_t counters[] = {5, 3, 4, 0, 100, 6};
  std::vector<Bytes> frames;
  for (uint64_t c : counters) {
    frames.push_back(
        peer_data(kp0_, c, ip_packet(n.remote4, n.host4, 10, static_cast<uint8_t>(c))));
  }
  decap(frames);
  const std::vector<Bytes> out = take_tx(PortRole::kInner);
  ASSERT_EQ(out.size(), std::size(counters));
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i], expected_lan_frame(
                          ip_packet(n.remote4, n.host4, 10, static_cast<uint8_t>(counters[i]))));
  }
  EXPECT_EQ(total_drops(), 0u);
}

TEST_F(DecapTest, EthernetTrailerAfterTheDatagramIsIgnored) {
  // Bytes after the UDP datagram (a sender NIC's minimum-size padding, or
  // junk) are not part of the message: the tag is found by the UDP length.
  standard_setup();
  const Net& n = net();
  const Bytes packet = ip_packet(n.remote4, n.host4, 3);
  Bytes frame = peer_data(kp0_, 0, packet);
  frame.insert(frame.end(), 8, 0xEE);
  decap(frame);
  const std::vector<Bytes> out = take_tx(PortRole::kInner);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], expected_lan_frame(packet));
}

// --- 3. Keepalive received ---

TEST_F(DecapTest, KeepaliveIsCountedAndConsumed) {
  standard_setup();
  const Bytes msg = data_message(kp0_.local_index, 0, kp0_.receive_key, {});
  ASSERT_EQ(msg.size(), wire::kKeepaliveSize);
  decap(from_peer(msg));
  EXPECT_TRUE(take_tx(PortRole::kInner).empty());
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::keepalives_received), 1u);
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::decrypted), 1u);
  EXPECT_EQ(total_drops(), 0u);
  const shm::PeerCounters& pc = zone().peer_counters[1][0];
  EXPECT_EQ(pc.rx_packets.get(), 1u);
  EXPECT_EQ(pc.rx_bytes.get(), wire::kKeepaliveSize);
  EXPECT_EQ(pc.last_rx_ns.get(), kNow);
  EXPECT_EQ(pc.last_rx_data_ns.get(), 0u) << "a keepalive carries no data";
}

// --- 8. Roaming ---

TEST_F(DecapTest, AuthenticatedPacketFromANewSourceMovesTheEndpoint) {
  standard_setup();
  const Net& n = net();
  const Bytes packet = ip_packet(n.remote4, n.host4, 20);
  decap(from_peer(data_message(kp0_.local_index, 0, kp0_.receive_key, padded(packet)), 4, 40000,
                  kRoamMac));
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u);

  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer4, 40000));
  std::vector<shm::RingMessage> events = take_events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, MessageKind::kEventEndpointChanged);
  EXPECT_EQ(events[0].peer, 0u);
  EXPECT_EQ(events[0].timestamp_ns, kNow);
  ASSERT_EQ(events[0].length, sizeof(shm::EventEndpoint));
  shm::EventEndpoint body;
  std::memcpy(&body, events[0].body, sizeof(body));
  EXPECT_EQ(body.endpoint, endpoint(n.peer4, 40000));
  EXPECT_EQ(MacAddress::from(body.mac), kRoamMac) << "the frame's source MAC, for the neighbour";

  // The same source again: nothing to report.
  decap(from_peer(data_message(kp0_.local_index, 1, kp0_.receive_key, padded(packet)), 4, 40000,
                  kRoamMac));
  EXPECT_TRUE(take_events().empty());

  // Encap now sends to the new endpoint.
  encap(lan_frame(ip_packet(n.host4, n.remote4, 8)));
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].view.dst_port, 40000);
  EXPECT_EQ(sent[0].view.dst, n.peer4);
}

TEST_F(DecapTest, RoamingAcrossAddressFamilies) {
  standard_setup(4);
  const Net& n = net();
  decap(peer_data(kp0_, 0, ip_packet(n.remote4, n.host4, 20), 6));
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u);
  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer6, kPeerPort));
  ASSERT_EQ(take_events().size(), 1u);

  encap(lan_frame(ip_packet(n.host4, n.remote4, 8)));
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].view.kind, net::FrameKind::kIpv6Udp);
  EXPECT_EQ(sent[0].view.dst, n.peer6);
  EXPECT_EQ(sent[0].view.src, n.outer6);
  EXPECT_EQ(sent[0].view.eth_dst, kPeerMac6);
}

TEST_F(DecapTest, UnauthenticatedPacketsDoNotMoveTheEndpoint) {
  standard_setup();
  const Net& n = net();
  const Bytes packet = ip_packet(n.remote4, n.host4, 20);
  // A forged tag, and a replay of a genuine packet, both from a new port.
  Bytes forged = data_message(kp0_.local_index, 7, kp0_.receive_key, padded(packet));
  forged.back() ^= 0x01;
  decap(from_peer(forged, 4, 40001));
  decap(peer_data(kp0_, 3, packet));
  decap(peer_data(kp0_, 3, packet, 4, 40002));
  EXPECT_EQ(drops(DropReason::kBadMac), 1u);
  EXPECT_EQ(drops(DropReason::kReplay), 1u);
  EXPECT_EQ(peer(0).endpoint, endpoint(n.peer4, kPeerPort));
  EXPECT_TRUE(take_events().empty());
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u);
}

// --- 5. Punt ---

TEST_F(DecapTest, HandshakeMessagesArePuntedAsCopies) {
  standard_setup();
  struct Case {
    wire::MessageType type;
    size_t size;
  };
  const Case cases[] = {{wire::MessageType::kHandshakeInitiation, wire::kInitiationSize},
                        {wire::MessageType::kHandshakeResponse, wire::kResponseSize},
                        {wire::MessageType::kHandshakeCookie, wire::kCookieReplySize}};
  std::vector<Bytes> frames;
  for (const Case& c : cases) {
    Bytes msg(c.size);
    for (size_t i = 4; i < msg.size(); ++i) msg[i] = static_cast<uint8_t>(i * 3);
    msg[0] = static_cast<uint8_t>(c.type);
    frames.push_back(from_peer(msg, frames.size() % 2 == 0 ? 4 : 6));
  }
  decap(frames);
  const std::vector<shm::RingMessage> punts = take_punts();
  ASSERT_EQ(punts.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(punts[i].kind, MessageKind::kPuntFrame);
    EXPECT_EQ(punts[i].port, static_cast<uint8_t>(PortRole::kOuter));
    EXPECT_EQ(punts[i].timestamp_ns, kNow);
    ASSERT_EQ(punts[i].length, frames[i].size());
    EXPECT_EQ(Bytes(punts[i].body, punts[i].body + punts[i].length), frames[i]) << "case " << i;
  }
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::punted), frames.size());
  EXPECT_EQ(total_drops(), 0u);
  EXPECT_TRUE(take_tx(PortRole::kInner).empty());
  EXPECT_TRUE(take_tx(PortRole::kOuter).empty());
}

TEST_F(DecapTest, ArpEchoAndNeighbourDiscoveryForUsArePunted) {
  standard_setup();
  const Net& n = net();
  const std::vector<Bytes> for_us = {
      arp_frame(1, kPeerMac, n.peer4, n.outer4),
      arp_frame(2, kPeerMac, n.peer4, n.outer4, kOuterMac),
      icmp_frame(kOuterMac, kPeerMac, n.peer4, n.outer4, 8, 56),
      icmp_frame(kOuterMac, kPeerMac6, n.peer6, n.outer6, 128, 56),
      // Neighbor Solicitation to our solicited-node group, and an advertisement.
      icmp_frame(MacAddress{{0x33, 0x33, 0xff, 0x00, 0x00, 0x01}}, kPeerMac6, n.peer6,
                 ip("ff02::1:ff00:1"), 135, 24),
      icmp_frame(kOuterMac, kPeerMac6, n.peer6, n.outer6, 136, 24),
      // Echo to our link-local address.
      icmp_frame(kOuterMac, kPeerMac6, ip("fe80::1"), net::link_local_from_mac(kOuterMac), 128, 8),
  };
  decap(for_us);
  const std::vector<shm::RingMessage> punts = take_punts();
  ASSERT_EQ(punts.size(), for_us.size());
  for (size_t i = 0; i < for_us.size(); ++i) {
    EXPECT_EQ(Bytes(punts[i].body, punts[i].body + punts[i].length), for_us[i]) << "frame " << i;
  }
  EXPECT_EQ(total_drops(), 0u);

  // The same kinds for somebody else's addresses are not ours.
  const std::vector<Bytes> not_ours = {
      arp_frame(1, kPeerMac, n.peer4, ip("192.0.2.99")),
      icmp_frame(kOuterMac, kPeerMac, n.peer4, ip("192.0.2.99"), 8, 56),
      icmp_frame(kOuterMac, kPeerMac, n.peer4, n.outer4, 0, 56),  // an echo reply
      icmp_frame(kOuterMac, kPeerMac6, n.peer6, ip("2001:db8::99"), 128, 56),
  };
  decap(not_ours);
  EXPECT_TRUE(take_punts().empty());
  EXPECT_EQ(drops(DropReason::kNotForUs), not_ours.size());
  EXPECT_EQ(total_drops(), not_ours.size());
}

TEST_F(DecapTest, InnerPortArpAndEchoForUsArePuntedFromEncap) {
  standard_setup();
  const Net& n = net();
  const std::vector<Bytes> frames = {
      arp_frame(1, kHostMac, n.host4, n.inner4),
      icmp_frame(kInnerMac, kHostMac, n.host4, n.inner4, 8, 16),
      icmp_frame(kInnerMac, kHostMac6, n.host6, n.inner6, 128, 16),
  };
  encap(frames);
  const std::vector<shm::RingMessage> punts = take_punts();
  ASSERT_EQ(punts.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(punts[i].port, static_cast<uint8_t>(PortRole::kInner));
    EXPECT_EQ(Bytes(punts[i].body, punts[i].body + punts[i].length), frames[i]);
  }
  EXPECT_TRUE(take_tx(PortRole::kOuter).empty());
  EXPECT_EQ(total_drops(), 0u);
}

// --- Neighbour misses ---

TEST_F(DecapTest, NeighbourMissEventsAreRateLimited) {
  standard_setup();
  const IpAddr stranger = ip("10.8.0.77");
  std::vector<Bytes> frames;
  for (uint64_t c = 0; c < 100; ++c)
    frames.push_back(peer_data(kp0_, c, ip_packet(net().remote4, stranger, 4)));
  decap(frames);
  EXPECT_EQ(drops(DropReason::kNoNeighbour), 100u);
  const std::vector<shm::RingMessage> events = take_events();
  EXPECT_EQ(events.size(), 64u) << "at most 64 a second per lcore";
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, MessageKind::kEventNeighbourMiss);
  EXPECT_EQ(events[0].port, static_cast<uint8_t>(PortRole::kInner));
  shm::EventNeighbour body;
  std::memcpy(&body, events[0].body, sizeof(body));
  EXPECT_EQ(body.family, 4);
  EXPECT_EQ(std::memcmp(body.addr, stranger.bytes.data(), 16), 0);

  // A second later the budget is back.
  now_ += 1001ULL * 1000 * 1000;
  decap(peer_data(kp0_, 100, ip_packet(net().remote4, stranger, 4)));
  EXPECT_EQ(take_events().size(), 1u);
}

// --- The TX buffer ---

// A worker polls every RX queue it owns before it flushes (worker.cpp), and
// dataplane_main gives one worker several outer queues when there are more
// queues than workers. Three full bursts of data before a flush must all
// arrive, and the 64-packet TxBuffer must never be written past its end.
TEST_F(DecapTest, ThreeBurstsBeforeAFlushAllArrive) {
  standard_setup();
  const Net& n = net();
  std::vector<rte_mbuf*> last;
  unsigned counter = 0;
  for (unsigned burst = 0; burst < 3; ++burst) {
    std::vector<Bytes> frames;
    const unsigned size = burst < 2 ? pipeline::kBurst : 1;
    for (unsigned i = 0; i < size; ++i)
      frames.push_back(peer_data(kp0_, counter++, ip_packet(n.remote4, n.host4, 4)));
    // Not decap(): its mbufs are needed below if the buffer overflows.
    std::vector<rte_mbuf*> mbufs;
    for (const Bytes& f : frames) {
      rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
      ASSERT_NE(m, nullptr);
      std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(f.size())), f.data(), f.size());
      mbufs.push_back(m);
    }
    decap_mbufs(mbufs);
    last = mbufs;
    const unsigned count = worker_ctx_.tx[kInner].count;
    EXPECT_LE(count, std::size(worker_ctx_.tx[kInner].pkts))
        << "burst " << burst
        << ": decap_burst wrote past the end of TxBuffer::pkts (decap.cpp "
           "stage 4 appends without checking for a full buffer, as encap does)";
    if (count > std::size(worker_ctx_.tx[kInner].pkts)) {
      // The 65th pointer landed on `count` itself; put the buffer back
      // together so the rest of the binary can run, and free that mbuf.
      worker_ctx_.tx[kInner].count = static_cast<unsigned>(std::size(worker_ctx_.tx[kInner].pkts));
      rte_pktmbuf_free(last.back());
      break;
    }
  }
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 2 * pipeline::kBurst + 1);
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
