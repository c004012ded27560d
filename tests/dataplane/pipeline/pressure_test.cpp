// Resource pressure forced on the dataplane: an empty mbuf pool, a full punt
// ring, a full event ring, full TX rings on both ports. Each test applies
// the pressure, checks that what could not be done was counted under its
// drop reason (mbuf_exhausted, ring_full, tx_full) and that every mbuf the
// pipeline was handed went back to the pool, then takes the pressure away
// and checks that the same traffic flows again. The fixture's TearDown
// checks once more that the pool's in-use count is where it started.
//
// Where the dataplane allocates mbufs, and so what an empty pool can stop:
// decap and encap work in place on the received mbufs (no allocation: they
// keep working with the pool empty, PoolEmpty_DataPathKeepsForwarding...),
// punting copies the frame into a ring message (no mbuf either); only frames
// the gateway originates take a fresh mbuf: keepalives (send_keepalive) and
// the control plane's transmit commands (Applier::transmit_frame, for
// handshake messages, ARP/ND and echo replies).
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/wire/constants.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

// Every free mbuf of a pool (its per-lcore cache included), held until
// release() or destruction: the pool as a flood that left nothing over would.
class PoolDrain {
 public:
  explicit PoolDrain(rte_mempool* pool) {
    while (rte_mbuf* m = rte_pktmbuf_alloc(pool)) held_.push_back(m);
  }
  ~PoolDrain() { release(); }
  PoolDrain(const PoolDrain&) = delete;
  PoolDrain& operator=(const PoolDrain&) = delete;
  void release() {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
    held_.clear();
  }
  size_t held() const { return held_.size(); }

 private:
  std::vector<rte_mbuf*> held_;
};

class PressureTest : public PipelineTest {
 public:
  const Net& n() const { return net(); }
  unsigned in_use() const { return rte_mempool_in_use_count(test_pool()); }
  Bytes lan(uint8_t tag = 0) { return lan_frame(ip_packet(n().host4, n().remote4, 8, tag)); }
  Bytes data(uint64_t counter) {
    return peer_data(kp0_, counter, ip_packet(n().remote4, n().host4, 8));
  }
  // The drop counters that moved since `before`, by name: {} when none.
  std::vector<std::pair<std::string, uint64_t>> moved(const DropCounts& before) const {
    std::vector<std::pair<std::string, uint64_t>> out;
    const DropCounts now = drop_counts();
    for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
      if (now[d] != before[d])
        out.emplace_back(shm::drop_reason_name(static_cast<DropReason>(d)), now[d] - before[d]);
    }
    return out;
  }
  using Moved = std::vector<std::pair<std::string, uint64_t>>;

  void send_keepalive_command(uint32_t p) {
    command(MessageKind::kCmdSendKeepalive, p);
    poll();
  }
  void transmit_udp_command(uint32_t p) {
    shm::CmdTransmitUdp body{};  // destination family 0: the peer's endpoint
    body.payload_len = wire::kInitiationSize;
    const Bytes msg = initiation();
    std::memcpy(body.payload, msg.data(), msg.size());
    command(MessageKind::kCmdTransmitUdp, p, body);
    poll();
  }
  void transmit_frame_command() {  // an ARP reply to the LAN host, as the responder sends it
    const Bytes f = arp_frame(2, kInnerMac, n().inner4, n().host4, kHostMac);
    command_bytes(MessageKind::kCmdTransmitFrame, shm::kNoPeer, f.data(),
                  static_cast<uint16_t>(f.size()), static_cast<uint8_t>(PortRole::kInner));
    poll();
  }
  void decap_all(std::vector<rte_mbuf*> mbufs) { decap_mbufs(std::move(mbufs)); }
  void encap_all(std::vector<rte_mbuf*> mbufs) {
    worker_ctx_.now_ns = now_;
    for (size_t i = 0; i < mbufs.size(); i += pipeline::kBurst) {
      const unsigned k =
          static_cast<unsigned>(std::min<size_t>(pipeline::kBurst, mbufs.size() - i));
      pipeline::encap_burst(worker_ctx_, mbufs.data() + i, k);
    }
  }
  uint64_t tx_packets(PortRole port) const {
    uint64_t total = 0;
    for (const shm::LcoreCounters& c : zone().lcore_counters)
      total += c.port[static_cast<unsigned>(port)].tx_packets.get();
    return total;
  }
};

// --- An empty mbuf pool ------------------------------------------------------

