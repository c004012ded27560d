// Tests for frame parsing, inner packets, checksums and address types
// (dataplane/net/frame.hpp).
//
// Known answers: RFC 1071's checksum example, and frames captured with
// tcpdump -xx on a veth pair between two network namespaces (Linux 6.x,
// iputils ping, bash /dev/udp; MACs 02:00:00:00:00:0{1,2}, 192.0.2.{1,2},
// 2001:db8::{1,2}; the fragments with the veth MTU at 68; the UDP datagrams
// with `ethtool -K tx off`, else veth leaves the partial checksum of
// CHECKSUM_PARTIAL in the frame). Checksums are checked three ways: the
// library, a naive 16-bit-at-a-time sum written here, and DPDK's rte_ip.h
// inlines. Every malformation class is fed in a buffer
// allocated to its exact length, so under the ASan build
// (-Db_sanitize=address,undefined) a read past the end fails the test.
#include "dataplane/net/frame.hpp"

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/dataplane/net/captured_frames.hpp"

namespace wirespeed::dataplane::net {
namespace {

// A heap block of exactly n bytes: ASan reports any read past it.
struct Exact {
  explicit Exact(const uint8_t* p, size_t n) : len(n), data(new uint8_t[n == 0 ? 1 : n]) {
    if (n != 0) std::memcpy(data.get(), p, n);
  }
  explicit Exact(const Bytes& b) : Exact(b.data(), b.size()) {}
  FrameView parse() const { return parse_frame(len == 0 ? nullptr : data.get(), len); }
  size_t len;
  std::unique_ptr<uint8_t[]> data;
};

// --- Checksum ---

TEST(Checksum, KnownAnswers) {
  struct Case {
    int n;
    const char* data;
    uint16_t checksum;
  };
  const Case cases[] = {
      {1, "0001f203f4f5f6f7", 0x220d},  // RFC 1071 §3: sum 0xddf2
      {2, "", 0xffff},
      {3, "ff", 0x00ff},  // odd byte is the high half of a word
      {4, "ffff", 0x0000},
      {5, "0001f203f4f5f6f7ab", 0x770c},  // odd tail after the RFC bytes: 0xddf2 + 0xab00
      {6, "4500002c5896400040010000c0000201c0000202", 0x5e37},  // captured echo request header
  };
  for (const Case& c : cases) {
    const Bytes b = hex(c.data);
    EXPECT_EQ(internet_checksum(b.data(), b.size()), c.checksum) << "case " << c.n;
    EXPECT_EQ(naive_checksum(b.data(), b.size()), c.checksum) << "case " << c.n;
  }
}

// Differential against the naive sum: all lengths 0..300 at every start
// alignment 0..7, random contents; and chained chunks split at even offsets.
TEST(Checksum, MatchesNaiveAtEveryLengthAndAlignment) {
  std::mt19937 rng(1071);
  std::vector<uint8_t> buf(320 + 8);
  for (size_t len = 0; len <= 300; ++len) {
    for (size_t align = 0; align < 8; ++align) {
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
      const uint8_t* p = buf.data() + align;
      ASSERT_EQ(internet_checksum(p, len), naive_checksum(p, len)) << len << "@" << align;
      const size_t split = (len / 2) & ~size_t{1};
      const uint32_t chained = checksum_add(checksum_add(0, p, split), p + split, len - split);
      ASSERT_EQ(checksum_finish(chained), naive_checksum(p, len)) << len << "@" << align;
    }
  }
  // All-ones data makes the accumulators work hardest.
  std::vector<uint8_t> ones(200001, 0xff);  // several 32768-word rounds, odd tail
  EXPECT_EQ(internet_checksum(ones.data(), ones.size()), naive_checksum(ones.data(), ones.size()));
}

TEST(Checksum, PseudoHeaderMatchesDpdk) {
  const Bytes udp6 = hex(kUdp6);
  const Bytes udp4 = hex(kUdp4);
  // The library's verdict on the captured datagrams, and DPDK's recomputation
  // with the checksum field zeroed must give back what Linux sent.
  for (const Bytes* f : {&udp4, &udp6}) {
    const FrameView v = parse_frame(f->data(), f->size());
    ASSERT_TRUE(v.kind == FrameKind::kIpv4Udp || v.kind == FrameKind::kIpv6Udp);
    EXPECT_TRUE(udp_checksum_ok(f->data(), v));
    Bytes copy = *f;
    const uint16_t sent = load_be16(copy.data() + v.l4_offset + 6);
    store_be16(copy.data() + v.l4_offset + 6, 0);
    const uint16_t dpdk =
        v.kind == FrameKind::kIpv4Udp
            ? rte_be_to_cpu_16(rte_ipv4_udptcp_cksum(
                  reinterpret_cast<const rte_ipv4_hdr*>(copy.data() + v.l3_offset),
                  copy.data() + v.l4_offset))
            : rte_be_to_cpu_16(rte_ipv6_udptcp_cksum(
                  reinterpret_cast<const rte_ipv6_hdr*>(copy.data() + v.l3_offset),
                  copy.data() + v.l4_offset));
    EXPECT_EQ(dpdk, sent);
    uint32_t sum = pseudo_header_sum(v.src, v.dst, kIpProtoUdp, v.payload_len + 8u);
    EXPECT_EQ(checksum_finish(checksum_add(sum, copy.data() + v.l4_offset, v.payload_len + 8u)),
              sent);
  }
}

// --- Captured frames classify as what tcpdump said they were ---

TEST(ParseFrame, CapturedFrames) {
  struct Case {
    int n;
    const char* frame;
    FrameKind kind;
    uint8_t proto;
    uint16_t payload_len;
    uint8_t icmp_type;
  };
  const Case cases[] = {
      {1, kArpRequest, FrameKind::kArp, 0, 28, 0},
      {2, kArpReply, FrameKind::kArp, 0, 28, 0},
      {3, kEchoRequest4, FrameKind::kIpv4Icmp, 1, 24, 8},
      {4, kEchoReply4, FrameKind::kIpv4Icmp, 1, 24, 0},
      {5, kNeighborSolicit, FrameKind::kIpv6Icmp, 58, 32, 135},
      {6, kNeighborAdvert, FrameKind::kIpv6Icmp, 58, 32, 136},
      {7, kEchoRequest6, FrameKind::kIpv6Icmp, 58, 24, 128},
      {8, kRouterSolicit, FrameKind::kIpv6Icmp, 58, 16, 133},
      {9, kUdp4, FrameKind::kIpv4Udp, 17, 15, 0},
      {10, kPortUnreachable4, FrameKind::kIpv4Icmp, 1, 51, 3},
      {11, kUdp6, FrameKind::kIpv6Udp, 17, 16, 0},
      {12, kFirstFragment4, FrameKind::kFragment, 1, 48, 0},
      {13, kLastFragment4, FrameKind::kFragment, 1, 20, 0},
  };
  for (const Case& c : cases) {
    const Exact f(hex(c.frame));
    const FrameView v = f.parse();
    EXPECT_EQ(v.kind, c.kind) << "case " << c.n << ": " << frame_kind_name(v.kind);
    EXPECT_EQ(v.payload_len, c.payload_len) << "case " << c.n;
    EXPECT_EQ(v.frame_len, f.len) << "case " << c.n;  // veth frames carry no padding
    EXPECT_LE(size_t{v.payload_offset} + v.payload_len, f.len) << "case " << c.n;
    if (c.kind != FrameKind::kArp) {
      EXPECT_EQ(v.ip_proto, c.proto) << "case " << c.n;
      if (c.kind != FrameKind::kFragment) {
        EXPECT_EQ(v.icmp_type, c.icmp_type) << "case " << c.n;
      }
      if (v.is_ipv4()) {
        EXPECT_TRUE(ipv4_header_checksum_ok(f.data.get(), v)) << "case " << c.n;
        Bytes copy(f.data.get(), f.data.get() + f.len);
        EXPECT_EQ(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(copy.data() + 14)), 0)
            << "case " << c.n;
      }
      if (c.kind == FrameKind::kIpv4Icmp || c.kind == FrameKind::kIpv6Icmp) {
        EXPECT_TRUE(icmp_checksum_ok(f.data.get(), v)) << "case " << c.n;
      }
    }
  }
}

TEST(ParseFrame, CapturedFieldsExact) {
  const Bytes u4 = hex(kUdp4);
  FrameView v = parse_frame(u4.data(), u4.size());
  ASSERT_EQ(v.kind, FrameKind::kIpv4Udp);
  EXPECT_EQ(v.eth_dst, (MacAddress{{2, 0, 0, 0, 0, 2}}));
  EXPECT_EQ(v.eth_src, (MacAddress{{2, 0, 0, 0, 0, 1}}));
  EXPECT_EQ(v.ether_type, kEtherTypeIpv4);
  EXPECT_EQ(v.src, IpAddr::v4(192, 0, 2, 1));
  EXPECT_EQ(v.dst, IpAddr::v4(192, 0, 2, 2));
  EXPECT_EQ(v.src_port, 35547);
  EXPECT_EQ(v.dst_port, 51820);
  EXPECT_EQ(v.ttl, 64);
  EXPECT_EQ(v.l3_offset, 14);
  EXPECT_EQ(v.l4_offset, 34);
  EXPECT_EQ(v.payload_offset, 42);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(u4.data() + v.payload_offset), v.payload_len),
            "hello-wirespeed");

  const Bytes u6 = hex(kUdp6);
  v = parse_frame(u6.data(), u6.size());
  ASSERT_EQ(v.kind, FrameKind::kIpv6Udp);
  EXPECT_EQ(v.src, v6("20010db8000000000000000000000001"));
  EXPECT_EQ(v.dst, v6("20010db8000000000000000000000002"));
  EXPECT_EQ(v.src_port, 48027);
  EXPECT_EQ(v.dst_port, 51820);
  EXPECT_EQ(v.ttl, 64);
  EXPECT_EQ(v.l4_offset, 54);
  EXPECT_EQ(v.payload_offset, 62);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(u6.data() + v.payload_offset), v.payload_len),
            "hello-wirespeed6");

  const Bytes arp = hex(kArpRequest);
  v = parse_frame(arp.data(), arp.size());
  ASSERT_EQ(v.kind, FrameKind::kArp);
  EXPECT_EQ(v.arp_op, kArpOpRequest);
  EXPECT_EQ(v.src, IpAddr::v4(192, 0, 2, 1));
  EXPECT_EQ(v.dst, IpAddr::v4(192, 0, 2, 2));
  EXPECT_TRUE(v.eth_dst.is_broadcast());
}

