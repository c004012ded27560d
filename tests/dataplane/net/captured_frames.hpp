// Frames captured with tcpdump -xx on a veth pair between two network
// namespaces (Linux 6.x; MACs 02:00:00:00:00:0{1,2}, 192.0.2.{1,2},
// 2001:db8::{1,2}; host 1 asks, host 2 answers; the fragments with the veth
// MTU at 68; the UDP datagrams with `ethtool -K tx off`, else veth leaves the
// partial checksum of CHECKSUM_PARTIAL in the frame), and the small helpers
// the net tests share: hex, an independent RFC 1071 sum, IPv6 literals.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "dataplane/net/frame.hpp"

namespace wirespeed::dataplane::net {

using Bytes = std::vector<uint8_t>;

inline Bytes hex(std::string_view s) {
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

// RFC 1071 the slow way: big-endian words, carry folded after every add.
inline uint16_t naive_checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i < n; i += 2) {
    sum += (uint32_t{p[i]} << 8) | (i + 1 < n ? p[i + 1] : 0);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

inline IpAddr v6(std::string_view h) {
  const Bytes b = hex(h);
  EXPECT_EQ(b.size(), 16u);
  return b.size() == 16 ? IpAddr::v6(b.data()) : IpAddr{};
}

// --- Captured frames ---
inline constexpr const char* kArpRequest =
    "ffffffffffff020000000001080600010800060400010200000000 01c0000201000000000000c0000202";
inline constexpr const char* kArpReply =
    "020000000001020000000002080600010800060400020200000000 02c0000202020000000001c0000201";
inline constexpr const char* kEchoRequest4 =
    "02000000000202000000000108004500002c5896400040015e37c0000201c000020208009fab52c90001bcf2"
    "026b00000000372c0f0000000000";
inline constexpr const char* kEchoReply4 =
    "02000000000102000000000208004500002c526800004001a465c0000202c00002010000a7ab52c90001bcf2"
    "026b00000000372c0f0000000000";
inline constexpr const char* kNeighborSolicit =
    "3333ff00000202000000000186dd6000000000203aff20010db8000000000000000000000001ff0200000000"
    "000000000001ff00000287001c270000000020010db80000000000000000000000020101020000000001";
inline constexpr const char* kNeighborAdvert =
    "02000000000102000000000286dd6000000000203aff20010db800000000000000000000000220010db80000"
    "0000000000000000000188008a716000000020010db80000000000000000000000020201020000000002";
inline constexpr const char* kEchoRequest6 =
    "02000000000202000000000186dd6008c8b600183a4020010db800000000000000000000000120010db80000"
    "00000000000000000002800043d352ca0001bcf2026b00000000bf3b0f0000000000";
inline constexpr const char* kRouterSolicit =
    "33330000000202000000000286dd6000000000103afffe80000000000000000000fffe000002ff0200000000"
    "0000000000000000000285007b2a000000000101020000000002";
inline constexpr const char* kUdp4 =
    "02000000000202000000000108004500002b6dd74000401148e7c0000201c00002028adbca6c0017bbcf6865"
    "6c6c6f2d776972657370656564";  // "hello-wirespeed" to port 51820
inline constexpr const char* kPortUnreachable4 =
    "020000000001020000000002080045c00047004a00004001f5a8c0000202c000020103038129000000004500"
    "002b6dd74000401148e7c0000201c00002028adbca6c0017bbcf68656c6c6f2d776972657370656564";
inline constexpr const char* kUdp6 =
    "02000000000202000000000186dd6003863d0018114020010db800000000000000000000000120010db80000"
    "00000000000000000002bb9bca6c0018b36668656c6c6f2d77697265737065656436";  // "hello-wirespeed6"
inline constexpr const char* kFirstFragment4 =
    "020000000002020000000001080045000044649820004001721dc0000201c00002020800be01530b0001cef2"
    "026b000000005be2080000000000424242424242424242424242424242424242424242424242";
inline constexpr const char* kLastFragment4 =
    "0200000000020200000000010800450000286498000640019233c0000201c00002024242424242424242424242"
    "424242424242424242";
inline constexpr const char* kEchoReply6 =
    "02000000000102000000000286dd600946a100183a4020010db800000000000000000000000220010db80000"
    "00000000000000000001810042d352ca0001bcf2026b00000000bf3b0f0000000000";

}  // namespace wirespeed::dataplane::net
