// Tests for frame parsing, outer-header building and checksums
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

namespace wirespeed::dataplane::net {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes hex(std::string_view s) {
  Bytes out;
  int hi = -1;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;  // spaces, colons
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  EXPECT_EQ(hi, -1) << "odd number of hex digits";
  return out;
}

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

// RFC 1071 the slow way: big-endian words, carry folded after every add.
uint16_t naive_checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) {
    sum += (uint32_t{p[i]} << 8) | (i + 1 < n ? p[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

IpAddr v6(std::string_view h) {
  const Bytes b = hex(h);
  EXPECT_EQ(b.size(), 16u);
  return b.size() == 16 ? IpAddr::v6(b.data()) : IpAddr{};
}

// --- Captured frames ---
const char* const kArpRequest =
    "ffffffffffff020000000001080600010800060400010200000000 01c0000201000000000000c0000202";
const char* const kArpReply =
    "020000000001020000000002080600010800060400020200000000 02c0000202020000000001c0000201";
const char* const kEchoRequest4 =
    "02000000000202000000000108004500002c5896400040015e37c0000201c000020208009fab52c90001bcf2"
    "026b00000000372c0f0000000000";
const char* const kEchoReply4 =
    "02000000000102000000000208004500002c526800004001a465c0000202c00002010000a7ab52c90001bcf2"
    "026b00000000372c0f0000000000";
const char* const kNeighborSolicit =
    "3333ff00000202000000000186dd6000000000203aff20010db8000000000000000000000001ff0200000000"
    "000000000001ff00000287001c270000000020010db80000000000000000000000020101020000000001";
const char* const kNeighborAdvert =
    "02000000000102000000000286dd6000000000203aff20010db800000000000000000000000220010db80000"
    "0000000000000000000188008a716000000020010db80000000000000000000000020201020000000002";
const char* const kEchoRequest6 =
    "02000000000202000000000186dd6008c8b600183a4020010db800000000000000000000000120010db80000"
    "00000000000000000002800043d352ca0001bcf2026b00000000bf3b0f0000000000";
const char* const kRouterSolicit =
    "33330000000202000000000286dd6000000000103afffe80000000000000000000fffe000002ff0200000000"
    "0000000000000000000285007b2a000000000101020000000002";
const char* const kUdp4 =
    "02000000000202000000000108004500002b6dd74000401148e7c0000201c00002028adbca6c0017bbcf6865"
    "6c6c6f2d776972657370656564";  // "hello-wirespeed" to port 51820
const char* const kPortUnreachable4 =
    "020000000001020000000002080045c00047004a00004001f5a8c0000202c000020103038129000000004500"
    "002b6dd74000401148e7c0000201c00002028adbca6c0017bbcf68656c6c6f2d776972657370656564";
const char* const kUdp6 =
    "02000000000202000000000186dd6003863d0018114020010db800000000000000000000000120010db80000"
    "00000000000000000002bb9bca6c0018b36668656c6c6f2d77697265737065656436";  // "hello-wirespeed6"
const char* const kFirstFragment4 =
    "020000000002020000000001080045000044649820004001721dc0000201c00002020800be01530b0001cef2"
    "026b000000005be2080000000000424242424242424242424242424242424242424242424242";
const char* const kLastFragment4 =
    "0200000000020200000000010800450000286498000640019233c0000201c00002024242424242424242424242"
    "424242424242424242";

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
};

constexpr size_t kNone = SIZE_MAX;

TEST(ParseFrame, MalformationTable) {
  const Mutation cases[] = {
      {1, "empty", kUdp4, kNone, {}, 0, FrameKind::kMalformed},
      {2, "short Ethernet", kUdp4, kNone, {}, 13, FrameKind::kMalformed},
      {3, "Ethernet only", kUdp4, kNone, {}, 14, FrameKind::kMalformed},
      {4, "short IPv4 header", kUdp4, kNone, {}, 33, FrameKind::kMalformed},
      {5, "IPv4 version 5", kUdp4, 14, {0x55}, 0, FrameKind::kMalformed},
      {6, "IHL 4", kUdp4, 14, {0x44}, 0, FrameKind::kMalformed},
      {7, "IHL 0", kUdp4, 14, {0x40}, 0, FrameKind::kMalformed},
      {8, "IHL 15 past buffer", kUdp4, 14, {0x4f}, 0, FrameKind::kMalformed},
      {9, "total_length > buffer", kUdp4, 16, {0x00, 0x2c}, 0, FrameKind::kMalformed},
      {10, "total_length < IHL*4", kUdp4, 16, {0x00, 0x13}, 0, FrameKind::kMalformed},
      {11, "truncated by 1", kUdp4, kNone, {}, 56, FrameKind::kMalformed},
      {12, "MF set", kUdp4, 20, {0x20, 0x00}, 0, FrameKind::kFragment},
      {13, "offset 1", kUdp4, 20, {0x00, 0x01}, 0, FrameKind::kFragment},
      {14, "DF only is fine", kUdp4, 20, {0x40, 0x00}, 0, FrameKind::kIpv4Udp},
      {15, "UDP length 7", kUdp4, 38, {0x00, 0x07}, 0, FrameKind::kMalformed},
      {16, "UDP length 0", kUdp4, 38, {0x00, 0x00}, 0, FrameKind::kMalformed},
      {17, "UDP length > IP payload", kUdp4, 38, {0x00, 0x18}, 0, FrameKind::kMalformed},
      {18, "UDP length < IP payload", kUdp4, 38, {0x00, 0x10}, 0, FrameKind::kIpv4Udp},
      {19, "IP payload < UDP header", kUdp4, 16, {0x00, 0x1b}, 0, FrameKind::kMalformed},
      {20, "other protocol", kUdp4, 23, {0x06}, 0, FrameKind::kIpv4Other},
      {21, "ICMPv4 < 8 bytes", kEchoRequest4, 16, {0x00, 0x1b}, 0, FrameKind::kMalformed},
      {22, "truncated ARP", kArpRequest, kNone, {}, 41, FrameKind::kMalformed},
      {23, "ARP htype 6", kArpRequest, 14, {0x00, 0x06}, 0, FrameKind::kUnsupported},
      {24, "ARP plen 16", kArpRequest, 19, {0x10}, 0, FrameKind::kUnsupported},
      {25, "ARP padded", kArpRequest, kNone, {}, 60, FrameKind::kArp},
      {26, "VLAN tag", kUdp4, 12, {0x81, 0x00}, 0, FrameKind::kUnsupported},
      {27, "QinQ tag", kUdp4, 12, {0x88, 0xa8}, 0, FrameKind::kUnsupported},
      {28, "unknown EtherType", kUdp4, 12, {0x88, 0xb5}, 0, FrameKind::kUnsupported},
      {29, "short IPv6 header", kUdp6, kNone, {}, 53, FrameKind::kMalformed},
      {30, "IPv6 version 4", kUdp6, 14, {0x40}, 0, FrameKind::kMalformed},
      {31, "IPv6 payload_length too big", kUdp6, 18, {0x00, 0x19}, 0, FrameKind::kMalformed},
      {32, "IPv6 payload_length huge", kUdp6, 18, {0xff, 0xff}, 0, FrameKind::kMalformed},
      {33, "IPv6 UDP length > payload", kUdp6, 58, {0x00, 0x19}, 0, FrameKind::kMalformed},
      {34, "IPv6 UDP length 0 (jumbo)", kUdp6, 58, {0x00, 0x00}, 0, FrameKind::kMalformed},
      {35, "IPv6 payload < UDP header", kUdp6, 18, {0x00, 0x07}, 0, FrameKind::kMalformed},
      {36, "IPv6 fragment header", kUdp6, 20, {44}, 0, FrameKind::kFragment},
      {37, "IPv6 hop-by-hop", kUdp6, 20, {0}, 0, FrameKind::kIpv6Other},
      {38, "ICMPv6 < 4 bytes", kEchoRequest6, 18, {0x00, 0x03}, 0, FrameKind::kMalformed},
      {39, "ICMPv6 4 bytes", kEchoRequest6, 18, {0x00, 0x04}, 0, FrameKind::kIpv6Icmp},
      {40, "ICMPv4 in IPv6", kEchoRequest6, 20, {1}, 0, FrameKind::kIpv6Other},
      {41, "over 64 KiB", kUdp4, kNone, {}, 70000, FrameKind::kUnsupported},
      {42, "IPv4 EtherType, IPv6 packet", kUdp6, 12, {0x08, 0x00}, 0, FrameKind::kMalformed},
      // The ICMP variants would otherwise parse: ICMP needs only 8 bytes.
      {43, "IHL 4, ICMP", kEchoRequest4, 14, {0x44}, 0, FrameKind::kMalformed},
      {44, "IHL 0, ICMP", kEchoRequest4, 14, {0x40}, 0, FrameKind::kMalformed},
      {45, "IHL 6, ICMP", kEchoRequest4, 14, {0x46}, 0, FrameKind::kIpv4Icmp},
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
    if (v.kind == FrameKind::kMalformed || v.kind == FrameKind::kUnsupported) continue;
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
