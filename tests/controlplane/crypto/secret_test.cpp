// Tests for Secret<N> and equal_ct (controlplane/crypto/secret.hpp): the
// properties the rest of the control plane relies on -- not copyable, a move
// leaves no second copy behind, wipe() really zeroes, and the constant-time
// comparisons give the right answers.
#include "controlplane/crypto/secret.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>
#include <utility>

namespace wirespeed::controlplane::crypto {
namespace {

using Secret32 = Secret<32>;

static_assert(!std::is_copy_constructible_v<Secret32>, "a copy is a second place to wipe");
static_assert(!std::is_copy_assignable_v<Secret32>);
static_assert(std::is_nothrow_move_constructible_v<Secret32>);
static_assert(std::is_nothrow_move_assignable_v<Secret32>);
static_assert(!std::is_convertible_v<std::span<const uint8_t, 32>, Secret32>,
              "construction from bytes is explicit");
static_assert(Secret32::kSize == 32 && Secret32::size() == 32);
static_assert(Secret<16>::size() == 16);

std::array<uint8_t, 32> pattern(uint8_t first) {
  std::array<uint8_t, 32> a{};
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(first + i);
  return a;
}

Secret32 make(uint8_t first) {
  const auto bytes = pattern(first);
  return Secret32(std::span<const uint8_t, 32>(bytes));
}

TEST(Secret, DefaultIsZero) {
  const Secret32 s;
  EXPECT_TRUE(s.is_zero());
  for (uint8_t b : s.bytes()) EXPECT_EQ(b, 0);
}

TEST(Secret, HoldsItsBytes) {
  const auto bytes = pattern(1);
  const Secret32 s{std::span<const uint8_t, 32>(bytes)};
  EXPECT_FALSE(s.is_zero());
  EXPECT_EQ(std::memcmp(s.data(), bytes.data(), 32), 0);
  EXPECT_EQ(s.bytes().data(), s.data());
}

TEST(Secret, EqualsIsCorrectForEveryBytePosition) {
  const Secret32 a = make(1);
  const Secret32 b = make(1);
  EXPECT_TRUE(a.equals(b));
  EXPECT_TRUE(b.equals(a));
  EXPECT_TRUE(a.equals(a));
  const auto same = pattern(1);
  EXPECT_TRUE(a.equals(std::span<const uint8_t, 32>(same)));

  // A difference in any single byte, in any bit, is seen -- first, middle
  // and last positions included (a length or early-exit bug would miss some).
  for (size_t pos = 0; pos < 32; ++pos) {
    for (uint8_t bit = 0; bit < 8; ++bit) {
      auto other = pattern(1);
      other[pos] ^= static_cast<uint8_t>(1u << bit);
      const Secret32 c{std::span<const uint8_t, 32>(other)};
      EXPECT_FALSE(a.equals(c)) << pos << "/" << int(bit);
      EXPECT_FALSE(c.equals(a)) << pos << "/" << int(bit);
      EXPECT_FALSE(a.equals(std::span<const uint8_t, 32>(other))) << pos << "/" << int(bit);
    }
  }
}

TEST(Secret, IsZeroSeesAnySingleNonZeroByte) {
  for (size_t pos = 0; pos < 32; ++pos) {
    Secret32 s;
    s.writable()[pos] = 0x01;
    EXPECT_FALSE(s.is_zero()) << pos;
    s.writable()[pos] = 0x00;
    EXPECT_TRUE(s.is_zero()) << pos;
  }
}

TEST(Secret, WipeZeroes) {
  Secret32 s = make(0xa0);
  ASSERT_FALSE(s.is_zero());
  s.wipe();
  EXPECT_TRUE(s.is_zero());
  for (uint8_t b : s.bytes()) EXPECT_EQ(b, 0);
}

TEST(Secret, MoveConstructionWipesTheSource) {
  Secret32 src = make(7);
  Secret32 dst(std::move(src));
  EXPECT_TRUE(dst.equals(make(7)));
  // Reading a moved-from Secret is defined: it is a wiped, valid object.
  EXPECT_TRUE(src.is_zero());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, MoveAssignmentWipesTheSourceAndReplacesTheTarget) {
  Secret32 src = make(7);
  Secret32 dst = make(100);
  dst = std::move(src);
  EXPECT_TRUE(dst.equals(make(7)));
  EXPECT_TRUE(src.is_zero());  // NOLINT(bugprone-use-after-move)
}

TEST(Secret, SelfMoveAssignmentKeepsTheValue) {
  Secret32 s = make(3);
  Secret32& alias = s;
  s = std::move(alias);
  EXPECT_TRUE(s.equals(make(3)));
}

TEST(Secret, CloneIsAnIndependentCopy) {
  Secret32 original = make(9);
  Secret32 copy = original.clone();
  EXPECT_TRUE(copy.equals(original));
  EXPECT_NE(copy.data(), original.data());
  original.wipe();
  EXPECT_TRUE(original.is_zero());
  EXPECT_TRUE(copy.equals(make(9))) << "wiping the original must not touch the clone";
  copy.writable()[0] ^= 1;
  EXPECT_FALSE(copy.equals(make(9)));
}

TEST(Secret, WritableWritesThrough) {
  Secret32 s;
  const auto bytes = pattern(50);
  std::memcpy(s.writable().data(), bytes.data(), 32);
  EXPECT_TRUE(s.equals(std::span<const uint8_t, 32>(bytes)));
}

TEST(Secret, DestructorWipes) {
  // Observe the storage after destruction: construct in a buffer we own,
  // destroy, then read the buffer back through a volatile pointer after a
  // compiler barrier, so the compiler can neither assume the bytes are
  // "dead" nor reuse values it saw before the destructor ran.
  alignas(Secret32) unsigned char storage[sizeof(Secret32)] = {};
  const auto bytes = pattern(0x11);
  auto* s = new (storage) Secret32(std::span<const uint8_t, 32>(bytes));
  ASSERT_FALSE(s->is_zero());
  s->~Secret32();
  asm volatile("" : : "r"(storage) : "memory");
  const volatile unsigned char* view = storage;
  size_t non_zero = 0;
  for (size_t i = 0; i < sizeof(storage); ++i) non_zero += view[i] != 0 ? 1 : 0;
  EXPECT_EQ(non_zero, 0u);
}

TEST(EqualCt, PublicByteStrings) {
  const std::array<uint8_t, 16> a = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  std::array<uint8_t, 16> b = a;
  EXPECT_TRUE(equal_ct(a, b));
  for (size_t pos = 0; pos < b.size(); ++pos) {
    b = a;
    b[pos] ^= 0x80;
    EXPECT_FALSE(equal_ct(a, b)) << pos;
  }
  // Different lengths never compare equal, even when one is a prefix.
  EXPECT_FALSE(equal_ct(std::span<const uint8_t>(a).first(15), a));
  EXPECT_FALSE(equal_ct(a, std::span<const uint8_t>(a).first(15)));
  EXPECT_TRUE(equal_ct(std::span<const uint8_t>(), std::span<const uint8_t>()));
}

}  // namespace
}  // namespace wirespeed::controlplane::crypto