// A NIC hands up short frames padded to 60 bytes: the padding is not payload.
TEST(ParseFrame, EthernetPaddingIsTrimmed) {
  Bytes f = hex(kUdp4);
  ASSERT_EQ(f.size(), 57u);
  f.resize(60, 0);
  const FrameView v = parse_frame(f.data(), f.size());
  ASSERT_EQ(v.kind, FrameKind::kIpv4Udp);
  EXPECT_EQ(v.frame_len, 57);
  EXPECT_EQ(v.payload_len, 15);
  EXPECT_TRUE(udp_checksum_ok(f.data(), v));
}

// --- Malformations ---

struct Mutation {
  int n;
  const char* what;
  const char* base;
  size_t offset;  // byte to overwrite (SIZE_MAX: none)
  Bytes bytes;    // written at offset
  size_t len;     // truncate/extend to this length (0: keep)
  FrameKind kind;
  FrameDefect defect;  // what the dataplane counts it as (kNone: a kind it handles)
};

constexpr size_t kNone = SIZE_MAX;

TEST(ParseFrame, MalformationTable) {
  const Mutation cases[] = {
      {1, "empty", kUdp4, kNone, {}, 0, FrameKind::kMalformed, FrameDefect::kTruncated},
      {2, "short Ethernet", kUdp4, kNone, {}, 13, FrameKind::kMalformed, FrameDefect::kTruncated},
      {3, "Ethernet only", kUdp4, kNone, {}, 14, FrameKind::kMalformed, FrameDefect::kTruncated},
      {4, "short IPv4 header", kUdp4, kNone, {}, 33, FrameKind::kMalformed, FrameDefect::kTruncated},
      {5, "IPv4 version 5", kUdp4, 14, {0x55}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      {6, "IHL 4", kUdp4, 14, {0x44}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      {7, "IHL 0", kUdp4, 14, {0x40}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      {8, "IHL 15 past buffer", kUdp4, 14, {0x4f}, 0, FrameKind::kMalformed, FrameDefect::kTruncated},
      {9, "total_length > buffer", kUdp4, 16, {0x00, 0x2c}, 0, FrameKind::kMalformed, FrameDefect::kBadIpLength},
      {10, "total_length < IHL*4", kUdp4, 16, {0x00, 0x13}, 0, FrameKind::kMalformed, FrameDefect::kBadIpLength},
      {11, "truncated by 1", kUdp4, kNone, {}, 56, FrameKind::kMalformed, FrameDefect::kBadIpLength},
      {12, "MF set", kUdp4, 20, {0x20, 0x00}, 0, FrameKind::kFragment, FrameDefect::kNone},
      {13, "offset 1", kUdp4, 20, {0x00, 0x01}, 0, FrameKind::kFragment, FrameDefect::kNone},
      {14, "DF only is fine", kUdp4, 20, {0x40, 0x00}, 0, FrameKind::kIpv4Udp, FrameDefect::kNone},
      {15, "UDP length 7", kUdp4, 38, {0x00, 0x07}, 0, FrameKind::kMalformed, FrameDefect::kBadUdpLength},
      {16, "UDP length 0", kUdp4, 38, {0x00, 0x00}, 0, FrameKind::kMalformed, FrameDefect::kBadUdpLength},
      {17, "UDP length > IP payload", kUdp4, 38, {0x00, 0x18}, 0, FrameKind::kMalformed, FrameDefect::kBadUdpLength},
      {18, "UDP length < IP payload", kUdp4, 38, {0x00, 0x10}, 0, FrameKind::kIpv4Udp, FrameDefect::kNone},
      {19, "IP payload < UDP header", kUdp4, 16, {0x00, 0x1b}, 0, FrameKind::kMalformed, FrameDefect::kTruncated},
      {20, "other protocol", kUdp4, 23, {0x06}, 0, FrameKind::kIpv4Other, FrameDefect::kNone},
      {21, "ICMPv4 < 8 bytes", kEchoRequest4, 16, {0x00, 0x1b}, 0, FrameKind::kMalformed, FrameDefect::kTruncated},
      {22, "truncated ARP", kArpRequest, kNone, {}, 41, FrameKind::kMalformed, FrameDefect::kTruncated},
      {23, "ARP htype 6", kArpRequest, 14, {0x00, 0x06}, 0, FrameKind::kUnsupported, FrameDefect::kUnsupportedArp},
      {24, "ARP plen 16", kArpRequest, 19, {0x10}, 0, FrameKind::kUnsupported, FrameDefect::kUnsupportedArp},
      {25, "ARP padded", kArpRequest, kNone, {}, 60, FrameKind::kArp, FrameDefect::kNone},
      {26, "VLAN tag", kUdp4, 12, {0x81, 0x00}, 0, FrameKind::kUnsupported, FrameDefect::kVlan},
      {27, "QinQ tag", kUdp4, 12, {0x88, 0xa8}, 0, FrameKind::kUnsupported, FrameDefect::kVlan},
      {28, "unknown EtherType", kUdp4, 12, {0x88, 0xb5}, 0, FrameKind::kUnsupported, FrameDefect::kUnknownEtherType},
      {29, "short IPv6 header", kUdp6, kNone, {}, 53, FrameKind::kMalformed, FrameDefect::kTruncated},
      {30, "IPv6 version 4", kUdp6, 14, {0x40}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      {31, "IPv6 payload_length too big", kUdp6, 18, {0x00, 0x19}, 0, FrameKind::kMalformed, FrameDefect::kBadIpLength},
      {32, "IPv6 payload_length huge", kUdp6, 18, {0xff, 0xff}, 0, FrameKind::kMalformed, FrameDefect::kBadIpLength},
      {33, "IPv6 UDP length > payload", kUdp6, 58, {0x00, 0x19}, 0, FrameKind::kMalformed, FrameDefect::kBadUdpLength},
      {34, "IPv6 UDP length 0 (jumbo)", kUdp6, 58, {0x00, 0x00}, 0, FrameKind::kMalformed, FrameDefect::kBadUdpLength},
      {35, "IPv6 payload < UDP header", kUdp6, 18, {0x00, 0x07}, 0, FrameKind::kMalformed, FrameDefect::kTruncated},
      {36, "IPv6 fragment header", kUdp6, 20, {44}, 0, FrameKind::kFragment, FrameDefect::kNone},
      {37, "IPv6 hop-by-hop", kUdp6, 20, {0}, 0, FrameKind::kIpv6Other, FrameDefect::kNone},
      {38, "ICMPv6 < 4 bytes", kEchoRequest6, 18, {0x00, 0x03}, 0, FrameKind::kMalformed, FrameDefect::kTruncated},
      {39, "ICMPv6 4 bytes", kEchoRequest6, 18, {0x00, 0x04}, 0, FrameKind::kIpv6Icmp, FrameDefect::kNone},
      {40, "ICMPv4 in IPv6", kEchoRequest6, 20, {1}, 0, FrameKind::kIpv6Other, FrameDefect::kNone},
      {41, "over 64 KiB", kUdp4, kNone, {}, 70000, FrameKind::kUnsupported, FrameDefect::kTooLong},
      {42, "IPv4 EtherType, IPv6 packet", kUdp6, 12, {0x08, 0x00}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      // The ICMP variants would otherwise parse: ICMP needs only 8 bytes.
      {43, "IHL 4, ICMP", kEchoRequest4, 14, {0x44}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      {44, "IHL 0, ICMP", kEchoRequest4, 14, {0x40}, 0, FrameKind::kMalformed, FrameDefect::kBadIpHeader},
      {45, "IHL 6, ICMP", kEchoRequest4, 14, {0x46}, 0, FrameKind::kIpv4Icmp, FrameDefect::kNone},
  };
  for (const Mutation& c : cases) {
    Bytes f = hex(c.base);
    if (c.offset != kNone) {
      ASSERT_LE(c.offset + c.bytes.size(), f.size()) << "case " << c.n;
      std::memcpy(f.data() + c.offset, c.bytes.data(), c.bytes.size());
    }
    if (c.len != 0 || c.offset == kNone) f.resize(c.len, 0);
    const Exact e(f);
    const FrameView v = e.parse();
    EXPECT_EQ(v.kind, c.kind) << "case " << c.n << " (" << c.what << "): got "
                              << frame_kind_name(v.kind);
    const FrameDefect d = frame_defect(e.len == 0 ? nullptr : e.data.get(), e.len);
    EXPECT_EQ(d, c.defect) << "case " << c.n << " (" << c.what << "): got "
                           << frame_defect_name(d);
    if (v.kind != FrameKind::kMalformed && v.kind != FrameKind::kUnsupported) {
      EXPECT_LE(v.frame_len, e.len) << "case " << c.n;
      EXPECT_LE(size_t{v.payload_offset} + v.payload_len, v.frame_len) << "case " << c.n;
    }
  }
}

// Every strict prefix of a captured IP or ARP frame is missing bytes its
// headers promise: all must be kMalformed, and none may be read past.
TEST(ParseFrame, EveryTruncationIsMalformed) {
  for (const char* h : {kArpRequest, kEchoRequest4, kNeighborSolicit, kEchoRequest6, kUdp4,
                        kPortUnreachable4, kUdp6, kFirstFragment4, kLastFragment4}) {
    const Bytes f = hex(h);
    for (size_t len = 0; len < f.size(); ++len) {
      const Exact e(f.data(), len);
      EXPECT_EQ(e.parse().kind, FrameKind::kMalformed) << h << " cut to " << len;
      // A cut inside a fixed header is truncated; one behind it leaves an IP
      // length field promising more than there is.
      const FrameDefect d = frame_defect(len == 0 ? nullptr : e.data.get(), len);
      EXPECT_TRUE(d == FrameDefect::kTruncated || d == FrameDefect::kBadIpLength)
          << h << " cut to " << len << ": " << frame_defect_name(d);
    }
  }
}

// 10k random buffers (fixed seed) biased towards the interesting EtherTypes
// and version nibbles so the deep paths run, plus byte flips of captured
// frames. Any out-of-bounds read fails under ASan; the invariants must hold.
TEST(ParseFrame, RandomBuffersStayInBounds) {
  std::mt19937 rng(0x5eed);
  const std::vector<Bytes> seeds = {hex(kArpRequest), hex(kEchoRequest4), hex(kNeighborSolicit),
                                    hex(kUdp4),       hex(kUdp6),         hex(kFirstFragment4)};
  int kinds[10] = {};
  int defects[9] = {};
  for (int i = 0; i < 10000; ++i) {
    Bytes f;
    if (i % 2 == 0) {
      f.resize(rng() % 160);
      for (auto& b : f) b = static_cast<uint8_t>(rng());
      if (f.size() >= 15) {
        static constexpr uint16_t kTypes[] = {kEtherTypeIpv4, kEtherTypeIpv6, kEtherTypeArp,
                                              0x8100};
        store_be16(f.data() + 12, kTypes[rng() % 4]);
        const uint16_t type = load_be16(f.data() + 12);
        if (type == kEtherTypeIpv4) f[14] = static_cast<uint8_t>(0x40 | (f[14] & 0x0f));
        if (type == kEtherTypeIpv6) f[14] = static_cast<uint8_t>(0x60 | (f[14] & 0x0f));
        if (f.size() >= 24 && rng() % 2) {
          f[type == kEtherTypeIpv6 ? 20 : 23] = static_cast<uint8_t>(rng() % 2 ? 17 : 1);
        }
      }
    } else {
      f = seeds[rng() % seeds.size()];
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < flips; ++k) f[rng() % f.size()] = static_cast<uint8_t>(rng());
      if (rng() % 3 == 0) f.resize(rng() % (f.size() + 1));
    }
    const Exact e(f);
    const FrameView v = e.parse();
    ++kinds[static_cast<int>(v.kind)];
    // The drop branch's second opinion agrees with the parser on every input.
    const bool refused = v.kind == FrameKind::kMalformed || v.kind == FrameKind::kUnsupported;
    const FrameDefect d = frame_defect(e.len == 0 ? nullptr : e.data.get(), e.len);
    ASSERT_EQ(d != FrameDefect::kNone, refused)
        << i << ": " << frame_kind_name(v.kind) << " but " << frame_defect_name(d);
    ++defects[static_cast<int>(d)];
    if (refused) continue;
    ASSERT_LE(v.frame_len, e.len) << i;
    ASSERT_LE(size_t{v.payload_offset} + v.payload_len, v.frame_len) << i;
    ASSERT_LE(v.l4_offset, v.frame_len) << i;
    // The checks read through the view: they must stay inside it too.
    (void)udp_checksum_ok(e.data.get(), v);
    (void)icmp_checksum_ok(e.data.get(), v);
    (void)ipv4_header_checksum_ok(e.data.get(), v);
    (void)parse_inner(e.data.get() + 14, e.len - 14);
  }
  // The generator must actually reach the deep paths.
  EXPECT_GT(kinds[static_cast<int>(FrameKind::kIpv4Udp)], 100);
  EXPECT_GT(kinds[static_cast<int>(FrameKind::kIpv6Udp)], 100);
  EXPECT_GT(kinds[static_cast<int>(FrameKind::kArp)], 100);
  EXPECT_GT(kinds[static_cast<int>(FrameKind::kIpv4Icmp)], 50);
  EXPECT_GT(kinds[static_cast<int>(FrameKind::kMalformed)], 1000);
  for (FrameDefect d : {FrameDefect::kTruncated, FrameDefect::kBadIpHeader,
                        FrameDefect::kBadIpLength, FrameDefect::kBadUdpLength, FrameDefect::kVlan,
                        FrameDefect::kUnsupportedArp}) {
    EXPECT_GT(defects[static_cast<int>(d)], 10) << frame_defect_name(d);
  }
}

// --- Inner packets ---

TEST(ParseInner, Table) {
  // Inner packets are the captured frames without their Ethernet header.
  const Bytes u4 = hex(kUdp4);
  const Bytes u6 = hex(kUdp6);
  const Bytes in4(u4.begin() + 14, u4.end());
  const Bytes in6(u6.begin() + 14, u6.end());
  struct Case {
    int n;
    Bytes packet;
    bool ok;
    uint16_t ip_len;
  };
  auto with = [](Bytes b, size_t off, std::initializer_list<uint8_t> v, size_t len = 0) {
    std::copy(v.begin(), v.end(), b.begin() + static_cast<ptrdiff_t>(off));
    if (len) b.resize(len);
    return b;
  };
  Bytes padded4 = in4;
  padded4.resize(in4.size() + 13, 0);  // WireGuard pads to a multiple of 16
  Bytes padded6 = in6;
  padded6.resize(80, 0);
  const Case cases[] = {
      {1, in4, true, 43},
      {2, padded4, true, 43},
      {3, in6, true, 64},
      {4, padded6, true, 64},
      {5, {}, false, 0},
      {6, with(in4, 0, {0x55}), false, 0},         // version 5
      {7, with(in4, 0, {0x44}), false, 0},         // IHL 4
      {8, with(in4, 2, {0x00, 0x2c}), false, 0},   // total length > len
      {9, with(in4, 0, {}, 19), false, 0},         // shorter than a header
      {10, with(in6, 4, {0x00, 0x19}), false, 0},  // payload length > len
      {11, with(in6, 0, {}, 39), false, 0},
      {12, with(in4, 6, {0x20, 0x00}), true, 43},  // fragments pass through
      {13, with(in4, 0, {0x4f}), false, 0},        // 60-byte header > total length 43
  };
  for (const Case& c : cases) {
    const Exact e(c.packet);
    const InnerView v = parse_inner(e.data.get(), e.len);
    EXPECT_EQ(v.ok, c.ok) << "case " << c.n;
    if (c.ok) {
      EXPECT_EQ(v.ip_len, c.ip_len) << "case " << c.n;
    }
  }
  const InnerView v4 = parse_inner(in4.data(), in4.size());
  EXPECT_EQ(v4.family, 4);
  EXPECT_EQ(v4.proto, kIpProtoUdp);
  EXPECT_EQ(v4.src, IpAddr::v4(192, 0, 2, 1));
  EXPECT_EQ(v4.dst, IpAddr::v4(192, 0, 2, 2));
  const InnerView v6i = parse_inner(in6.data(), in6.size());
  EXPECT_EQ(v6i.family, 6);
  EXPECT_EQ(v6i.src, v6("20010db8000000000000000000000001"));
  EXPECT_EQ(v6i.dst, v6("20010db8000000000000000000000002"));
}

// --- Address types ---

TEST(Addresses, MacPredicates) {
  EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
  EXPECT_TRUE(MacAddress::broadcast().is_multicast());
  EXPECT_FALSE(MacAddress::broadcast().is_unicast());
  const MacAddress mc{{0x33, 0x33, 0xff, 0, 0, 2}};
  EXPECT_TRUE(mc.is_multicast());
  EXPECT_FALSE(mc.is_broadcast());
  const MacAddress uc{{0x02, 0, 0, 0, 0, 1}};
  EXPECT_TRUE(uc.is_unicast());
  EXPECT_FALSE(uc.is_multicast());
  EXPECT_TRUE(MacAddress{}.is_zero());
  EXPECT_FALSE(MacAddress{}.is_unicast());
}

TEST(Addresses, IpPredicatesAndHash) {
  struct Case {
    int n;
    IpAddr a;
    bool unicast;
    bool multicast;
  };
  const Case cases[] = {
      {1, IpAddr::v4(192, 0, 2, 1), true, false},
      {2, IpAddr::v4(0, 0, 0, 0), false, false},
      {3, IpAddr::v4(255, 255, 255, 255), false, false},
      {4, IpAddr::v4(224, 0, 0, 1), false, true},
      {5, IpAddr::v4(127, 0, 0, 1), false, false},
      {6, IpAddr::v4(240, 0, 0, 1), false, false},
      {7, v6("20010db8000000000000000000000001"), true, false},
      {8, v6("fe80000000000000000000fffe000002"), true, false},
      {9, v6("ff020000000000000000000000000001"), false, true},
      {10, v6("00000000000000000000000000000000"), false, false},
      {11, v6("00000000000000000000000000000001"), false, false},
      {12, IpAddr{}, false, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.a.is_unicast(), c.unicast) << "case " << c.n;
    EXPECT_EQ(c.a.is_multicast(), c.multicast) << "case " << c.n;
  }
  EXPECT_EQ(sizeof(IpAddr), 17u);
  const IpAddrHash h;
  EXPECT_EQ(h(IpAddr::v4(10, 0, 0, 1)), h(IpAddr::v4(10, 0, 0, 1)));
  EXPECT_NE(h(IpAddr::v4(10, 0, 0, 1)), h(IpAddr::v4(10, 0, 0, 2)));
  // Same bytes, different family: different addresses.
  IpAddr z4 = IpAddr::v4(0, 0, 0, 0);
  IpAddr z6 = z4;
  z6.family = 6;
  EXPECT_NE(z4, z6);
  EXPECT_NE(h(z4), h(z6));
}

}  // namespace
}  // namespace wirespeed::dataplane::net
