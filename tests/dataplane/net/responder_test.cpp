// Tests for the ARP / Neighbor Discovery / echo responder
// (dataplane/net/responder.hpp).
//
// The requests are frames Linux sent over a veth pair between two network
// namespaces (tcpdump -xx; MACs 02:00:00:00:00:0{1,2}, 192.0.2.{1,2},
// 2001:db8::{1,2}), and the expected replies are what Linux answered: our
// replies must match them byte for byte wherever Linux had no free choice.
// Mutated requests get their checksums recomputed with a naive sum written
// here (or deliberately not, for the bad-checksum cases); ICMPv6 checksums of
// our replies are cross-checked with DPDK's rte_ipv6_udptcp_cksum.
#include "dataplane/net/responder.hpp"

#include <gtest/gtest.h>
#include <rte_ip.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "tests/dataplane/net/captured_frames.hpp"

namespace wirespeed::dataplane::net {
namespace {

Bytes slice(const Bytes& b, size_t from, size_t to) {
  return Bytes(b.begin() + static_cast<ptrdiff_t>(from), b.begin() + static_cast<ptrdiff_t>(to));
}

// Recompute the IPv4 header and ICMP / ICMPv6 checksums of a hand-edited
// frame (untagged Ethernet, IPv4 with any IHL or plain IPv6 + ICMPv6).
void fix_checksums(Bytes& f) {
  const uint16_t type = static_cast<uint16_t>(f[12] << 8 | f[13]);
  if (type == kEtherTypeIpv4) {
    const size_t ihl = size_t{f[14] & 0x0fu} * 4;
    const size_t total = size_t{f[16]} << 8 | f[17];
    f[24] = f[25] = 0;
    const uint16_t h = naive_checksum(f.data() + 14, ihl);
    f[24] = static_cast<uint8_t>(h >> 8);
    f[25] = static_cast<uint8_t>(h);
    uint8_t* icmp = f.data() + 14 + ihl;
    icmp[2] = icmp[3] = 0;
    const uint16_t c = naive_checksum(icmp, total - ihl);
    icmp[2] = static_cast<uint8_t>(c >> 8);
    icmp[3] = static_cast<uint8_t>(c);
  } else {
    const size_t plen = size_t{f[18]} << 8 | f[19];
    uint8_t* icmp = f.data() + 54;
    icmp[2] = icmp[3] = 0;
    uint32_t sum = 0;
    for (size_t i = 22; i < 54; i += 2) sum += uint32_t{f[i]} << 8 | f[i + 1];  // addresses
    sum += static_cast<uint32_t>(plen) + f[20];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
    const uint16_t c = naive_checksum(icmp, plen, sum);
    icmp[2] = static_cast<uint8_t>(c >> 8);
    icmp[3] = static_cast<uint8_t>(c);
  }
}

// DPDK's opinion of an ICMPv6 checksum in a frame we built.
bool dpdk_icmpv6_ok(const Bytes& f) {
  Bytes z = f;
  const uint16_t sent = load_be16(z.data() + 56);
  store_be16(z.data() + 56, 0);
  const uint16_t dpdk = rte_be_to_cpu_16(
      rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(z.data() + 14), z.data() + 54));
  return sent == dpdk;
}

const MacAddress kMac1{{2, 0, 0, 0, 0, 1}};
const MacAddress kMac2{{2, 0, 0, 0, 0, 2}};
const IpAddr kIp1 = IpAddr::v4(192, 0, 2, 1);
const IpAddr kIp2 = IpAddr::v4(192, 0, 2, 2);
const IpAddr kIp6a = v6("20010db8000000000000000000000001");
const IpAddr kIp6b = v6("20010db8000000000000000000000002");

// Host 2 as the gateway: its MAC, its two addresses; Linux without
// forwarding does not set the router flag, so neither do we here.
struct Host2 {
  std::array<IpAddr, 2> addrs{kIp2, kIp6b};
  LocalAddresses local{kMac2, addrs, false};
};
struct Host1 {
  std::array<IpAddr, 2> addrs{kIp1, kIp6a};
  LocalAddresses local{kMac1, addrs, false};
};

size_t reply_to(const Bytes& frame, const LocalAddresses& local, Bytes& out) {
  out.assign(256, 0xee);
  const FrameView v = parse_frame(frame.data(), frame.size());
  const size_t n = answer(frame, v, local, out);
  out.resize(n);
  return n;
}

// --- Addresses ---

TEST(Addresses, LinkLocalFromMac) {
  struct Case {
    int n;
    MacAddress mac;
    const char* ll;
  };
  const Case cases[] = {
      {1, kMac2, "fe80000000000000000000fffe000002"},  // the captured RS's source
      {2, {{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}}, "fe800000000000005054 00ff fe12 3456"},
      {3, {{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}}, "fe80000000000000021b21fffeaabbcc"},
  };
  for (const Case& c : cases) EXPECT_EQ(link_local_from_mac(c.mac), v6(c.ll)) << "case " << c.n;
  const Bytes rs = hex(kRouterSolicit);
  EXPECT_EQ(link_local_from_mac(kMac2), IpAddr::v6(rs.data() + 22));
}

TEST(Addresses, SolicitedNodeGroup) {
  const IpAddr g = solicited_node_multicast(kIp6b);
  EXPECT_EQ(g, v6("ff0200000000000000000001ff000002"));
  EXPECT_EQ(ipv6_multicast_mac(g), (MacAddress{{0x33, 0x33, 0xff, 0x00, 0x00, 0x02}}));
  EXPECT_EQ(solicited_node_multicast(v6("fe80000000000000021b21fffeaabbcc")),
            v6("ff0200000000000000000001ffaabbcc"));
}

TEST(Addresses, IsLocal) {
  Host2 h;
  EXPECT_TRUE(is_local_address(h.local, kIp2));
  EXPECT_TRUE(is_local_address(h.local, kIp6b));
  EXPECT_TRUE(is_local_address(h.local, link_local_from_mac(kMac2)));
  EXPECT_FALSE(is_local_address(h.local, link_local_from_mac(kMac1)));
  EXPECT_FALSE(is_local_address(h.local, kIp1));
  EXPECT_FALSE(is_local_address(h.local, IpAddr{}));
}

// --- ARP ---

TEST(Arp, AnswersLikeLinux) {
  Host2 h;
  Bytes out;
  ASSERT_EQ(reply_to(hex(kArpRequest), h.local, out), 60u);
  EXPECT_EQ(slice(out, 0, 42), hex(kArpReply));
  EXPECT_EQ(slice(out, 42, 60), Bytes(18, 0));  // zero padding to the minimum
}

TEST(Arp, NoAnswer) {
  Host2 h;
  Host1 h1;
  Bytes out;
  const Bytes req = hex(kArpRequest);
  struct Case {
    int n;
    const char* what;
    Bytes frame;
    const LocalAddresses* local;
  };
  auto edit = [&](size_t off, std::initializer_list<uint8_t> v) {
    Bytes f = req;
    std::copy(v.begin(), v.end(), f.begin() + static_cast<ptrdiff_t>(off));
    return f;
  };
  const Case cases[] = {
      {1, "not our address", req, &h1.local},
      {2, "a reply", hex(kArpReply), &h.local},
      {3, "gratuitous (sender = target)", edit(28, {0xc0, 0x00, 0x02, 0x02}), &h.local},
      {4, "unicast to someone else", edit(0, {2, 0, 0, 0, 0, 9}), &h.local},
      {5, "multicast sender MAC", edit(22, {0x01}), &h.local},
      {6, "zero sender MAC", edit(22, {0, 0, 0, 0, 0, 0}), &h.local},
      {7, "operation 3 (RARP)", edit(20, {0x00, 0x03}), &h.local},
      {8, "IPv4 not ARP", hex(kUdp4), &h.local},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(reply_to(c.frame, *c.local, out), 0u) << "case " << c.n << ": " << c.what;
  }
  // Unicast to us (Linux re-validates entries this way) is answered.
  EXPECT_EQ(reply_to(edit(0, {2, 0, 0, 0, 0, 2}), h.local, out), 60u);
  // An RFC 5227 probe (sender 0.0.0.0) is answered: that defends the address.
  ASSERT_EQ(reply_to(edit(28, {0, 0, 0, 0}), h.local, out), 60u);
  EXPECT_EQ(slice(out, 38, 42), Bytes(4, 0));
}

TEST(Arp, OutTooSmallOrForeignView) {
  Host2 h;
  const Bytes req = hex(kArpRequest);
  const FrameView v = parse_frame(req.data(), req.size());
  Bytes out(59);
  EXPECT_EQ(answer_arp(req, v, h.local, out), 0u);
  out.resize(60);
  EXPECT_EQ(answer_arp(req, v, h.local, out), 60u);
  // A view longer than the buffer handed with it is refused, not read.
  EXPECT_EQ(answer_arp(std::span<const uint8_t>(req.data(), 41), v, h.local, out), 0u);
  EXPECT_EQ(answer_arp(req, FrameView{}, h.local, out), 0u);
}

TEST(Arp, Learning) {
  Host2 h2;
  Host1 h1;
  const Bytes req = hex(kArpRequest);
  const Bytes rep = hex(kArpReply);
  const FrameView vq = parse_frame(req.data(), req.size());
  const FrameView vr = parse_frame(rep.data(), rep.size());
  // Host 2 learns host 1 from the request addressed to it.
  auto n = learn_neighbor(req, vq, h2.local);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, (Neighbor{kIp1, kMac1}));
  // Host 1 learns host 2 from the reply.
  n = learn_neighbor(rep, vr, h1.local);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, (Neighbor{kIp2, kMac2}));
  // Nobody else learns from either.
  const std::array<IpAddr, 1> other{IpAddr::v4(192, 0, 2, 3)};
  const LocalAddresses third{{{2, 0, 0, 0, 0, 3}}, other, false};
  EXPECT_FALSE(learn_neighbor(req, vq, third).has_value());
  EXPECT_FALSE(learn_neighbor(rep, vr, third).has_value());
  // A sender claiming our own address, or 0.0.0.0, teaches nothing.
  Bytes claim = req;
  claim[31] = 0x02;  // sender 192.0.2.2 = host 2's
  EXPECT_FALSE(learn_from_arp(claim, parse_frame(claim.data(), claim.size()), h2.local));
  Bytes probe = req;
  std::memset(probe.data() + 28, 0, 4);
  EXPECT_FALSE(learn_from_arp(probe, parse_frame(probe.data(), probe.size()), h2.local));
  Bytes group = req;
  group[22] = 0x01;
  EXPECT_FALSE(learn_from_arp(group, parse_frame(group.data(), group.size()), h2.local));
}

