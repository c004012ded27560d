// Tests for building the outer Ethernet/IP/UDP headers of WireGuard datagrams
// (net::write_outer_headers) and checking received UDP checksums, against a
// Linux capture, a naive sum, and DPDK's rte_ip.h inlines.
#include "dataplane/net/frame.hpp"

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "tests/dataplane/net/captured_frames.hpp"

namespace wirespeed::dataplane::net {
namespace {

// --- Building outer headers ---

struct Built {
  Bytes frame;
  FrameView view;
};

Built build(const IpAddr& src, const IpAddr& dst, const Bytes& payload, uint16_t id, bool cksum,
            uint16_t src_port = 50859) {
  const MacAddress smac{{2, 0, 0, 0, 0, 1}};
  const MacAddress dmac{{2, 0, 0, 0, 0, 2}};
  const size_t hl = outer_header_len(src.family);
  Bytes f(hl + payload.size());
  if (!payload.empty()) std::memcpy(f.data() + hl, payload.data(), payload.size());
  const size_t n =
      write_outer_headers(f.data(), smac, dmac, src, dst, src_port, 51820, f.data() + hl,
                          static_cast<uint16_t>(payload.size()), id, cksum);
  EXPECT_EQ(n, hl);
  return {f, parse_frame(f.data(), f.size())};
}

TEST(WriteOuterHeaders, Lengths) {
  EXPECT_EQ(outer_header_len(4), 42u);
  EXPECT_EQ(outer_header_len(6), 62u);
  EXPECT_EQ(outer_header_len(0), 0u);
  EXPECT_EQ(outer_header_len(5), 0u);
}

// Rebuilding the captured datagrams must give Linux's UDP header (checksum
// included) byte for byte; the IP header differs only where Linux chose
// differently (DF set, a flow label).
TEST(WriteOuterHeaders, MatchesLinuxCapture) {
  const Bytes c4 = hex(kUdp4);
  const Bytes payload4(c4.begin() + 42, c4.end());
  const Built b4 =
      build(IpAddr::v4(192, 0, 2, 1), IpAddr::v4(192, 0, 2, 2), payload4, 0x6dd7, true, 35547);
  ASSERT_EQ(b4.frame.size(), c4.size());
  EXPECT_EQ(Bytes(b4.frame.begin() + 34, b4.frame.end()), Bytes(c4.begin() + 34, c4.end()));
  EXPECT_EQ(Bytes(b4.frame.begin(), b4.frame.begin() + 20), Bytes(c4.begin(), c4.begin() + 20));
  EXPECT_EQ(b4.frame[20], 0x00);  // DF clear (Linux: 0x40)
  EXPECT_EQ(Bytes(b4.frame.begin() + 21, b4.frame.begin() + 24),
            Bytes(c4.begin() + 21, c4.begin() + 24));
  EXPECT_EQ(load_be16(b4.frame.data() + 24), 0x88e7);  // Linux's 0x48e7 without DF's 0x4000
  EXPECT_EQ(Bytes(b4.frame.begin() + 26, b4.frame.begin() + 34),
            Bytes(c4.begin() + 26, c4.begin() + 34));

  const Bytes c6 = hex(kUdp6);
  const Bytes payload6(c6.begin() + 62, c6.end());
  const IpAddr a = v6("20010db8000000000000000000000001");
  const IpAddr b = v6("20010db8000000000000000000000002");
  const Built b6 = build(a, b, payload6, 0, false, 48027);  // v6 computes the checksum regardless
  ASSERT_EQ(b6.frame.size(), c6.size());
  EXPECT_EQ(Bytes(b6.frame.begin(), b6.frame.begin() + 15), Bytes(c6.begin(), c6.begin() + 15));
  EXPECT_EQ(b6.frame[15], 0x00);  // flow label 0 (Linux: 0x3863d)
  EXPECT_EQ(Bytes(b6.frame.begin() + 18, b6.frame.end()), Bytes(c6.begin() + 18, c6.end()));
}

TEST(WriteOuterHeaders, RoundTrip) {
  struct Case {
    int n;
    IpAddr src;
    IpAddr dst;
    size_t payload_len;
    bool cksum;
  };
  const IpAddr a6 = v6("fd000000000000000000000000000001");
  const IpAddr b6 = v6("fd00000000000000000000000000beef");
  const Case cases[] = {
      {1, IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2), 32, true},
      {2, IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2), 148, false},
      {3, IpAddr::v4(203, 0, 113, 9), IpAddr::v4(198, 51, 100, 7), 1421, true},  // odd length
      {4, a6, b6, 32, true},
      {5, a6, b6, 92, false},
      {6, a6, b6, 1401, true},
      {7, IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2), 0, true},
  };
  std::mt19937 rng(7);
  for (const Case& c : cases) {
    Bytes payload(c.payload_len);
    for (auto& x : payload) x = static_cast<uint8_t>(rng());
    const Built b = build(c.src, c.dst, payload, static_cast<uint16_t>(0x1234 + c.n), c.cksum);
    const FrameView& v = b.view;
    const bool v4 = c.src.family == 4;
    ASSERT_EQ(v.kind, v4 ? FrameKind::kIpv4Udp : FrameKind::kIpv6Udp) << "case " << c.n;
    EXPECT_EQ(v.src, c.src);
    EXPECT_EQ(v.dst, c.dst);
    EXPECT_EQ(v.src_port, 50859);
    EXPECT_EQ(v.dst_port, 51820);
    EXPECT_EQ(v.ttl, 64);
    EXPECT_EQ(v.payload_offset, outer_header_len(c.src.family));
    EXPECT_EQ(v.payload_len, c.payload_len);
    EXPECT_EQ(v.frame_len, b.frame.size());
    EXPECT_TRUE(udp_checksum_ok(b.frame.data(), v)) << "case " << c.n;
    const uint16_t udp_ck = load_be16(b.frame.data() + v.l4_offset + 6);
    // Independent checks: DPDK's inlines on a copy with the field zeroed.
    Bytes z = b.frame;
    store_be16(z.data() + v.l4_offset + 6, 0);
    if (v4) {
      EXPECT_TRUE(ipv4_header_checksum_ok(b.frame.data(), v));
      EXPECT_EQ(load_be16(b.frame.data() + 18), 0x1234 + c.n);  // id
      EXPECT_EQ(load_be16(b.frame.data() + 20), 0);             // DF clear, no fragment
      EXPECT_EQ(naive_checksum(b.frame.data() + 14, 20), 0);
      if (c.cksum) {
        EXPECT_EQ(udp_ck, rte_be_to_cpu_16(rte_ipv4_udptcp_cksum(
                              reinterpret_cast<const rte_ipv4_hdr*>(z.data() + 14),
                              z.data() + v.l4_offset)))
            << "case " << c.n;
      } else {
        EXPECT_EQ(udp_ck, 0);
      }
    } else {
      EXPECT_NE(udp_ck, 0);
      EXPECT_EQ(udp_ck,
                rte_be_to_cpu_16(rte_ipv6_udptcp_cksum(
                    reinterpret_cast<const rte_ipv6_hdr*>(z.data() + 14), z.data() + v.l4_offset)))
          << "case " << c.n;
    }
  }
}

