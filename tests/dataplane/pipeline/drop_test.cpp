// Every drop reason of WS_DROP_REASONS (dataplane/shm/abi.hpp) reached and
// counted: a numbered table of inputs, each run on a fresh gateway with
// peer 0 set up (standard_setup). A row prepares what it needs, then acts;
// across the act exactly its reason's counter (summed over the counter
// rows) must rise by one and no other drop counter may move. The fixture's
// TearDown then checks that the dropped mbufs went back to the pool.
#include <gtest/gtest.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/wire/constants.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

class DropTest;

struct DropRow {
  const char* name;
  DropReason reason;
  void (*prepare)(DropTest&);  // may be null
  void (*act)(DropTest&);
  void (*cleanup)(DropTest&);  // may be null; runs after the counters are compared
};

// gtest prints parameters of failing tests: the row's name, not its bytes.
void PrintTo(const DropRow& row, std::ostream* os) {
  *os << row.name;
}

class DropTest : public PipelineTest, public ::testing::WithParamInterface<DropRow> {
 public:
  void TearDown() override {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
    held_.clear();
    if (tiny_pool_ != nullptr) rte_mempool_free(tiny_pool_);
    tiny_pool_ = nullptr;
    PipelineTest::TearDown();
  }

  const Net& n() const { return net(); }
  Bytes lan(const IpAddr& dst, size_t payload = 8) {
    return lan_frame(ip_packet(n().host4, dst, payload));
  }
  Bytes from_remote(uint64_t counter, const IpAddr& src, const IpAddr& dst) {
    return peer_data(kp0_, counter, ip_packet(src, dst, 8));
  }
  Bytes good(uint64_t counter) { return from_remote(counter, n().remote4, n().host4); }
  // Peer 0's data message under kp0_ with arbitrary plaintext.
  Bytes sealed(uint64_t counter, const Bytes& plaintext) {
    return from_peer(data_message(kp0_.local_index, counter, kp0_.receive_key, plaintext));
  }
  // Fills a message ring until it refuses.
  static void fill(rte_ring* ring) {
    alignas(8) shm::RingMessage msg{};
    msg.kind = MessageKind::kPuntFrame;
    while (shm::ring_put(ring, msg)) {
    }
  }
  void add_peer_without_keypair(uint32_t p, const IpAddr& prefix, std::optional<shm::Endpoint> ep) {
    add_peer(p, ep);
    allow(p, prefix, 24);
  }

  rte_mempool* tiny_pool_ = nullptr;
  std::vector<rte_mbuf*> held_;
};

int g_dummy;  // what the stuffed TX ring holds: never dereferenced