TEST(Arp, BuildRequestLikeLinux) {
  Bytes out(60, 0xee);
  ASSERT_EQ(build_arp_request(out, kMac1, kIp1, kIp2), 60u);
  EXPECT_EQ(slice(out, 0, 42), hex(kArpRequest));
  EXPECT_EQ(slice(out, 42, 60), Bytes(18, 0));
  // Unicast refresh: only the Ethernet destination changes.
  ASSERT_EQ(build_arp_request(out, kMac1, kIp1, kIp2, &kMac2), 60u);
  EXPECT_EQ(slice(out, 0, 6), Bytes(kMac2.bytes.begin(), kMac2.bytes.end()));
  EXPECT_EQ(slice(out, 6, 42), slice(hex(kArpRequest), 6, 42));
  Bytes small(59);
  EXPECT_EQ(build_arp_request(small, kMac1, kIp1, kIp2), 0u);
  EXPECT_EQ(build_arp_request(out, kMac1, kIp6a, kIp2), 0u);
}

// --- Neighbor Discovery ---

TEST(Nd, AnswersSolicitationLikeLinux) {
  Host2 h;
  Bytes out;
  ASSERT_EQ(reply_to(hex(kNeighborSolicit), h.local, out), 86u);
  EXPECT_EQ(out, hex(kNeighborAdvert));
  EXPECT_TRUE(dpdk_icmpv6_ok(out));
  // As a router: only the R flag and the checksum change.
  h.local.is_router = true;
  ASSERT_EQ(reply_to(hex(kNeighborSolicit), h.local, out), 86u);
  EXPECT_EQ(out[58], 0xe0);
  const FrameView v = parse_frame(out.data(), out.size());
  ASSERT_EQ(v.kind, FrameKind::kIpv6Icmp);
  EXPECT_EQ(v.ttl, 255);
  EXPECT_TRUE(icmp_checksum_ok(out.data(), v));
  EXPECT_TRUE(dpdk_icmpv6_ok(out));
}

