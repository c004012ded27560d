// TAI64N encoding, whitening and ordering (controlplane/noise/tai64n.hpp).
#include "controlplane/noise/tai64n.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "tests/support/hex.hpp"

namespace wirespeed::controlplane::noise {
namespace {

TEST(Tai64n, EncodesBigEndianWithTaiLabel) {
  // 2^62 + 10 + 1700000000 = 0x400000006553f10a; nanos 0x12345678 whitened to 0x12000000.
  const Tai64n t = tai64n_from_unix(1700000000, 0x12345678);
  EXPECT_EQ(test::to_hex(t), "400000006553f10a12000000");
  EXPECT_EQ(tai64n_unix_seconds(t), 1700000000u);
  EXPECT_EQ(tai64n_nanoseconds(t), 0x12000000u);
}

TEST(Tai64n, WhitensNanosecondsToTwoToThe24) {
  EXPECT_EQ(tai64n_from_unix(5, (1u << 24) - 1), tai64n_from_unix(5, 0));
  EXPECT_NE(tai64n_from_unix(5, 1u << 24), tai64n_from_unix(5, 0));
}

TEST(Tai64n, OrdersBySecondsThenNanoseconds) {
  const Tai64n a = tai64n_from_unix(100, 0);
  const Tai64n b = tai64n_from_unix(100, 1u << 24);
  const Tai64n c = tai64n_from_unix(101, 0);
  EXPECT_TRUE(tai64n_after(b, a));
  EXPECT_TRUE(tai64n_after(c, b));
  EXPECT_FALSE(tai64n_after(a, a));
  EXPECT_FALSE(tai64n_after(a, c));
  // Seconds dominate even when a's nanoseconds are larger.
  EXPECT_TRUE(tai64n_after(tai64n_from_unix(101, 0), tai64n_from_unix(100, 999'000'000)));
}

TEST(Tai64n, NowIsTheWallClock) {
  const uint64_t before = static_cast<uint64_t>(time(nullptr));
  const Tai64n now = tai64n_now();
  const uint64_t after = static_cast<uint64_t>(time(nullptr));
  EXPECT_GE(tai64n_unix_seconds(now), before);
  EXPECT_LE(tai64n_unix_seconds(now), after);
  EXPECT_EQ(tai64n_nanoseconds(now) & kTai64nWhitenerMask, 0u);
}

}  // namespace
}  // namespace wirespeed::controlplane::noise
