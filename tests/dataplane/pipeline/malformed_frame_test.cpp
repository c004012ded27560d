// Every kind of malformed or unwanted frame, at both ports, counted under
// its drop reason's NAME (the text `--show`, the metrics page and telemetry
// print, dataplane/shm/abi.hpp's WS_DROP_REASONS): a numbered table of
// (port, frame, expected name). The outer port's frames go through
// decap_burst, the inner port's through encap_burst, on a gateway with peer
// 0 set up (standard_setup), so a frame that slipped past its check would
// be decrypted, forwarded or punted, and the row would fail.
//
// Per row: exactly the named counter rises by one, no other drop counter
// moves, the frame was counted received on its port, nothing was sent on
// either port, punted, raised as an event, staged, decrypted or encrypted,
// and the mbuf pool's in-use count is back where it was before the frame's
// mbuf was made.
//
// Decisions these rows pin down (docs/operating.md, drop table):
//   - Outer IPv4/IPv6 fragments are dropped as `fragment`, never reassembled:
//     WireGuard peers size datagrams to the path MTU, and a reassembly
//     buffer is state any sender could fill. Inner fragments are ordinary
//     IP packets to a router and are tunnelled (InnerFragmentIsForwarded).
//   - VLAN-tagged frames (802.1Q, 802.1ad) are `vlan` on both ports: the
//     ports are configured untagged, so a tag means a switch misconfiguration.
//   - A frame in several mbuf segments (a jumbo frame, were RX scatter on)
//     stays `malformed`: the parser reads one contiguous buffer.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "dataplane/wire/constants.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

constexpr size_t kIp = net::kEthHeaderLen;  // offset of the IP header in a frame

class MalformedFrameTest;

struct FrameRow {
  const char* name;
  PortRole port;
  Bytes (*frame)(MalformedFrameTest&);
  const char* drop;        // the drop reason's printed name
  unsigned segments = 1;   // 2: the frame arrives split over two chained mbufs
};

void PrintTo(const FrameRow& row, std::ostream* os) {
  *os << row.name;
}

// Bytes `with` overwritten at `offset`.
Bytes patch(Bytes f, size_t offset, std::initializer_list<uint8_t> with) {
  EXPECT_LE(offset + with.size(), f.size());
  std::copy(with.begin(), with.end(), f.begin() + static_cast<ptrdiff_t>(offset));
  return f;
}
Bytes cut(Bytes f, size_t len) {
  f.resize(len);
  return f;
}
// An 802.1Q (or other) tag inserted after the MAC addresses.
Bytes tagged(const Bytes& f, uint16_t tpid) {
  Bytes out(f.begin(), f.begin() + 12);
  out.insert(out.end(), {static_cast<uint8_t>(tpid >> 8), static_cast<uint8_t>(tpid), 0x00, 0x64});
  out.insert(out.end(), f.begin() + 12, f.end());
  return out;
}
// An IPv6 frame with a Fragment header (RFC 8200 §4.5: first fragment, M set)
// between the fixed header and the rest.
Bytes with_v6_fragment_header(const Bytes& f) {
  Bytes out(f.begin(), f.begin() + kIp + net::kIpv6HeaderLen);
  const uint8_t next = out[kIp + 6];
  out[kIp + 6] = net::kIpProtoIpv6Fragment;
  net::store_be16(out.data() + kIp + 4, static_cast<uint16_t>(net::load_be16(out.data() + kIp + 4) + 8));
  out.insert(out.end(), {next, 0, 0x00, 0x01, 0x12, 0x34, 0x56, 0x78});
  out.insert(out.end(), f.begin() + kIp + net::kIpv6HeaderLen, f.end());
  return out;
}

