// Tests for the control plane's handshake flood control
// (controlplane/ratelimit/ratelimiter): per-source token buckets on a fake
// clock, IPv6 /64 grouping, GC and the cap, and the under-load decision.
#include "controlplane/ratelimit/ratelimiter.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <array>

namespace wirespeed::controlplane::ratelimit {
namespace {

using dataplane::wire::kNanosPerMilli;
using dataplane::wire::kNanosPerSecond;
using dataplane::wire::kPacketsBurstPerSource;
using dataplane::wire::kPacketsPerSecondPerSource;

constexpr RateLimiter::HashKey kTestKey = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};
// An arbitrary non-zero start, so nothing depends on the clock starting at 0.
constexpr Nanos kT0 = 1000 * kNanosPerSecond;

std::array<uint8_t, 4> v4(const char* text) {
  std::array<uint8_t, 4> a{};
  EXPECT_EQ(inet_pton(AF_INET, text, a.data()), 1) << text;
  return a;
}

std::array<uint8_t, 16> v6(const char* text) {
  std::array<uint8_t, 16> a{};
  EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
  return a;
}

template <size_t N>
bool allow(RateLimiter& rl, const std::array<uint8_t, N>& a, Nanos now) {
  return rl.allow(a.data(), a.size(), now);
}

TEST(RateLimiter, BurstThenOneTokenPer50ms) {
  RateLimiter rl(kTestKey);
  const auto src = v4("192.0.2.1");
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) {
    EXPECT_TRUE(allow(rl, src, kT0)) << "burst packet " << i;
  }
  EXPECT_FALSE(allow(rl, src, kT0));
  EXPECT_FALSE(allow(rl, src, kT0 + 49 * kNanosPerMilli));
  EXPECT_TRUE(allow(rl, src, kT0 + 50 * kNanosPerMilli));
  EXPECT_FALSE(allow(rl, src, kT0 + 50 * kNanosPerMilli));
  // Refused packets cost nothing: the next token is still due at 100 ms.
  EXPECT_TRUE(allow(rl, src, kT0 + 100 * kNanosPerMilli));
  // The bucket refills to the burst, no further.
  const Nanos later = kT0 + 10 * kNanosPerSecond;
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) EXPECT_TRUE(allow(rl, src, later));
  EXPECT_FALSE(allow(rl, src, later));
}

TEST(RateLimiter, SustainedRateConvergesTo20PerSecond) {
  RateLimiter rl(kTestKey);
  const auto src = v4("198.51.100.7");
  // An attacker sending every millisecond for 10 s.
  unsigned allowed = 0;
  for (Nanos t = 0; t < 10 * kNanosPerSecond; t += kNanosPerMilli) {
    allowed += allow(rl, src, kT0 + t) ? 1 : 0;
  }
  const unsigned expected = kPacketsBurstPerSource + kPacketsPerSecondPerSource * 10;
  EXPECT_GE(allowed, expected - 1);
  EXPECT_LE(allowed, expected + 1);
}

TEST(RateLimiter, SourcesAreIndependent) {
  RateLimiter rl(kTestKey);
  const auto a = v4("192.0.2.1");
  const auto b = v4("192.0.2.2");
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) ASSERT_TRUE(allow(rl, a, kT0));
  EXPECT_FALSE(allow(rl, a, kT0));
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) EXPECT_TRUE(allow(rl, b, kT0));
  EXPECT_FALSE(allow(rl, b, kT0));
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, Ipv6SharesABucketPer64) {
  RateLimiter rl(kTestKey);
  const auto a = v6("2001:db8:1:2::1");
  const auto same64 = v6("2001:db8:1:2:ffff:ffff:ffff:ffff");
  const auto other64 = v6("2001:db8:1:3::1");
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) ASSERT_TRUE(allow(rl, a, kT0));
  EXPECT_FALSE(allow(rl, same64, kT0));
  EXPECT_TRUE(allow(rl, other64, kT0));
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, FamiliesDoNotShareBuckets) {
  // 192.0.2.1 and ::c000:201 carry the same value in the key's bits.
  RateLimiter rl(kTestKey);
  const auto four = v4("192.0.2.1");
  const auto six = v6("0:0:0:0:c000:201::");
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) ASSERT_TRUE(allow(rl, four, kT0));
  EXPECT_TRUE(allow(rl, six, kT0));
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, RefusesBadLength) {
  RateLimiter rl(kTestKey);
  const uint8_t buf[16] = {};
  EXPECT_FALSE(rl.allow(buf, 0, kT0));
  EXPECT_FALSE(rl.allow(buf, 5, kT0));
  EXPECT_FALSE(rl.allow(nullptr, 4, kT0));
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiter, GcDropsIdleSources) {
  RateLimiter rl(kTestKey);
  ASSERT_TRUE(allow(rl, v4("192.0.2.1"), kT0));
  ASSERT_TRUE(allow(rl, v4("192.0.2.2"), kT0 + 500 * kNanosPerMilli));
  EXPECT_EQ(rl.gc(kT0 + kNanosPerSecond), 0u);  // idle exactly 1 s: kept
  EXPECT_EQ(rl.gc(kT0 + kNanosPerSecond + 1), 1u);
  EXPECT_EQ(rl.size(), 1u);
  EXPECT_EQ(rl.gc(kT0 + 2 * kNanosPerSecond), 1u);
  EXPECT_EQ(rl.size(), 0u);
}

