// Tests for the control plane's receiver-index table
// (controlplane/peers/index_table): collisions and zero are retried, indices
// stay unique and non-zero, released ones come back, real ones look random.
#include "controlplane/peers/index_table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <unordered_set>
#include <vector>

namespace wirespeed::controlplane::peers {
namespace {

// Replays a fixed script of values, then repeats the last one.
IndexTable::Rng scripted(std::vector<uint32_t> values) {
  return [values = std::move(values), next = size_t{0}]() mutable {
    const uint32_t v = values[std::min(next, values.size() - 1)];
    ++next;
    return v;
  };
}

TEST(IndexTable, ZeroAndCollisionAreSkipped) {
  IndexTable table(scripted({7, 0, 7, 9}));
  auto first = table.allocate(1, IndexKind::kHandshake);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 7u);
  // 0 is refused, 7 is live, 9 is fresh.
  auto second = table.allocate(2, IndexKind::kKeypair);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 9u);
  EXPECT_EQ(table.lookup(7), (IndexEntry{1, IndexKind::kHandshake}));
  EXPECT_EQ(table.lookup(9), (IndexEntry{2, IndexKind::kKeypair}));
  EXPECT_EQ(table.lookup(8), std::nullopt);
  EXPECT_EQ(table.lookup(0), std::nullopt);
  EXPECT_EQ(table.size(), 2u);
}

TEST(IndexTable, BrokenRngIsExhaustedNotAnInfiniteLoop) {
  IndexTable zeros(scripted({0}));
  auto r = zeros.allocate(1, IndexKind::kHandshake);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kExhausted);

  IndexTable stuck(scripted({5}));
  ASSERT_TRUE(stuck.allocate(1, IndexKind::kHandshake).ok());
  auto again = stuck.allocate(1, IndexKind::kHandshake);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::kExhausted);
  EXPECT_EQ(stuck.size(), 1u);
}

TEST(IndexTable, ReleaseFreesTheIndex) {
  IndexTable table(scripted({42, 42}));
  ASSERT_TRUE(table.allocate(1, IndexKind::kHandshake).ok());
  EXPECT_TRUE(table.release(42));
  EXPECT_FALSE(table.release(42));
  EXPECT_EQ(table.lookup(42), std::nullopt);
  EXPECT_EQ(table.size(), 0u);
  // The same value is usable again once released.
  auto again = table.allocate(3, IndexKind::kKeypair);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 42u);
  EXPECT_EQ(table.lookup(42), (IndexEntry{3, IndexKind::kKeypair}));
}

TEST(IndexTable, UniqueUnderForcedCollisions) {
  // A 17-bit RNG over 100000 allocations collides constantly (the table ends
  // 76% full), so every allocation exercises the retry path.
  std::mt19937 gen(1234);
  IndexTable table([&gen] { return static_cast<uint32_t>(gen() & 0x1ffff); });
  std::unordered_set<uint32_t> seen;
  for (int i = 0; i < 100000; ++i) {
    auto r = table.allocate(static_cast<PeerId>(i), IndexKind::kKeypair);
    ASSERT_TRUE(r.ok()) << "allocation " << i;
    ASSERT_NE(*r, 0u);
    ASSERT_TRUE(seen.insert(*r).second) << "duplicate " << *r;
  }
  EXPECT_EQ(table.size(), 100000u);
}

TEST(IndexTable, RealIndicesAreUniqueNonZeroAndLookRandom) {
  auto created = IndexTable::create();
  ASSERT_TRUE(created.ok());
  IndexTable& table = *created;
  constexpr int kCount = 100000;
  std::vector<uint32_t> values;
  values.reserve(kCount);
  std::unordered_set<uint32_t> seen;
  for (int i = 0; i < kCount; ++i) {
    auto r = table.allocate(static_cast<PeerId>(i % 50), i % 2 ? IndexKind::kKeypair
                                                               : IndexKind::kHandshake);
    ASSERT_TRUE(r.ok());
    ASSERT_NE(*r, 0u);
    ASSERT_TRUE(seen.insert(*r).second);
    values.push_back(*r);
  }
  EXPECT_EQ(table.size(), static_cast<size_t>(kCount));

  // Not sequential: consecutive indices almost never differ by +-1.
  int adjacent = 0;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] - values[i - 1] == 1 || values[i - 1] - values[i] == 1) ++adjacent;
  }
  EXPECT_LE(adjacent, 2);
  // Roughly uniform: each of the 32 bits is set in about half the values
  // (expected 50000, sd ~158; 49000..51000 is > 6 sd).
  for (int bit = 0; bit < 32; ++bit) {
    const auto ones = std::count_if(values.begin(), values.end(),
                                    [bit](uint32_t v) { return (v >> bit) & 1; });
    EXPECT_GT(ones, 49000) << "bit " << bit;
    EXPECT_LT(ones, 51000) << "bit " << bit;
  }
  // Every release frees exactly its own entry.
  for (int i = 0; i < kCount; i += 2) ASSERT_TRUE(table.release(values[i]));
  EXPECT_EQ(table.size(), static_cast<size_t>(kCount / 2));
  EXPECT_EQ(table.lookup(values[0]), std::nullopt);
  EXPECT_EQ(table.lookup(values[1]), (IndexEntry{1, IndexKind::kKeypair}));
}

}  // namespace
}  // namespace wirespeed::controlplane::peers