// A datagram whose checksum computes to 0 must carry 0xffff (RFC 768), and
// the verifier must accept it.
TEST(WriteOuterHeaders, ZeroChecksumSentAsAllOnes) {
  for (uint8_t family : {4, 6}) {
    const IpAddr src =
        family == 4 ? IpAddr::v4(10, 0, 0, 1) : v6("fd000000000000000000000000000001");
    const IpAddr dst =
        family == 4 ? IpAddr::v4(10, 0, 0, 2) : v6("fd000000000000000000000000000002");
    Bytes payload = {1, 2, 3, 4, 0, 0};
    Built b = build(src, dst, payload, 1, true);
    // The checksum c with the last word 0: putting c there makes the sum 0xffff.
    const uint16_t c = load_be16(b.frame.data() + b.view.l4_offset + 6);
    store_be16(payload.data() + 4, c);
    b = build(src, dst, payload, 1, true);
    EXPECT_EQ(load_be16(b.frame.data() + b.view.l4_offset + 6), 0xffff) << int{family};
    EXPECT_TRUE(udp_checksum_ok(b.frame.data(), b.view)) << int{family};
  }
}

TEST(WriteOuterHeaders, RefusesWhatDoesNotFit) {
  uint8_t out[64] = {};
  const uint8_t payload[1] = {};
  const MacAddress m{};
  EXPECT_EQ(write_outer_headers(out, m, m, IpAddr::v4(10, 0, 0, 1),
                                v6("fd000000000000000000000000000001"), 1, 2, payload, 0, 0, true),
            0u);
  EXPECT_EQ(write_outer_headers(out, m, m, IpAddr{}, IpAddr{}, 1, 2, payload, 0, 0, true), 0u);
  // 20 + 8 + 65508 = 65536 does not fit IPv4's total length; 65507 does.
  std::vector<uint8_t> big(65535);
  EXPECT_EQ(write_outer_headers(out, m, m, IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2), 1, 2,
                                big.data(), 65508, 0, false),
            0u);
  EXPECT_EQ(write_outer_headers(out, m, m, IpAddr::v4(10, 0, 0, 1), IpAddr::v4(10, 0, 0, 2), 1, 2,
                                big.data(), 65507, 0, false),
            42u);
  EXPECT_EQ(load_be16(out + 16), 65535);
  // IPv6's payload length excludes its header: 8 + 65527 fits, 65528 does not.
  const IpAddr a = v6("fd000000000000000000000000000001");
  EXPECT_EQ(write_outer_headers(out, m, m, a, a, 1, 2, big.data(), 65528, 0, false), 0u);
  EXPECT_EQ(write_outer_headers(out, m, m, a, a, 1, 2, big.data(), 65527, 0, false), 62u);
}

TEST(UdpChecksum, ZeroAndCorruption) {
  Bytes u4 = hex(kUdp4);
  Bytes u6 = hex(kUdp6);
  FrameView v4 = parse_frame(u4.data(), u4.size());
  FrameView v6v = parse_frame(u6.data(), u6.size());
  // A flipped payload bit fails.
  u4[50] ^= 0x01;
  u6[70] ^= 0x01;
  EXPECT_FALSE(udp_checksum_ok(u4.data(), v4));
  EXPECT_FALSE(udp_checksum_ok(u6.data(), v6v));
  // 0: "none" for IPv4, invalid for IPv6.
  store_be16(u4.data() + 40, 0);
  store_be16(u6.data() + 60, 0);
  EXPECT_TRUE(udp_checksum_ok(u4.data(), v4));
  EXPECT_FALSE(udp_checksum_ok(u6.data(), v6v));
  // Not UDP at all.
  const Bytes e = hex(kEchoRequest4);
  const FrameView ve = parse_frame(e.data(), e.size());
  EXPECT_FALSE(udp_checksum_ok(e.data(), ve));
  EXPECT_FALSE(ipv4_header_checksum_ok(u6.data(), v6v));
  EXPECT_FALSE(icmp_checksum_ok(u4.data(), v4));
  // A corrupted IPv4 header fails its checksum.
  Bytes h = e;
  h[22] = 63;  // TTL
  EXPECT_FALSE(ipv4_header_checksum_ok(h.data(), parse_frame(h.data(), h.size())));
}

}  // namespace
}  // namespace wirespeed::dataplane::net