TEST(RateLimiter, AllowSweepsAmortisedSoMemoryStaysBounded) {
  RateLimiter rl(kTestKey);
  // A spoofed flood: 1000 new sources every 100 ms for 10 s, never repeated.
  uint32_t next = 0x0a000000;
  size_t peak = 0;
  for (Nanos t = 0; t <= 10 * kNanosPerSecond; t += 100 * kNanosPerMilli) {
    for (int i = 0; i < 1000; ++i) {
      const uint32_t be = htonl(next++);
      rl.allow(reinterpret_cast<const uint8_t*>(&be), 4, kT0 + t);
    }
    peak = std::max(peak, rl.size());
  }
  // Sources live at most kIdleTimeout + kGcInterval: ~21 ticks of 1000.
  EXPECT_LE(peak, 21000u);
  EXPECT_GT(peak, 10000u);
}

TEST(RateLimiter, CapRefusesNewSourcesButNotKnownOnes) {
  RateLimiter rl(kTestKey, 3);
  const auto a = v4("192.0.2.1");
  ASSERT_TRUE(allow(rl, a, kT0));
  ASSERT_TRUE(allow(rl, v4("192.0.2.2"), kT0));
  ASSERT_TRUE(allow(rl, v4("192.0.2.3"), kT0));
  EXPECT_FALSE(allow(rl, v4("192.0.2.4"), kT0));
  EXPECT_FALSE(allow(rl, v6("2001:db8::1"), kT0));
  EXPECT_EQ(rl.size(), 3u);
  EXPECT_TRUE(allow(rl, a, kT0));  // a known source still has its bucket
  // Once the others have idled out (swept by allow() itself), a new source
  // gets in; the recently active one is kept.
  ASSERT_TRUE(allow(rl, a, kT0 + 900 * kNanosPerMilli));
  EXPECT_TRUE(allow(rl, v4("192.0.2.4"), kT0 + 1500 * kNanosPerMilli));
  EXPECT_EQ(rl.size(), 2u);
}

TEST(RateLimiter, DefaultCapIsEnforced) {
  auto created = RateLimiter::create();
  ASSERT_TRUE(created.ok());
  RateLimiter& rl = *created;
  for (uint32_t i = 0; i < RateLimiter::kMaxEntries; ++i) {
    const uint32_t be = htonl(0x0a000000 + i);
    ASSERT_TRUE(rl.allow(reinterpret_cast<const uint8_t*>(&be), 4, kT0));
  }
  EXPECT_EQ(rl.size(), RateLimiter::kMaxEntries);
  EXPECT_FALSE(allow(rl, v4("192.0.2.1"), kT0));
  EXPECT_EQ(rl.size(), RateLimiter::kMaxEntries);
}

TEST(RateLimiter, ClockSteppingBackEarnsNothing) {
  RateLimiter rl(kTestKey);
  const auto src = v4("192.0.2.1");
  for (unsigned i = 0; i < kPacketsBurstPerSource; ++i) ASSERT_TRUE(allow(rl, src, kT0));
  EXPECT_FALSE(allow(rl, src, kT0 - kNanosPerSecond));
  EXPECT_FALSE(allow(rl, src, kT0 + 49 * kNanosPerMilli));
  EXPECT_TRUE(allow(rl, src, kT0 + 50 * kNanosPerMilli));
}

// Numbered table: the under-load decision with capacity 4096 (threshold 512).
TEST(UnderLoad, ThresholdAndOneSecondHold) {
  struct Step {
    int number;
    size_t queued;
    Nanos at;  // offset from kT0
    bool expected;
  };
  constexpr size_t kCapacity = 4096;
  const Step steps[] = {
      {1, 0, 0, false},                                   // never loaded
      {2, 511, 0, false},                                 // just below 1/8
      {3, 512, 10 * kNanosPerMilli, true},                // at 1/8
      {4, 0, 20 * kNanosPerMilli, true},                  // drained, still held
      {5, 0, 10 * kNanosPerMilli + kNanosPerSecond - 1, true},
      {6, 0, 10 * kNanosPerMilli + kNanosPerSecond, false},  // hold over
      {7, 4096, 2 * kNanosPerSecond, true},               // full
      {8, 600, 2 * kNanosPerSecond + 900 * kNanosPerMilli, true},  // renews the hold
      {9, 0, 3 * kNanosPerSecond + 800 * kNanosPerMilli, true},
      {10, 0, 3 * kNanosPerSecond + 900 * kNanosPerMilli, false},
  };
  UnderLoad load;
  for (const Step& s : steps) {
    EXPECT_EQ(load.update(s.queued, kCapacity, kT0 + s.at), s.expected) << "step " << s.number;
  }
}

TEST(UnderLoad, SmallQueueNeedsOneQueuedMessage) {
  UnderLoad load;
  EXPECT_FALSE(load.update(0, 4, kT0));
  EXPECT_TRUE(load.update(1, 4, kT0));
  EXPECT_FALSE(UnderLoad().update(0, 0, kT0));
}

}  // namespace
}  // namespace wirespeed::controlplane::ratelimit