// Mutations of the captured NS; `fix` recomputes the ICMPv6 checksum after
// the edit (the hop limit is outside the pseudo header, so that case needs none).
TEST(Nd, SolicitationValidation) {
  Host2 h;
  Bytes out;
  const Bytes ns = hex(kNeighborSolicit);
  struct Case {
    int n;
    const char* what;
    size_t offset;
    Bytes bytes;
    size_t new_plen;  // 0: keep
    bool fix;
    bool answered;
  };
  const Case cases[] = {
      {1, "as captured", 0, {}, 0, false, true},
      {2, "hop limit 254", 21, {254}, 0, false, false},
      {3, "hop limit 64", 21, {64}, 0, true, false},
      {4, "code 1", 55, {1}, 0, true, false},
      {5, "bad checksum", 57, {0x28}, 0, false, false},
      {6, "target not ours", 77, {0x09}, 0, true, false},
      {7, "target multicast", 62, {0xff, 0x02}, 0, true, false},
      {8, "option length 0", 79, {0}, 0, true, false},
      {9, "ICMP length 20", 0, {}, 20, true, false},
      {10, "no options (24 bytes)", 0, {}, 24, true, true},
      {11, "option overruns", 79, {2}, 0, true, false},
      {12, "dst neither ours nor the group", 53, {0x03}, 0, true, false},
      {13, "unicast Ethernet to someone else", 0, {2, 0, 0, 0, 0, 9}, 0, false, false},
      {14, "multicast source", 22, {0xff, 0x02}, 0, true, false},
      {15, "an echo request is not an NS", 54, {128}, 0, true, false},
  };
  for (const Case& c : cases) {
    Bytes f = ns;
    std::copy(c.bytes.begin(), c.bytes.end(), f.begin() + static_cast<ptrdiff_t>(c.offset));
    if (c.new_plen != 0) {
      f.resize(54 + c.new_plen);
      store_be16(f.data() + 18, static_cast<uint16_t>(c.new_plen));
    }
    if (c.fix) fix_checksums(f);
    const FrameView v = parse_frame(f.data(), f.size());
    Bytes o(128);
    const size_t n = answer_neighbor_solicitation(f, v, h.local, o);
    EXPECT_EQ(n != 0, c.answered) << "case " << c.n << ": " << c.what;
  }
}