class MalformedFrameTest : public PipelineTest, public ::testing::WithParamInterface<FrameRow> {
 public:
  const Net& n() const { return net(); }
  // A genuine data message from peer 0 (decap would forward it to the LAN).
  Bytes data4() { return peer_data(kp0_, 1, ip_packet(n().remote4, n().host4, 8)); }
  Bytes data6() { return peer_data(kp0_, 1, ip_packet(n().remote6, n().host6, 8), 6); }
  // A genuine LAN packet (encap would tunnel it to peer 0).
  Bytes lan4(size_t payload = 8) { return lan_frame(ip_packet(n().host4, n().remote4, payload)); }
  Bytes lan6(size_t payload = 8) {
    return lan_frame(ip_packet(n().host6, n().remote6, payload), kHostMac6);
  }

  // The frame in one mbuf (headroom given up when it would not fit), or
  // split over `segments` == 2 chained mbufs.
  rte_mbuf* to_mbuf(const Bytes& f, unsigned segments) {
    rte_mbuf* head = rte_pktmbuf_alloc(test_pool());
    if (head == nullptr) return nullptr;
    const size_t first = segments == 2 ? f.size() / 2 : f.size();
    if (first > rte_pktmbuf_tailroom(head)) head->data_off = 0;
    char* p = rte_pktmbuf_append(head, static_cast<uint16_t>(first));
    EXPECT_NE(p, nullptr) << f.size() << " bytes do not fit an mbuf";
    if (p == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    std::memcpy(p, f.data(), first);
    if (segments == 2) {
      rte_mbuf* tail = rte_pktmbuf_alloc(test_pool());
      char* q = tail != nullptr ? rte_pktmbuf_append(tail, static_cast<uint16_t>(f.size() - first))
                                : nullptr;
      if (q == nullptr || rte_pktmbuf_chain(head, tail) != 0) {
        ADD_FAILURE() << "cannot chain two segments";
        rte_pktmbuf_free(head);
        if (tail != nullptr) rte_pktmbuf_free(tail);
        return nullptr;
      }
      std::memcpy(q, f.data() + first, f.size() - first);
    }
    return head;
  }

  uint64_t rx_packets(PortRole port) const {
    uint64_t total = 0;
    for (const shm::LcoreCounters& c : zone().lcore_counters)
      total += c.port[static_cast<unsigned>(port)].rx_packets.get();
    return total;
  }

  void send(PortRole port, rte_mbuf* m) {
    worker_ctx_.now_ns = now_;
    if (port == PortRole::kOuter) {
      pipeline::decap_burst(worker_ctx_, &m, 1);
    } else {
      pipeline::encap_burst(worker_ctx_, &m, 1);
    }
  }
};

// The index of the drop reason printed as `name`, or kDropReasonCount.
unsigned reason_named(const std::string& name) {
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    if (name == shm::drop_reason_name(static_cast<DropReason>(d))) return d;
  }
  return shm::kDropReasonCount;
}

using T = MalformedFrameTest;
constexpr PortRole kOuter = PortRole::kOuter;
constexpr PortRole kInner = PortRole::kInner;