TEST_F(PressureTest, PoolEmpty_OriginatedFramesCountedAsMbufExhaustedThenResume) {
  standard_setup();
  take_events();
  const unsigned baseline = in_use();
  const DropCounts before = drop_counts();
  {
    PoolDrain drain(test_pool());
    ASSERT_GT(drain.held(), 0u);
    ASSERT_EQ(rte_mempool_avail_count(test_pool()), 0u) << "the pool is not empty";
    main_ctx_.now_ns = now_;
    EXPECT_FALSE(pipeline::send_keepalive(main_ctx_, 0, test_pool()));  // the main lcore's timer
    send_keepalive_command(0);                                          // the control plane's
    transmit_udp_command(0);   // a handshake message to peer 0's endpoint
    transmit_frame_command();  // an ARP reply on the inner port
    EXPECT_EQ(moved(before), (Moved{{"mbuf_exhausted", 4}}));
    EXPECT_TRUE(take_tx(PortRole::kOuter).empty());
    EXPECT_TRUE(take_tx(PortRole::kInner).empty());
    EXPECT_EQ(in_use(), baseline + drain.held()) << "only the drain holds mbufs";
  }
  EXPECT_EQ(in_use(), baseline) << "mbufs leaked under exhaustion";

  // Pressure gone: the same four go out.
  const DropCounts after_pressure = drop_counts();
  main_ctx_.now_ns = now_;
  EXPECT_TRUE(pipeline::send_keepalive(main_ctx_, 0, test_pool()));
  send_keepalive_command(0);
  transmit_udp_command(0);
  transmit_frame_command();
  const std::vector<SentDatagram> outer = take_outer();
  ASSERT_EQ(outer.size(), 3u) << "two keepalives and a handshake message";
  EXPECT_EQ(outer[0].message().size(), wire::kKeepaliveSize);
  EXPECT_EQ(outer[1].message().size(), wire::kKeepaliveSize);
  EXPECT_EQ(outer[2].message(), initiation());
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u) << "the ARP reply";
  EXPECT_EQ(moved(after_pressure), Moved{});
  EXPECT_EQ(in_use(), baseline);
}

// Received packets need no new mbuf: with the pool empty, decap still
// forwards, encap still tunnels and punting still copies to the ring.
TEST_F(PressureTest, PoolEmpty_DataPathKeepsForwardingInPlace) {
  standard_setup();
  take_events();
  const unsigned baseline = in_use();
  const DropCounts before = drop_counts();
  // Frames that "arrived" before the pool ran dry.
  std::vector<rte_mbuf*> from_peer_pkts = make_mbufs({data(1), data(2)});
  std::vector<rte_mbuf*> from_lan_pkts = make_mbufs({lan(1), lan(2)});
  std::vector<rte_mbuf*> handshake = make_mbufs({from_peer(initiation())});
  ASSERT_EQ(from_peer_pkts.size() + from_lan_pkts.size() + handshake.size(), 5u);
  {
    PoolDrain drain(test_pool());
    ASSERT_EQ(rte_mempool_avail_count(test_pool()), 0u);
    decap_all(from_peer_pkts);
    encap_all(from_lan_pkts);
    decap_all(handshake);
    EXPECT_EQ(moved(before), Moved{});
    EXPECT_EQ(take_punts().size(), 1u);
    pipeline::flush_tx(worker_ctx_);
    EXPECT_EQ(tx_packets(PortRole::kInner), 2u);
    EXPECT_EQ(tx_packets(PortRole::kOuter), 2u);
  }
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 2u);
  EXPECT_EQ(take_outer().size(), 2u);
  EXPECT_EQ(in_use(), baseline);
}

// --- Full rings to the control plane ------------------------------------------

// Fills a message ring until it refuses; returns how many it took.
unsigned fill(rte_ring* ring) {
  alignas(8) shm::RingMessage msg{};
  msg.kind = MessageKind::kPuntFrame;
  unsigned n = 0;
  while (shm::ring_put(ring, msg)) ++n;
  return n;
}

TEST_F(PressureTest, PuntRingFull_EachPuntCountedAsRingFullThenResume) {
  standard_setup();
  take_events();
  const unsigned baseline = in_use();
  const unsigned capacity = fill(state().punt());
  ASSERT_EQ(capacity, rte_ring_get_capacity(state().punt()));
  const std::vector<Bytes> wanted = {from_peer(initiation()), from_peer(initiation(), 6),
                                     arp_frame(1, kPeerMac, n().peer4, n().outer4),
                                     icmp_frame(kOuterMac, kPeerMac, n().peer4, n().outer4, 8, 56)};
  const DropCounts before = drop_counts();
  decap(wanted);
  encap(arp_frame(1, kHostMac, n().host4, n().inner4));
  EXPECT_EQ(moved(before), (Moved{{"ring_full", wanted.size() + 1}}));
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::punted), 0u);
  EXPECT_EQ(in_use(), baseline) << "refused punts were not freed";
  EXPECT_EQ(take_punts().size(), capacity) << "only the filler";

  // The control plane caught up: the same frames reach it.
  const DropCounts drained = drop_counts();
  decap(wanted);
  encap(arp_frame(1, kHostMac, n().host4, n().inner4));
  EXPECT_EQ(moved(drained), Moved{});
  EXPECT_EQ(take_punts().size(), wanted.size() + 1);
  EXPECT_EQ(in_use(), baseline);
}