// Duplicate Address Detection: source ::, sent to the solicited-node group.
TEST(Nd, AnswersDadToAllNodes) {
  Host2 h;
  Bytes f = hex(kNeighborSolicit);
  std::memset(f.data() + 22, 0, 16);
  f.resize(54 + 24);  // a DAD probe carries no source link-layer option
  store_be16(f.data() + 18, 24);
  fix_checksums(f);
  Bytes out;
  ASSERT_EQ(reply_to(f, h.local, out), 86u);
  EXPECT_EQ(slice(out, 0, 6), hex("333300000001"));
  const FrameView v = parse_frame(out.data(), out.size());
  EXPECT_EQ(v.src, kIp6b);
  EXPECT_EQ(v.dst, v6("ff020000000000000000000000000001"));
  EXPECT_EQ(out[58], 0x20);  // O only: not solicited
  EXPECT_TRUE(icmp_checksum_ok(out.data(), v));
  // With the option it is invalid (RFC 4861 §7.1.1).
  Bytes g = hex(kNeighborSolicit);
  std::memset(g.data() + 22, 0, 16);
  fix_checksums(g);
  EXPECT_EQ(reply_to(g, h.local, out), 0u);
  // And it must go to the group, not unicast.
  Bytes u = f;
  std::copy(kIp6b.bytes.begin(), kIp6b.bytes.end(), u.begin() + 38);
  fix_checksums(u);
  EXPECT_EQ(reply_to(u, h.local, out), 0u);
}