const FrameRow kRows[] = {
    // ===== Outer port (decap) =====
    // --- truncated headers, layer by layer ---
    {"O01_Runt13Bytes", kOuter, [](T& t) { return cut(t.data4(), 13); }, "truncated"},
    {"O02_EthernetOnly", kOuter, [](T& t) { return cut(t.data4(), 14); }, "truncated"},
    {"O03_Ipv4HeaderCut", kOuter, [](T& t) { return cut(t.data4(), kIp + 19); }, "truncated"},
    {"O04_Ipv4OptionsCut", kOuter,  // IHL 15: 60 header bytes, 50 present
     [](T& t) { return cut(patch(t.data4(), kIp, {0x4f}), kIp + 50); }, "truncated"},
    {"O05_Ipv6HeaderCut", kOuter, [](T& t) { return cut(t.data6(), kIp + 39); }, "truncated"},
    {"O06_UdpHeaderCutV4", kOuter,  // total length 26: 6 bytes of UDP header
     [](T& t) { return cut(patch(t.data4(), kIp + 2, {0x00, 26}), kIp + 26); }, "truncated"},
    {"O07_UdpHeaderCutV6", kOuter,  // payload length 6
     [](T& t) { return cut(patch(t.data6(), kIp + 4, {0x00, 6}), kIp + 46); }, "truncated"},
    {"O08_ArpBodyCut", kOuter,
     [](T& t) { return cut(arp_frame(1, kPeerMac, t.n().peer4, t.n().outer4), kIp + 27); },
     "truncated"},
    {"O09_IcmpEchoCut", kOuter,  // an echo request to us with a 4-byte ICMP message
     [](T& t) {
       const Bytes f = icmp_frame(kOuterMac, kPeerMac, t.n().peer4, t.n().outer4, 8, 8);
       return cut(patch(f, kIp + 2, {0x00, 24}), kIp + 24);
     },
     "truncated"},
    // --- bad IP headers ---
    {"O10_Ipv4Version5", kOuter, [](T& t) { return patch(t.data4(), kIp, {0x55}); },
     "bad_ip_header"},
    {"O11_Ipv4Ihl4", kOuter, [](T& t) { return patch(t.data4(), kIp, {0x44}); }, "bad_ip_header"},
    {"O12_Ipv4Ihl0", kOuter, [](T& t) { return patch(t.data4(), kIp, {0x40}); }, "bad_ip_header"},
    {"O13_Ipv6UnderIpv4EtherType", kOuter,
     [](T& t) { return patch(t.data6(), 12, {0x08, 0x00}); }, "bad_ip_header"},
    {"O14_Ipv6Version4", kOuter, [](T& t) { return patch(t.data6(), kIp, {0x40}); },
     "bad_ip_header"},
    // --- bad IP lengths ---
    {"O15_Ipv4TotalLengthPastFrame", kOuter,
     [](T& t) {
       Bytes f = t.data4();
       return patch(f, kIp + 2, {static_cast<uint8_t>((f.size() - kIp + 1) >> 8),
                                 static_cast<uint8_t>(f.size() - kIp + 1)});
     },
     "bad_ip_length"},
    {"O16_Ipv4TotalLengthBelowHeader", kOuter,
     [](T& t) { return patch(t.data4(), kIp + 2, {0x00, 19}); }, "bad_ip_length"},
    {"O17_Ipv4FrameCutByOneByte", kOuter,
     [](T& t) {
       Bytes f = t.data4();
       return cut(f, f.size() - 1);
     },
     "bad_ip_length"},
    {"O18_Ipv6PayloadLengthPastFrame", kOuter,
     [](T& t) { return patch(t.data6(), kIp + 4, {0xff, 0xff}); }, "bad_ip_length"},
    // --- wrong UDP length ---
    {"O19_UdpLengthPastIpPayloadV4", kOuter,
     [](T& t) {
       Bytes f = t.data4();
       const uint16_t ip_payload = static_cast<uint16_t>(net::load_be16(f.data() + kIp + 2) - 20);
       return patch(f, kIp + 20 + 4, {static_cast<uint8_t>((ip_payload + 1) >> 8),
                                      static_cast<uint8_t>(ip_payload + 1)});
     },
     "bad_udp_length"},
    {"O20_UdpLength7V4", kOuter, [](T& t) { return patch(t.data4(), kIp + 24, {0x00, 7}); },
     "bad_udp_length"},
    {"O21_UdpLengthPastIpPayloadV6", kOuter,
     [](T& t) { return patch(t.data6(), kIp + 40 + 4, {0x7f, 0xff}); }, "bad_udp_length"},
    {"O22_UdpLength0V6", kOuter, [](T& t) { return patch(t.data6(), kIp + 44, {0x00, 0x00}); },
     "bad_udp_length"},
    // --- fragments ---
    {"O23_Ipv4FirstFragment", kOuter, [](T& t) { return patch(t.data4(), kIp + 6, {0x20, 0x00}); },
     "fragment"},
    {"O24_Ipv4LastFragment", kOuter, [](T& t) { return patch(t.data4(), kIp + 6, {0x00, 0xb9}); },
     "fragment"},
    {"O25_Ipv6FragmentHeader", kOuter, [](T& t) { return with_v6_fragment_header(t.data6()); },
     "fragment"},
    // --- oversized ---
    {"O26_JumboInTwoSegments", kOuter,
     [](T& t) { return t.peer_data(t.kp0_, 1, ip_packet(t.n().remote4, t.n().host4, 1300)); },
     "malformed", 2},
    {"O27_EchoForUsTooBigToPunt", kOuter,  // 2100 bytes > the punt ring's 2016-byte body
     [](T& t) { return icmp_frame(kOuterMac, kPeerMac, t.n().peer4, t.n().outer4, 8, 2100 - 42); },
     "too_big"},
    // --- link layer ---
    {"O28_Vlan8021Q", kOuter, [](T& t) { return tagged(t.data4(), net::kEtherTypeVlan); }, "vlan"},
    {"O29_Vlan8021ad", kOuter, [](T& t) { return tagged(t.data6(), net::kEtherTypeQinQ); }, "vlan"},
    {"O30_UnknownEtherType", kOuter, [](T& t) { return patch(t.data4(), 12, {0x88, 0xb5}); },
     "unknown_ethertype"},
    {"O31_Lldp", kOuter,
     [](T&) { return ethernet(MacAddress{{0x01, 0x80, 0xc2, 0, 0, 0x0e}}, kPeerMac, 0x88cc, Bytes(46, 0x02)); },
     "unknown_ethertype"},
    {"O32_ArpForAnotherProtocol", kOuter,  // ptype 0x86dd
     [](T& t) { return patch(arp_frame(1, kPeerMac, t.n().peer4, t.n().outer4), kIp + 2, {0x86, 0xdd}); },
     "not_for_us"},
    // --- WireGuard data that does not open ---
    {"O33_DataUnknownReceiverIndex", kOuter,
     [](T& t) {
       return from_peer(data_message(0xDEADBEEF, 1, t.kp0_.receive_key,
                                     padded(ip_packet(t.n().remote4, t.n().host4, 8))));
     },
     "unknown_receiver_index"},
    {"O34_DataValidIndexBadTagV4", kOuter,
     [](T& t) {
       Bytes f = t.data4();
       f.back() ^= 0x01;
       return f;
     },
     "bad_mac"},
    {"O35_DataValidIndexBadTagV6", kOuter,
     [](T& t) {
       Bytes f = t.data6();
       f[f.size() - wire::kTagLen] ^= 0x80;
       return f;
     },
     "bad_mac"},
    {"O36_DataShorterThanAKeepalive", kOuter,
     [](T& t) {
       Bytes msg = cut(data_message(t.kp0_.local_index, 1, t.kp0_.receive_key, Bytes{}),
                       wire::kKeepaliveSize - 1);
       return from_peer(msg);
     },
     "bad_message"},

    // ===== Inner port (encap) =====
    // --- truncated ---
    {"I01_Runt10Bytes", kInner, [](T& t) { return cut(t.lan4(), 10); }, "truncated"},
    {"I02_Ipv4HeaderCut", kInner, [](T& t) { return cut(t.lan4(), kIp + 19); }, "truncated"},
    {"I03_Ipv6HeaderCut", kInner, [](T& t) { return cut(t.lan6(), kIp + 39); }, "truncated"},
    {"I04_UdpHeaderCutV4", kInner,
     [](T& t) { return cut(patch(t.lan4(), kIp + 2, {0x00, 27}), kIp + 27); }, "truncated"},
    {"I05_UdpHeaderCutV6", kInner,
     [](T& t) { return cut(patch(t.lan6(), kIp + 4, {0x00, 7}), kIp + 47); }, "truncated"},
    // --- bad IP headers ---
    {"I06_Ipv4Ihl3", kInner, [](T& t) { return patch(t.lan4(), kIp, {0x43}); }, "bad_ip_header"},
    {"I07_Ipv4VersionUnderIpv6EtherType", kInner,
     [](T& t) { return patch(t.lan4(40), 12, {0x86, 0xdd}); }, "bad_ip_header"},
    {"I08_Ipv6Version7", kInner, [](T& t) { return patch(t.lan6(), kIp, {0x70}); },
     "bad_ip_header"},
    // --- bad IP lengths ---
    {"I09_Ipv4TotalLengthPastFrame", kInner,
     [](T& t) { return patch(t.lan4(), kIp + 2, {0x05, 0xdc}); }, "bad_ip_length"},
    {"I10_Ipv4TotalLengthBelowHeader", kInner,
     [](T& t) { return patch(t.lan4(), kIp + 2, {0x00, 0x00}); }, "bad_ip_length"},
    {"I11_Ipv6PayloadLengthPastFrame", kInner,
     [](T& t) { return patch(t.lan6(), kIp + 4, {0x01, 0x00}); }, "bad_ip_length"},
    // --- wrong UDP length ---
    {"I12_UdpLengthPastIpPayloadV4", kInner,
     [](T& t) { return patch(t.lan4(), kIp + 24, {0x00, 0xff}); }, "bad_udp_length"},
    {"I13_UdpLength7V6", kInner, [](T& t) { return patch(t.lan6(), kIp + 44, {0x00, 7}); },
     "bad_udp_length"},
    // --- link layer ---
    {"I14_Vlan8021Q", kInner, [](T& t) { return tagged(t.lan4(), net::kEtherTypeVlan); }, "vlan"},
    {"I15_Vlan8021ad", kInner, [](T& t) { return tagged(t.lan6(), net::kEtherTypeQinQ); }, "vlan"},
    {"I16_NonIpEtherType", kInner,  // IPX
     [](T& t) { return patch(t.lan4(), 12, {0x81, 0x37}); }, "unknown_ethertype"},
    {"I17_ArpNotForUs", kInner,
     [](T& t) { return arp_frame(1, kHostMac, t.n().host4, ip("10.8.0.99")); }, "not_for_us"},
    // --- oversized ---
    {"I18_OverTheMtuV4", kInner,
     [](T& t) { return lan_frame(ip_packet_of_length(t.n().host4, t.n().remote4, kMtu + 1)); },
     "too_big"},
    {"I19_OverTheMtuV6", kInner,
     [](T& t) {
       return lan_frame(ip_packet_of_length(t.n().host6, t.n().remote6, kMtu + 1), kHostMac6);
     },
     "too_big"},
    {"I20_JumboInTwoSegments", kInner, [](T& t) { return t.lan4(1400); }, "malformed", 2},
    // --- well-formed, but nowhere to go ---
    {"I21_NoRouteV4", kInner,
     [](T& t) { return lan_frame(ip_packet(t.n().host4, ip("10.99.0.1"), 8)); }, "no_route"},
    {"I22_NoRouteV6", kInner,
     [](T& t) { return lan_frame(ip_packet(t.n().host6, ip("fd00:99::1"), 8), kHostMac6); },
     "no_route"},
    {"I23_ToTheGatewayItself", kInner,
     [](T& t) { return lan_frame(ip_packet(t.n().host4, t.n().inner4, 8)); }, "not_for_us"},
    {"I24_Multicast", kInner,
     [](T& t) { return lan_frame(ip_packet(t.n().host6, ip("ff02::fb"), 8), kHostMac6); },
     "not_for_us"},
    {"I25_LimitedBroadcast", kInner,
     [](T& t) { return lan_frame(ip_packet(t.n().host4, ip("255.255.255.255"), 8)); },
     "not_for_us"},
};