const DropRow kRows[] = {
    // --- malformed / truncated (malformed_frame_test.cpp: every parse
    // failure at both ports) ---
    {"01_TruncatedIpv4Header", DropReason::kTruncated, nullptr,
     [](DropTest& t) {
       t.decap(ethernet(kOuterMac, kPeerMac, net::kEtherTypeIpv4, Bytes(10, 0x45)));
     },
     nullptr},
    {"02_RuntFrame", DropReason::kTruncated, nullptr, [](DropTest& t) { t.decap(Bytes(10, 0xFF)); },
     nullptr},
    {"03_ChainedMbuf", DropReason::kMalformed, nullptr,
     [](DropTest& t) {
       const Bytes f = t.good(0);
       rte_mbuf* head = rte_pktmbuf_alloc(test_pool());
       rte_mbuf* tail = rte_pktmbuf_alloc(test_pool());
       ASSERT_TRUE(head != nullptr && tail != nullptr);
       std::memcpy(rte_pktmbuf_append(head, 40), f.data(), 40);
       std::memcpy(rte_pktmbuf_append(tail, static_cast<uint16_t>(f.size() - 40)), f.data() + 40,
                   f.size() - 40);
       ASSERT_EQ(rte_pktmbuf_chain(head, tail), 0);
       t.decap_mbufs({head});
     },
     nullptr},
    {"04_EncapTruncatedIpv6", DropReason::kTruncated, nullptr,
     [](DropTest& t) {
       t.encap(ethernet(kInnerMac, kHostMac, net::kEtherTypeIpv6, Bytes(20, 0x60)));
     },
     nullptr},

    // --- not_for_us ---
    {"05_UdpToAnotherPort", DropReason::kNotForUs, nullptr,
     [](DropTest& t) {
       t.decap(udp_frame(kOuterMac, kPeerMac, t.n().peer4, t.n().outer4, kPeerPort, 9999,
                         data_message(t.kp0_.local_index, 0, t.kp0_.receive_key, Bytes(16))));
     },
     nullptr},
    {"06_UdpToAnotherAddress", DropReason::kNotForUs, nullptr,
     [](DropTest& t) {
       t.decap(udp_frame(kOuterMac, kPeerMac, t.n().peer4, ip("192.0.2.77"), kPeerPort, kListenPort,
                         data_message(t.kp0_.local_index, 0, t.kp0_.receive_key, Bytes(16))));
     },
     nullptr},
    {"07_ArpForSomeoneElse", DropReason::kNotForUs, nullptr,
     [](DropTest& t) { t.decap(arp_frame(1, kPeerMac, t.n().peer4, ip("192.0.2.99"))); }, nullptr},
    {"08_VlanTagged", DropReason::kVlan, nullptr,
     [](DropTest& t) {
       // A genuine data message behind an 802.1Q tag (VLAN 100).
       const Bytes f = t.good(0);
       Bytes tagged(2 + f.size() - 12);
       tagged[1] = 0x64;
       std::copy(f.begin() + 12, f.end(), tagged.begin() + 2);
       t.decap(ethernet(kOuterMac, kPeerMac, net::kEtherTypeVlan, tagged));
     },
     nullptr},
    {"09_EncapToOurInnerAddress", DropReason::kNotForUs, nullptr,
     [](DropTest& t) { t.encap(t.lan(t.n().inner4)); }, nullptr},
    {"10_EncapMulticast", DropReason::kNotForUs, nullptr,
     [](DropTest& t) { t.encap(t.lan(ip("224.0.0.251"))); }, nullptr},
    {"11_EncapArpForSomeoneElse", DropReason::kNotForUs, nullptr,
     [](DropTest& t) { t.encap(arp_frame(1, kHostMac, t.n().host4, ip("10.8.0.99"))); }, nullptr},

    // --- bad_message ---
    {"12_DataShorterThanAKeepalive", DropReason::kBadMessage, nullptr,
     [](DropTest& t) {
       Bytes msg(wire::kKeepaliveSize - 1, 0);
       msg[0] = static_cast<uint8_t>(wire::MessageType::kData);
       pipeline::store_le32(msg.data() + 4, t.kp0_.local_index);
       t.decap(from_peer(msg));
     },
     nullptr},
    {"13_ReservedBytesSet", DropReason::kBadMessage, nullptr,
     [](DropTest& t) {
       Bytes msg = data_message(t.kp0_.local_index, 0, t.kp0_.receive_key, Bytes(16));
       msg[2] = 1;
       t.decap(from_peer(msg));
     },
     nullptr},
    {"14_InitiationOfTheWrongSize", DropReason::kBadMessage, nullptr,
     [](DropTest& t) {
       Bytes msg = initiation();
       msg.pop_back();
       t.decap(from_peer(msg));
     },
     nullptr},
    {"15_UnknownMessageType", DropReason::kBadMessage, nullptr,
     [](DropTest& t) {
       Bytes msg(64, 0);
       msg[0] = 7;
       t.decap(from_peer(msg));
     },
     nullptr},
    {"16_UnderFourBytes", DropReason::kBadMessage, nullptr,
     [](DropTest& t) {
       t.decap(from_peer(Bytes{4, 0, 0}));
     },
     nullptr},

    // --- unknown_receiver_index ---
    {"17_UnknownIndex", DropReason::kUnknownIndex, nullptr,
     [](DropTest& t) {
       t.decap(from_peer(data_message(0xDEADBEEF, 0, t.kp0_.receive_key, Bytes(16))));
     },
     nullptr},
    {"18_KeypairsCleared", DropReason::kUnknownIndex,
     [](DropTest& t) {
       t.command(MessageKind::kCmdKeypairsClear, 0);
       t.poll();
     },
     [](DropTest& t) { t.decap(t.good(0)); }, nullptr},

    // --- keypair_expired ---
    {"19_DecapAtRejectAfterTime", DropReason::kKeypairExpired,
     [](DropTest& t) { t.now_ = kNow + wire::kRejectAfterTime; },
     [](DropTest& t) { t.decap(t.good(0)); }, nullptr},
    {"20_EncapAtRejectAfterMessages", DropReason::kKeypairExpired,
     [](DropTest& t) {
       // Stand-in for 2^64 - 2^13 - 1 messages sent under kp0_.
       shm::KeypairSlot* kp = t.live_keypair(t.kp0_.local_index);
       ASSERT_NE(kp, nullptr);
       kp->send_counter.store(wire::kRejectAfterMessages);
     },
     [](DropTest& t) { t.encap(t.lan(t.n().remote4)); }, [](DropTest& t) { t.take_events(); }},

    // --- replay ---
    {"21_SameCounterTwice", DropReason::kReplay, [](DropTest& t) { t.decap(t.good(5)); },
     [](DropTest& t) { t.decap(t.good(5)); }, nullptr},
    {"22_OlderThanTheWindow", DropReason::kReplay,
     [](DropTest& t) {
       t.decap(t.good(9000));
       t.decap(t.good(9000 - wire::kCounterWindowSize));  // the oldest still accepted
     },
     [](DropTest& t) { t.decap(t.good(9000 - wire::kCounterWindowSize - 1)); }, nullptr},
    {"23_DuplicateInsideOneBurst", DropReason::kReplay, nullptr,
     [](DropTest& t) {
       t.decap(std::vector<Bytes>{t.good(7), t.good(7)});
     },
     [](DropTest& t) { EXPECT_EQ(t.take_tx(PortRole::kInner).size(), 1u); }},

    // --- bad_mac ---
    {"24_FlippedTag", DropReason::kBadMac, nullptr,
     [](DropTest& t) {
       Bytes f = t.good(0);
       f.back() ^= 0x80;
       t.decap(f);
     },
     nullptr},
    {"25_FlippedCiphertext", DropReason::kBadMac, nullptr,
     [](DropTest& t) {
       Bytes f = t.good(0);
       f[net::outer_header_len(4) + wire::kDataHeaderSize + 3] ^= 0x01;
       t.decap(f);
     },
     nullptr},
    {"26_SealedWithTheWrongKey", DropReason::kBadMac, nullptr,
     [](DropTest& t) {
       t.decap(from_peer(data_message(t.kp0_.local_index, 0, t.kp0_.send_key,
                                      padded(ip_packet(t.n().remote4, t.n().host4, 8)))));
     },
     nullptr},

    // --- bad_inner_packet ---
    {"27_DecryptsToNonIp", DropReason::kBadInner, nullptr,
     [](DropTest& t) { t.decap(t.sealed(0, Bytes(16, 0))); }, nullptr},
    {"28_Ipv4LengthPastTheData", DropReason::kBadInner, nullptr,
     [](DropTest& t) {
       Bytes p = ip_packet(t.n().remote4, t.n().host4, 12);  // 40 bytes
       net::store_be16(p.data() + 2, 200);
       t.decap(t.sealed(0, padded(p)));
     },
     nullptr},

    // --- source_not_allowed ---
    {"29_SourceOutsideAllowedIps", DropReason::kSourceNotAllowed, nullptr,
     [](DropTest& t) { t.decap(t.from_remote(0, ip("10.9.9.9"), t.n().host4)); }, nullptr},
    {"30_SourceOfAnotherPeer", DropReason::kSourceNotAllowed,
     [](DropTest& t) { t.add_peer_without_keypair(1, ip("10.8.2.0"), std::nullopt); },
     [](DropTest& t) { t.decap(t.from_remote(0, ip("10.8.2.7"), t.n().host4)); }, nullptr},

    // --- no_route ---
    {"31_NoPeerForTheDestination", DropReason::kNoRoute, nullptr,
     [](DropTest& t) { t.encap(t.lan(ip("10.99.0.1"))); }, nullptr},

    // --- no_endpoint ---
    {"32_PeerWithoutEndpoint", DropReason::kNoEndpoint,
     [](DropTest& t) {
       t.add_peer_without_keypair(1, ip("10.8.3.0"), std::nullopt);
       t.install(1, make_keypair(5));
     },
     [](DropTest& t) { t.encap(t.lan(ip("10.8.3.1"))); }, nullptr},
    {"33_TransmitUdpWithoutEndpoint", DropReason::kNoEndpoint,
     [](DropTest& t) { t.add_peer_without_keypair(1, ip("10.8.3.0"), std::nullopt); },
     [](DropTest& t) {
       shm::CmdTransmitUdp body{};
       body.payload_len = wire::kInitiationSize;
       t.command(MessageKind::kCmdTransmitUdp, 1, body);
       t.poll();
     },
     nullptr},

    // --- no_keypair ---
    {"34_FlushStaged", DropReason::kNoKeypair,
     [](DropTest& t) {
       t.add_peer_without_keypair(1, ip("10.8.3.0"), endpoint(t.n().peer4, 1111));
       t.encap(t.lan(ip("10.8.3.1")));
       EXPECT_EQ(t.peer(1).staged_count, 1u);
     },
     [](DropTest& t) {
       t.command(MessageKind::kCmdFlushStaged, 1);
       t.poll();
     },
     [](DropTest& t) { EXPECT_EQ(t.peer(1).staged_count, 0u); }},
    {"35_KeepaliveWithoutKeypair", DropReason::kNoKeypair,
     [](DropTest& t) {
       t.add_peer_without_keypair(1, ip("10.8.3.0"), endpoint(t.n().peer4, 1111));
     },
     [](DropTest& t) {
       t.command(MessageKind::kCmdSendKeepalive, 1);
       t.poll();
     },
     nullptr},

    // --- stage_full ---
    {"36_StageFull", DropReason::kStageFull,
     [](DropTest& t) {
       t.add_peer_without_keypair(1, ip("10.8.3.0"), endpoint(t.n().peer4, 1111));
       t.encap(std::vector<Bytes>(shm::kStageMax, t.lan(ip("10.8.3.1"))));
       EXPECT_EQ(t.peer(1).staged_count, shm::kStageMax);
     },
     [](DropTest& t) { t.encap(t.lan(ip("10.8.3.1"))); }, nullptr},

    // --- no_neighbour ---
    {"37_DecapLanHostUnknown", DropReason::kNoNeighbour, nullptr,
     [](DropTest& t) { t.decap(t.from_remote(0, t.n().remote4, ip("10.8.0.77"))); },
     [](DropTest& t) { EXPECT_EQ(t.take_events().size(), 1u); }},
    {"38_EncapNextHopUnknown", DropReason::kNoNeighbour,
     [](DropTest& t) {
       t.add_peer_without_keypair(1, ip("10.8.3.0"), endpoint(ip("192.0.2.50"), 1111));
       t.install(1, make_keypair(5));
     },
     [](DropTest& t) { t.encap(t.lan(ip("10.8.3.1"))); },
     [](DropTest& t) { EXPECT_EQ(t.take_events().size(), 1u); }},
    {"39_TransmitUdpNextHopUnknown", DropReason::kNoNeighbour, nullptr,
     [](DropTest& t) {
       // The first 64 are held until the hop resolves (ApplierTest
       // HeldHandshakeGoesOutWhenTheNeighbourArrives); the 65th is dropped.
       shm::CmdTransmitUdp body{};
       body.destination = endpoint(ip("192.0.2.51"), 1234);
       body.payload_len = wire::kInitiationSize;
       for (int i = 0; i < 65; ++i) {
         t.command(MessageKind::kCmdTransmitUdp, shm::kNoPeer, body);
         t.poll();
       }
     },
     [](DropTest& t) {
       EXPECT_EQ(t.take_events().size(), 65u);  // each asks for the hop
       EXPECT_TRUE(t.take_tx(PortRole::kOuter).empty());
     }},

    // --- too_big ---
    {"40_EncapOverTheMtu", DropReason::kTooBig, nullptr,
     [](DropTest& t) {
       t.encap(lan_frame(ip_packet_of_length(t.n().host4, t.n().remote4, kMtu + 1)));
     },
     nullptr},
    {"41_PuntLargerThanARingMessage", DropReason::kTooBig, nullptr,
     [](DropTest& t) {
       // An echo request for us of 2100 bytes: wanted, but it does not fit
       // the punt ring's 2016-byte body. Built in one mbuf without headroom.
       const Bytes f = icmp_frame(kOuterMac, kPeerMac, t.n().peer4, t.n().outer4, 8, 2100 - 42);
       rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
       ASSERT_NE(m, nullptr);
       m->data_off = 0;
       char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(f.size()));
       ASSERT_NE(data, nullptr);
       std::memcpy(data, f.data(), f.size());
       t.decap_mbufs({m});
     },
     [](DropTest& t) { EXPECT_TRUE(t.take_punts().empty()); }},

    // --- ring_full ---
    {"42_PuntRingFull", DropReason::kRingFull,
     [](DropTest& t) { DropTest::fill(t.state().punt()); },
     [](DropTest& t) { t.decap(from_peer(initiation())); }, nullptr},
    {"43_EventRingFull", DropReason::kRingFull,
     [](DropTest& t) {
       t.add_peer_without_keypair(1, ip("10.8.3.0"), endpoint(t.n().peer4, 1111));
       DropTest::fill(t.state().events());
     },
     [](DropTest& t) { t.encap(t.lan(ip("10.8.3.1"))); },  // staged; its handshake request is lost
     [](DropTest& t) { EXPECT_EQ(t.peer(1).staged_count, 1u); }},

    // --- mbuf_exhausted ---
    {"44_KeepaliveFromAnEmptyPool", DropReason::kMbufExhausted,
     [](DropTest& t) {
       t.tiny_pool_ = rte_pktmbuf_pool_create("dpt_tiny", 4, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
       ASSERT_NE(t.tiny_pool_, nullptr);
       while (rte_mbuf* m = rte_pktmbuf_alloc(t.tiny_pool_)) t.held_.push_back(m);
       EXPECT_EQ(t.held_.size(), 4u);
     },
     [](DropTest& t) {
       t.main_ctx_.now_ns = t.now_;
       EXPECT_FALSE(pipeline::send_keepalive(t.main_ctx_, 0, t.tiny_pool_));
     },
     nullptr},

    // --- tx_full ---
    {"45_OuterTxRingFull", DropReason::kTxFull,
     [](DropTest& t) {
       rte_ring* ring = port_ring(PortRole::kOuter);
       std::vector<void*> stuff(rte_ring_get_capacity(ring), &g_dummy);
       ASSERT_EQ(
           rte_ring_enqueue_bulk(ring, stuff.data(), static_cast<unsigned>(stuff.size()), nullptr),
           stuff.size());
       t.encap(t.lan(t.n().remote4));
     },
     [](DropTest& t) { pipeline::flush_tx(t.worker_ctx_); },
     [](DropTest& t) {
       EXPECT_EQ(t.zone().lcore_counters[1].port[0].tx_packets.get(), 0u);
       rte_ring_reset(port_ring(PortRole::kOuter));  // the stuffing is not mbufs
     }},

    // --- the finer parse failures, one row each ---
    {"46_Ipv4Ihl4", DropReason::kBadIpHeader, nullptr,
     [](DropTest& t) {
       Bytes f = t.good(0);
       f[net::kEthHeaderLen] = 0x44;
       t.decap(f);
     },
     nullptr},
    {"47_Ipv4TotalLengthPastTheFrame", DropReason::kBadIpLength, nullptr,
     [](DropTest& t) {
       Bytes f = t.good(0);
       f.pop_back();
       t.decap(f);
     },
     nullptr},
    {"48_UdpLengthSeven", DropReason::kBadUdpLength, nullptr,
     [](DropTest& t) {
       Bytes f = t.good(0);
       net::store_be16(f.data() + net::kEthHeaderLen + 24, 7);
       t.decap(f);
     },
     nullptr},
    {"49_OuterFragment", DropReason::kFragment, nullptr,
     [](DropTest& t) {
       Bytes f = t.good(0);
       net::store_be16(f.data() + net::kEthHeaderLen + 6, 0x2000);  // MF
       t.decap(f);
     },
     nullptr},
    {"50_UnknownEtherType", DropReason::kUnknownEtherType, nullptr,
     [](DropTest& t) { t.encap(ethernet(kInnerMac, kHostMac, 0x88b5, Bytes(46, 0))); }, nullptr},
};

TEST_P(DropTest, ReachedAndCountedOnce) {
  const DropRow& row = GetParam();
  standard_setup();
  if (row.prepare != nullptr) row.prepare(*this);
  ASSERT_FALSE(HasFatalFailure()) << "preparing row " << row.name;
  const DropCounts before = drop_counts();
  row.act(*this);
  const DropCounts after = drop_counts();
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    const uint64_t want = before[d] + (d == static_cast<unsigned>(row.reason) ? 1 : 0);
    EXPECT_EQ(after[d], want) << shm::drop_reason_name(static_cast<DropReason>(d));
  }
  if (row.cleanup != nullptr) row.cleanup(*this);
}

INSTANTIATE_TEST_SUITE_P(Table, DropTest, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<DropRow>& info) {
                           return std::string(info.param.name);
                         });

TEST(DropTable, CoversEveryReason) {
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    bool covered = false;
    for (const DropRow& row : kRows) covered |= static_cast<unsigned>(row.reason) == d;
    EXPECT_TRUE(covered) << shm::drop_reason_name(static_cast<DropReason>(d))
                         << " has no row in the table";
  }
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