// Host 1 asks for host 2's link-local, from its own link-local, without a
// source link-layer option: the answer goes to the frame's Ethernet source.
TEST(Nd, AnswersForDerivedLinkLocal) {
  Host2 h;
  const IpAddr ll1 = link_local_from_mac(kMac1);
  const IpAddr ll2 = link_local_from_mac(kMac2);
  Bytes f = hex(kNeighborSolicit);
  std::copy(ll1.bytes.begin(), ll1.bytes.end(), f.begin() + 22);
  std::copy(ll2.bytes.begin(), ll2.bytes.end(), f.begin() + 38);  // unicast NS (NUD)
  std::copy(ll2.bytes.begin(), ll2.bytes.end(), f.begin() + 62);
  std::copy(kMac2.bytes.begin(), kMac2.bytes.end(), f.begin());
  f.resize(78);
  store_be16(f.data() + 18, 24);
  fix_checksums(f);
  Bytes out;
  ASSERT_EQ(reply_to(f, h.local, out), 86u);
  const FrameView v = parse_frame(out.data(), out.size());
  EXPECT_EQ(v.eth_dst, kMac1);
  EXPECT_EQ(v.eth_src, kMac2);
  EXPECT_EQ(v.src, ll2);
  EXPECT_EQ(v.dst, ll1);
  EXPECT_EQ(out[58], 0x60);  // S and O
  EXPECT_EQ(slice(out, 62, 78), Bytes(ll2.bytes.begin(), ll2.bytes.end()));
  EXPECT_EQ(slice(out, 78, 86), hex("0201020000000002"));
  EXPECT_TRUE(dpdk_icmpv6_ok(out));
}

TEST(Nd, BuildSolicitationLikeLinux) {
  Bytes out(86, 0xee);
  ASSERT_EQ(build_neighbor_solicitation(out, kMac1, kIp6a, kIp6b), 86u);
  EXPECT_EQ(out, hex(kNeighborSolicit));
  // Unicast probe: Ethernet and IPv6 destinations are the target's.
  ASSERT_EQ(build_neighbor_solicitation(out, kMac1, kIp6a, kIp6b, &kMac2), 86u);
  const FrameView v = parse_frame(out.data(), out.size());
  EXPECT_EQ(v.eth_dst, kMac2);
  EXPECT_EQ(v.dst, kIp6b);
  EXPECT_EQ(v.ttl, 255);
  EXPECT_TRUE(icmp_checksum_ok(out.data(), v));
  EXPECT_TRUE(dpdk_icmpv6_ok(out));
  // Host 2 answers it.
  Host2 h;
  Bytes reply;
  EXPECT_EQ(reply_to(out, h.local, reply), 86u);
  Bytes small(85);
  EXPECT_EQ(build_neighbor_solicitation(small, kMac1, kIp6a, kIp6b), 0u);
  EXPECT_EQ(build_neighbor_solicitation(out, kMac1, kIp1, kIp6b), 0u);
}