TEST_P(MalformedFrameTest, DroppedUnderItsReasonAndNothingLeaks) {
  const FrameRow& row = GetParam();
  const unsigned want = reason_named(row.drop);
  ASSERT_LT(want, shm::kDropReasonCount) << "no drop reason is named \"" << row.drop << "\"";
  standard_setup();
  const Bytes frame = row.frame(*this);
  ASSERT_FALSE(HasFailure()) << "building row " << row.name;

  take_events();  // what setting up raised
  take_punts();
  const unsigned in_use = rte_mempool_in_use_count(test_pool());
  const DropCounts before = drop_counts();
  const uint64_t rx_before = rx_packets(row.port);
  rte_mbuf* m = to_mbuf(frame, row.segments);
  ASSERT_NE(m, nullptr);
  send(row.port, m);

  const DropCounts after = drop_counts();
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    EXPECT_EQ(after[d] - before[d], d == want ? 1u : 0u)
        << shm::drop_reason_name(static_cast<DropReason>(d));
  }
  EXPECT_EQ(rx_packets(row.port) - rx_before, 1u) << "counted received on its port";
  EXPECT_TRUE(take_tx(PortRole::kOuter).empty()) << "sent on the outer port";
  EXPECT_TRUE(take_tx(PortRole::kInner).empty()) << "sent on the inner port";
  EXPECT_TRUE(take_punts().empty()) << "punted";
  EXPECT_TRUE(take_events().empty()) << "raised an event";
  EXPECT_EQ(peer(0).staged_count, 0u) << "staged";
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::decrypted), 0u);
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::encrypted), 0u);
  EXPECT_EQ(sum_rows(&shm::LcoreCounters::punted), 0u);
  EXPECT_EQ(rte_mempool_in_use_count(test_pool()), in_use) << "the frame's mbufs were not freed";
}