TEST_F(PressureTest, EventRingFull_EventsCountedAsRingFullTrafficUnharmedThenResume) {
  standard_setup();
  add_peer(1, endpoint(n().peer4, 1111));  // no keypair: its packets wait for a handshake
  allow(1, ip("10.8.3.0"), 24);
  take_events();
  const unsigned baseline = in_use();
  const unsigned capacity = fill(state().events());
  const DropCounts before = drop_counts();

  // 1. A packet for peer 1 is staged; its "needs handshake" event is lost.
  encap(lan_frame(ip_packet(n().host4, ip("10.8.3.1"), 8)));
  EXPECT_EQ(peer(1).staged_count, 1u);
  // 2. Peer 0 roams to a new source port: forwarded, its endpoint event lost.
  decap(peer_data(kp0_, 1, ip_packet(n().remote4, n().host4, 8), 4, kPeerPort + 1));
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u) << "roaming packet forwarded";
  // 3. A LAN host without a MAC: dropped as no_neighbour, its miss event lost.
  decap(peer_data(kp0_, 2, ip_packet(n().remote4, ip("10.8.0.77"), 8), 4, kPeerPort + 1));
  EXPECT_EQ(moved(before), (Moved{{"no_neighbour", 1}, {"ring_full", 3}}));
  EXPECT_EQ(take_events().size(), capacity) << "only the filler";
  EXPECT_EQ(in_use(), baseline + 1) << "the staged packet, and nothing else";

  // Drained: the same three raise their events (the handshake request after
  // its 250 ms hold-off, so one staged burst cannot raise it twice).
  now_ += 300ULL * 1000 * 1000;
  const DropCounts drained = drop_counts();
  encap(lan_frame(ip_packet(n().host4, ip("10.8.3.1"), 8)));
  decap(peer_data(kp0_, 3, ip_packet(n().remote4, n().host4, 8), 4, kPeerPort + 2));
  decap(peer_data(kp0_, 4, ip_packet(n().remote4, ip("10.8.0.77"), 8), 4, kPeerPort + 2));
  EXPECT_EQ(moved(drained), (Moved{{"no_neighbour", 1}}));
  std::vector<MessageKind> kinds;
  for (const shm::RingMessage& m : take_events()) kinds.push_back(m.kind);
  EXPECT_EQ(kinds, (std::vector<MessageKind>{MessageKind::kEventNeedHandshake,
                                             MessageKind::kEventEndpointChanged,
                                             MessageKind::kEventNeighbourMiss}));
  EXPECT_EQ(peer(1).staged_count, 2u);
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 1u);
}

// --- Full TX queues --------------------------------------------------------------

// Fills `port`'s TX ring (the net_ring's, read back as its RX) with real
// traffic plus `extra` packets more than it holds: the extra ones are
// tx_full, the ring's worth goes out once the "NIC" drains.
TEST_F(PressureTest, TxRingFullOnBothPorts_CountedAsTxFullThenResume) {
  standard_setup();
  take_events();
  const unsigned baseline = in_use();
  constexpr unsigned kExtra = 10;

  // Outer: encap more LAN packets than the TX ring holds.
  const unsigned outer_capacity = rte_ring_get_capacity(port_ring(PortRole::kOuter));
  std::vector<Bytes> lan_frames;
  for (unsigned i = 0; i < outer_capacity + kExtra; ++i)
    lan_frames.push_back(lan(static_cast<uint8_t>(i)));
  DropCounts before = drop_counts();
  encap(lan_frames);
  pipeline::flush_tx(worker_ctx_);
  EXPECT_EQ(moved(before), (Moved{{"tx_full", kExtra}}));
  EXPECT_EQ(tx_packets(PortRole::kOuter), outer_capacity);
  EXPECT_EQ(in_use(), baseline + outer_capacity) << "only what sits in the TX ring";
  EXPECT_EQ(take_outer().size(), outer_capacity);
  EXPECT_EQ(in_use(), baseline);

  // Inner: decap more data messages than the inner TX ring holds.
  const unsigned inner_capacity = rte_ring_get_capacity(port_ring(PortRole::kInner));
  std::vector<Bytes> data_frames;
  for (unsigned i = 0; i < inner_capacity + kExtra; ++i) data_frames.push_back(data(i));
  before = drop_counts();
  decap(data_frames);
  pipeline::flush_tx(worker_ctx_);
  EXPECT_EQ(moved(before), (Moved{{"tx_full", kExtra}}));
  EXPECT_EQ(tx_packets(PortRole::kInner), inner_capacity);
  EXPECT_EQ(in_use(), baseline + inner_capacity);
  EXPECT_EQ(take_tx(PortRole::kInner).size(), inner_capacity);
  EXPECT_EQ(in_use(), baseline);

  // Drained: both directions flow again, nothing refused.
  before = drop_counts();
  encap({lan(1), lan(2), lan(3)});
  decap({data(inner_capacity + kExtra), data(inner_capacity + kExtra + 1)});
  EXPECT_EQ(take_outer().size(), 3u);
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 2u);
  EXPECT_EQ(moved(before), Moved{});
  EXPECT_EQ(in_use(), baseline);
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