TEST(Nd, Learning) {
  Host2 h2;
  Host1 h1;
  const Bytes ns = hex(kNeighborSolicit);
  const Bytes na = hex(kNeighborAdvert);
  // From the NS's source link-layer option.
  auto n = learn_neighbor(ns, parse_frame(ns.data(), ns.size()), h2.local);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, (Neighbor{kIp6a, kMac1}));
  // From the NA's target link-layer option.
  n = learn_neighbor(na, parse_frame(na.data(), na.size()), h1.local);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, (Neighbor{kIp6b, kMac2}));
  // An NS for someone else teaches nothing.
  EXPECT_FALSE(learn_neighbor(ns, parse_frame(ns.data(), ns.size()), h1.local).has_value());
  // Hop limit below 255: off-link, ignored.
  Bytes bad = na;
  bad[21] = 254;
  EXPECT_FALSE(learn_neighbor(bad, parse_frame(bad.data(), bad.size()), h1.local).has_value());
  // Bad checksum.
  bad = na;
  bad[57] ^= 1;
  EXPECT_FALSE(learn_neighbor(bad, parse_frame(bad.data(), bad.size()), h1.local).has_value());
  // An NA claiming one of our addresses is a duplicate, not a neighbour.
  EXPECT_FALSE(learn_neighbor(na, parse_frame(na.data(), na.size()), h2.local).has_value());
  // Solicited flag on an NA sent to a multicast group is invalid (§7.1.2).
  bad = na;
  const IpAddr all = v6("ff020000000000000000000000000001");
  std::copy(all.bytes.begin(), all.bytes.end(), bad.begin() + 38);
  fix_checksums(bad);
  EXPECT_FALSE(learn_neighbor(bad, parse_frame(bad.data(), bad.size()), h1.local).has_value());
  bad[58] = 0x20;  // O only: a valid unsolicited announcement
  fix_checksums(bad);
  n = learn_neighbor(bad, parse_frame(bad.data(), bad.size()), h1.local);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, (Neighbor{kIp6b, kMac2}));
  // A unicast NA without the option: the Ethernet source is the answer.
  Bytes bare = na;
  bare.resize(78);
  store_be16(bare.data() + 18, 24);
  fix_checksums(bare);
  n = learn_neighbor(bare, parse_frame(bare.data(), bare.size()), h1.local);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, (Neighbor{kIp6b, kMac2}));
  // Router solicitations and echo requests teach nothing here.
  const Bytes rs = hex(kRouterSolicit);
  EXPECT_FALSE(learn_neighbor(rs, parse_frame(rs.data(), rs.size()), h1.local).has_value());
}

// --- Echo ---

// Linux's reply differs from ours only in the IPv4 id it picked (we echo the
// request's) and so in the header checksum.
TEST(Echo, AnswersIpv4LikeLinux) {
  Host2 h;
  Bytes out;
  const Bytes linux_reply = hex(kEchoReply4);
  ASSERT_EQ(linux_reply.size(), 58u);
  ASSERT_EQ(reply_to(hex(kEchoRequest4), h.local, out), 60u);
  EXPECT_EQ(slice(out, 0, 18), slice(linux_reply, 0, 18));
  EXPECT_EQ(slice(out, 18, 20), hex("5896"));  // the request's id
  EXPECT_EQ(slice(out, 20, 24), slice(linux_reply, 20, 24));
  EXPECT_EQ(naive_checksum(out.data() + 14, 20), 0);
  EXPECT_EQ(slice(out, 26, 58), slice(linux_reply, 26, 58));  // ICMP identical, checksum too
  EXPECT_EQ(slice(out, 58, 60), Bytes(2, 0));
  const FrameView v = parse_frame(out.data(), out.size());
  ASSERT_EQ(v.kind, FrameKind::kIpv4Icmp);
  EXPECT_TRUE(ipv4_header_checksum_ok(out.data(), v));
  EXPECT_TRUE(icmp_checksum_ok(out.data(), v));
}

// Linux's reply differs only in the flow label it picked (ours is 0).
TEST(Echo, AnswersIpv6LikeLinux) {
  Host2 h;
  Bytes out;
  const Bytes linux_reply = hex(kEchoReply6);
  ASSERT_EQ(reply_to(hex(kEchoRequest6), h.local, out), linux_reply.size());
  EXPECT_EQ(slice(out, 0, 15), slice(linux_reply, 0, 15));
  EXPECT_EQ(slice(out, 15, 18), Bytes(3, 0));
  EXPECT_EQ(slice(out, 18, out.size()), slice(linux_reply, 18, linux_reply.size()));
  EXPECT_TRUE(dpdk_icmpv6_ok(out));
}

TEST(Echo, Ipv4OptionsAreNotEchoed) {
  Host2 h;
  const Bytes req = hex(kEchoRequest4);
  // Insert a 4-byte option (NOP NOP NOP EOL) to make IHL 6.
  Bytes f = slice(req, 0, 34);
  f.insert(f.end(), {1, 1, 1, 0});
  f.insert(f.end(), req.begin() + 34, req.end());
  f[14] = 0x46;
  store_be16(f.data() + 16, 48);
  fix_checksums(f);
  ASSERT_EQ(parse_frame(f.data(), f.size()).kind, FrameKind::kIpv4Icmp);
  Bytes out;
  ASSERT_EQ(reply_to(f, h.local, out), 60u);
  EXPECT_EQ(out[14], 0x45);
  EXPECT_EQ(slice(out, 26, 58), slice(hex(kEchoReply4), 26, 58));
}