INSTANTIATE_TEST_SUITE_P(Table, MalformedFrameTest, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<FrameRow>& info) {
                           return std::string(info.param.name);
                         });

// The table is the acceptance list of issue 6: each parse-level reason at
// both ports (fragments only at the outer one: see the file comment), and
// the data-message failures at the outer one.
TEST(MalformedFrameTable, CoversEveryParseReasonAtBothPorts) {
  auto rows_for = [](const char* drop, PortRole port) {
    unsigned count = 0;
    for (const FrameRow& row : kRows) count += row.port == port && std::string(row.drop) == drop;
    return count;
  };
  for (const char* drop : {"truncated", "bad_ip_header", "bad_ip_length", "bad_udp_length", "vlan",
                           "unknown_ethertype", "malformed", "too_big", "not_for_us"}) {
    EXPECT_GT(rows_for(drop, kOuter), 0u) << drop << " at the outer port";
    EXPECT_GT(rows_for(drop, kInner), 0u) << drop << " at the inner port";
  }
  for (const char* drop : {"fragment", "unknown_receiver_index", "bad_mac", "bad_message"}) {
    EXPECT_GT(rows_for(drop, kOuter), 0u) << drop << " at the outer port";
  }
  EXPECT_GT(rows_for("no_route", kInner), 0u);
  for (const FrameRow& row : kRows) {
    EXPECT_LT(reason_named(row.drop), shm::kDropReasonCount) << row.name << ": " << row.drop;
  }
}

// The other half of the fragment decision: at the inner port a fragment is
// just an IP packet to forward, and it goes through the tunnel whole.
TEST_F(MalformedFrameTest, InnerFragmentIsForwarded) {
  standard_setup();
  Bytes f = lan_frame(ip_packet(net().host4, net().remote4, 64));
  f = patch(f, kIp + 6, {0x20, 0x00});  // MF: the first of several
  encap(f);
  const std::vector<SentDatagram> out = take_outer();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(total_drops(), 0u);
  Bytes sealed = out[0].message();
  ASSERT_GT(sealed.size(), wire::kDataHeaderSize);
  const auto opened = reference_open(kp0_.send_key, 0,
                                     Bytes(sealed.begin() + wire::kDataHeaderSize, sealed.end()));
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(std::equal(f.begin() + kIp, f.end(), opened->begin())) << "the fragment, unchanged";
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