TEST(Echo, NoAnswer) {
  Host2 h;
  Host1 h1;
  const Bytes r4 = hex(kEchoRequest4);
  const Bytes r6 = hex(kEchoRequest6);
  const Bytes kAllNodes = hex("ff020000000000000000000000000001");
  struct Case {
    int n;
    const char* what;
    const Bytes* base;
    size_t offset;
    Bytes bytes;
    bool fix;
    const LocalAddresses* local;
  };
  const Case cases[] = {
      {1, "v4 not our address", &r4, 0, {}, false, &h1.local},
      {2, "v4 bad ICMP checksum", &r4, 37, {0xac}, false, &h.local},
      {3, "v4 bad header checksum", &r4, 25, {0x38}, false, &h.local},
      {4, "v4 data changed, checksum not", &r4, 50, {0x01}, false, &h.local},
      {5, "v4 echo reply", &r4, 34, {0}, true, &h.local},
      {6, "v4 code 1", &r4, 35, {1}, true, &h.local},
      {7, "v4 broadcast source", &r4, 26, {255, 255, 255, 255}, true, &h.local},
      {8, "v4 multicast source", &r4, 26, {224, 0, 0, 1}, true, &h.local},
      {9, "v4 Ethernet not ours", &r4, 0, {2, 0, 0, 0, 0, 9}, false, &h.local},
      {10, "v4 broadcast Ethernet", &r4, 0, {255, 255, 255, 255, 255, 255}, false, &h.local},
      {11, "v4 unreachable, not echo", &r4, 34, {3}, true, &h.local},
      {12, "v6 not our address", &r6, 0, {}, false, &h1.local},
      {13, "v6 bad checksum", &r6, 57, {0xd4}, false, &h.local},
      {14, "v6 to all-nodes", &r6, 38, kAllNodes, true, &h.local},
      {15, "v6 multicast source", &r6, 22, {0xff, 0x02}, true, &h.local},
      {16, "v6 echo reply", &r6, 54, {129}, true, &h.local},
      {17, "v6 code 1", &r6, 55, {1}, true, &h.local},
  };
  for (const Case& c : cases) {
    Bytes f = *c.base;
    std::copy(c.bytes.begin(), c.bytes.end(), f.begin() + static_cast<ptrdiff_t>(c.offset));
    if (c.fix) fix_checksums(f);
    Bytes out;
    EXPECT_EQ(reply_to(f, *c.local, out), 0u) << "case " << c.n << ": " << c.what;
  }
  // Out too small: no partial reply.
  const FrameView v = parse_frame(r6.data(), r6.size());
  Bytes small(r6.size() - 1);
  EXPECT_EQ(answer_echo(r6, v, h.local, small), 0u);
  // Non-ICMP frames are no business of the responder.
  Bytes out;
  EXPECT_EQ(reply_to(hex(kUdp4), h.local, out), 0u);
  EXPECT_EQ(reply_to(hex(kRouterSolicit), h.local, out), 0u);
}

// The reply carries the request's full data, also for large pings.
TEST(Echo, LargePayloadRoundTrip) {
  Host2 h;
  Bytes f = hex(kEchoRequest6);
  const size_t extra = 1400;
  for (size_t i = 0; i < extra; ++i) f.push_back(static_cast<uint8_t>(i * 7));
  store_be16(f.data() + 18, static_cast<uint16_t>(24 + extra));
  fix_checksums(f);
  Bytes out(2000);
  const FrameView v = parse_frame(f.data(), f.size());
  const size_t n = answer_echo(f, v, h.local, out);
  ASSERT_EQ(n, f.size());
  out.resize(n);
  EXPECT_EQ(slice(out, 58, n), slice(f, 58, n));  // id, seq, data
  EXPECT_EQ(out[54], 129);
  EXPECT_TRUE(dpdk_icmpv6_ok(out));
}

}  // namespace
}  // namespace wirespeed::dataplane::net
