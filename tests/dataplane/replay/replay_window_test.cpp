// Tests for the replay window (dataplane/replay/replay_window.hpp).
//
// 1. A numbered table of counter sequences with the verdict of each step:
//    cases 1-34 are the Linux kernel's selftest
//    (drivers/net/wireguard/selftest/counter.c) ported verbatim, with the
//    kernel's T_LIM = COUNTER_WINDOW_SIZE + 1; our own cases follow.
// 2. The kernel's loop sequences (fill the whole window forwards/backwards).
// 3. A randomised differential test against a naive std::set model.
//
// Every step also checks that check() (the read-only early test) agrees with
// update(), and that a counter update() accepted is rejected afterwards.
//
// Note: the kernel's REJECT_AFTER_MESSAGES is U64_MAX - 8128 - 1; ours is
// the whitepaper's 2^64 - 2^13 - 1 (as wireguard-go). The table uses the
// named constant, so the cases carry over unchanged.
#include "dataplane/replay/replay_window.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <random>
#include <set>
#include <vector>

namespace wirespeed::dataplane::replay {
namespace {

using wire::kCounterWindowSize;
using wire::kRejectAfterMessages;

constexpr uint64_t kWindow = kCounterWindowSize;
constexpr uint64_t kLim = kWindow + 1;  // the kernel's T_LIM
constexpr uint64_t kRam = kRejectAfterMessages;

static_assert(kWindow == 8128);

struct Step {
  int number;  // case number, for the failure message
  bool reset;  // start from a fresh window before this step
  uint64_t counter;
  bool accepted;
};

// One step: check() must predict update(); an accepted counter must then be
// rejected by both.
void run_step(ReplayWindow& window, const Step& step) {
  SCOPED_TRACE(testing::Message() << "case " << step.number << ": counter " << step.counter);
  if (step.reset) window.reset();
  EXPECT_EQ(window.check(step.counter), step.accepted);
  EXPECT_EQ(window.update(step.counter), step.accepted);
  EXPECT_FALSE(window.check(step.counter)) << "a counter just seen must read as seen";
}

// clang-format off
const std::vector<Step> kTable = {
  // --- Linux selftest/counter.c, cases 1-34 ---
  {  1, true,  0,                      true  },
  {  2, false, 1,                      true  },
  {  3, false, 1,                      false },  // duplicate
  {  4, false, 9,                      true  },  // gap
  {  5, false, 8,                      true  },  // reordered inside the window
  {  6, false, 7,                      true  },
  {  7, false, 7,                      false },
  {  8, false, kLim,                   true  },  // top = 8129
  {  9, false, kLim - 1,               true  },
  { 10, false, kLim - 1,               false },
  { 11, false, kLim - 2,               true  },
  { 12, false, 2,                      true  },  // 2 >= 8129 - 8128: still inside
  { 13, false, 2,                      false },
  { 14, false, kLim + 16,              true  },
  { 15, false, 3,                      false },  // now too old
  { 16, false, kLim + 16,              false },
  { 17, false, kLim * 4,               true  },  // jump of more than a window
  { 18, false, kLim * 4 - (kLim - 1),  true  },  // exactly top - 8128: oldest usable
  { 19, false, 10,                     false },
  { 20, false, kLim * 4 - kLim,        false },  // top - 8129: one too old
  { 21, false, kLim * 4 - (kLim + 1),  false },
  { 22, false, kLim * 4 - (kLim - 2),  true  },
  { 23, false, kLim * 4 + 1 - kLim,    false },  // == case 18, already seen
  { 24, false, 0,                      false },
  { 25, false, kRam,                   false },  // limit itself is refused
  { 26, false, kRam - 1,               true  },  // last usable counter
  { 27, false, kRam,                   false },
  { 28, false, kRam - 1,               false },
  { 29, false, kRam - 2,               true  },
  { 30, false, kRam + 1,               false },
  { 31, false, kRam + 2,               false },
  { 32, false, kRam - 2,               false },
  { 33, false, kRam - 3,               true  },
  { 34, false, 0,                      false },

  // --- wirespeed cases ---
  // In order from zero, then a duplicate of each.
  { 35, true,  0,                      true  },
  { 36, false, 1,                      true  },
  { 37, false, 2,                      true  },
  { 38, false, 3,                      true  },
  { 39, false, 0,                      false },
  { 40, false, 3,                      false },
  // First counter is not zero; zero still fits the window afterwards.
  { 41, true,  5,                      true  },
  { 42, false, 0,                      true  },
  { 43, false, 4,                      true  },
  { 44, false, 0,                      false },
  // The window edge, away from zero: top 10000, oldest usable 1872.
  { 45, true,  10000,                  true  },
  { 46, false, 10000 - kWindow,        true  },
  { 47, false, 10000 - kWindow - 1,    false },
  { 48, false, 10000 - kWindow,        false },
  { 49, false, 10000 - kWindow + 1,    true  },
  // Moving the top by one drops exactly the oldest counter.
  { 50, false, 10001,                  true  },
  { 51, false, 10001 - kWindow - 1,    false },  // 1872: was usable, now too old
  { 52, false, 10001 - kWindow + 1,    true  },
  // Word boundaries of the ring (counter + 1 crosses 64-bit words).
  { 53, true,  62,                     true  },
  { 54, false, 63,                     true  },
  { 55, false, 64,                     true  },
  { 56, false, 127,                    true  },
  { 57, false, 128,                    true  },
  { 58, false, 63,                     false },
  { 59, false, 64,                     false },
  { 60, false, 126,                    true  },
  // A jump of exactly one ring (8192 counters): the new top lands on the very
  // bit 100 used, which must have been cleared, not read as "seen".
  { 61, true,  100,                    true  },
  { 62, false, 100 + 8192,             true  },
  { 63, false, 100,                    false },  // too old
  { 64, false, 100 + 8192 - kWindow,   true  },  // oldest usable
  { 65, false, 100 + 8192 - kWindow + 1, true },
  // A jump far beyond the window (more than one ring), then old ones.
  { 66, true,  7,                      true  },
  { 67, false, 1'000'000,              true  },
  { 68, false, 7,                      false },
  { 69, false, 1'000'000 - kWindow,    true  },
  { 70, false, 1'000'000 - kWindow - 1, false },
  { 71, false, 999'999,                true  },
  // Reject-after-messages as the first counter ever.
  { 72, true,  kRam,                   false },
  { 73, false, ~0ULL,                  false },
  { 74, false, kRam - 1,               true  },
  { 75, false, kRam - 1 - kWindow,     true  },
  { 76, false, kRam - 2 - kWindow,     false },
  { 77, false, 0,                      false },
  // Reordering within a word and across words.
  { 78, true,  200,                    true  },
  { 79, false, 130,                    true  },
  { 80, false, 199,                    true  },
  { 81, false, 131,                    true  },
  { 82, false, 130,                    false },
  { 83, false, 200,                    false },
  { 84, false, 1,                      true  },
};
// clang-format on

TEST(ReplayWindowTable, NumberedCases) {
  ReplayWindow window;
  int previous = 0;
  for (const Step& step : kTable) {
    ASSERT_EQ(step.number, previous + 1) << "table numbering";
    previous = step.number;
    run_step(window, step);
  }
}

// The kernel's loop cases (selftest/counter.c after case 34).
TEST(ReplayWindowTable, FillWindowForwardsThenZero) {
  ReplayWindow window;
  for (uint64_t i = 1; i <= kWindow; ++i) run_step(window, {0, false, i, true});
  run_step(window, {0, false, 0, true});  // top 8128: 0 is exactly at the edge
  run_step(window, {0, false, 0, false});
}

TEST(ReplayWindowTable, FillWindowFromTwoThenOneButNotZero) {
  ReplayWindow window;
  for (uint64_t i = 2; i <= kWindow + 1; ++i) run_step(window, {0, false, i, true});
  run_step(window, {0, false, 1, true});
  run_step(window, {0, false, 0, false});
}

TEST(ReplayWindowTable, FillWindowBackwardsFromEdge) {
  ReplayWindow window;
  for (uint64_t i = kWindow + 1; i-- > 0;) run_step(window, {0, false, i, true});
}

TEST(ReplayWindowTable, FillWindowBackwardsFromEdgePlusOne) {
  ReplayWindow window;
  for (uint64_t i = kWindow + 2; i-- > 1;) run_step(window, {0, false, i, true});
  run_step(window, {0, false, 0, false});
}

TEST(ReplayWindowTable, FillBackwardsThenTopAgainThenZero) {
  // The kernel's T(COUNTER_WINDOW_SIZE + 1, true) here follows a loop that
  // ends below it, so the top is new.
  ReplayWindow window;
  for (uint64_t i = kWindow + 1; i-- > 1;) run_step(window, {0, false, i, true});
  run_step(window, {0, false, kWindow + 1, true});
  run_step(window, {0, false, 0, false});
}

TEST(ReplayWindowTable, FillBackwardsThenZeroThenTop) {
  ReplayWindow window;
  for (uint64_t i = kWindow + 1; i-- > 1;) run_step(window, {0, false, i, true});
  run_step(window, {0, false, 0, true});
  run_step(window, {0, false, kWindow + 1, true});
}

TEST(ReplayWindow, GreatestIsTopPlusOne) {
  ReplayWindow window;
  EXPECT_EQ(window.greatest(), 0u);
  ASSERT_TRUE(window.update(0));
  EXPECT_EQ(window.greatest(), 1u);
  ASSERT_TRUE(window.update(41));
  EXPECT_EQ(window.greatest(), 42u);
  ASSERT_TRUE(window.update(3));  // older: top unchanged
  EXPECT_EQ(window.greatest(), 42u);
  ASSERT_FALSE(window.update(41));
  EXPECT_EQ(window.greatest(), 42u);
  ASSERT_FALSE(window.update(kRejectAfterMessages));  // refused: top unchanged
  EXPECT_EQ(window.greatest(), 42u);
}

TEST(ReplayWindow, CheckDoesNotModify) {
  ReplayWindow window;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(window.check(5));
  EXPECT_EQ(window.greatest(), 0u);
  EXPECT_TRUE(window.update(5));
}

TEST(ReplayWindow, ResetForgetsEverything) {
  ReplayWindow window;
  for (uint64_t i = 0; i < 300; ++i) ASSERT_TRUE(window.update(i * 7));
  window.reset();
  EXPECT_EQ(window.greatest(), 0u);
  for (uint64_t i = 0; i < 300; ++i) EXPECT_TRUE(window.update(i * 7)) << i;
}

// A race the data path allows: two copies of one counter both pass check()
// before either is authenticated; only the first update() may win.
TEST(ReplayWindow, DuplicateRacingPastCheckLosesInUpdate) {
  ReplayWindow window;
  ASSERT_TRUE(window.update(10));
  ASSERT_TRUE(window.check(11));
  ASSERT_TRUE(window.check(11));
  EXPECT_TRUE(window.update(11));
  EXPECT_FALSE(window.update(11));
}

// The naive model: the same rule written as plainly as possible.
class NaiveWindow {
 public:
  bool accept(uint64_t counter) {
    if (counter >= kRejectAfterMessages) return false;
    if (top_ && counter + kWindow < *top_) return false;  // older than top - 8128
    if (!seen_.insert(counter).second) return false;
    if (!top_ || counter > *top_) top_ = counter;
    // Forget what can never be asked about again, to keep the set small.
    while (!seen_.empty() && *seen_.begin() + kWindow < *top_) seen_.erase(seen_.begin());
    return true;
  }

 private:
  std::optional<uint64_t> top_;
  std::set<uint64_t> seen_;
};

TEST(ReplayWindowDifferential, RandomSequencesAgreeWithNaiveModel) {
  constexpr uint64_t kSeed = 0x5eed'c0de'2024ULL;
  std::mt19937_64 rng(kSeed);
  uint64_t steps = 0, accepted = 0;
  for (int round = 0; round < 20; ++round) {
    ReplayWindow window;
    NaiveWindow model;
    // Start either near zero or, one round in five, near the reject limit.
    const bool near_limit = round % 5 == 4;
    const uint64_t base = near_limit ? kRejectAfterMessages - 3 * kWindow : 0;
    uint64_t top = base;
    for (int i = 0; i < 60'000; ++i) {
      uint64_t counter = 0;
      switch (rng() % 8) {
        case 0:  // next in order
        case 1:
          counter = top + 1;
          break;
        case 2:  // small step ahead
          counter = top + rng() % 100;
          break;
        case 3:  // reordered within the window
          counter = top - std::min<uint64_t>(top, rng() % kWindow);
          break;
        case 4:  // around the window edge
          counter = top - std::min<uint64_t>(top, kWindow - 2 + rng() % 5);
          break;
        case 5:  // recent duplicate region
          counter = top - std::min<uint64_t>(top, rng() % 64);
          break;
        case 6:  // a jump ahead, sometimes beyond a whole ring
          counter = top + 1 + rng() % (3 * wire::kCounterBitsTotal);
          break;
        default:  // anything seen so far, or (near the limit) the limit itself
          counter = (near_limit && rng() % 64 == 0) ? kRejectAfterMessages - 2 + rng() % 4
                                                    : base + rng() % (top - base + 2);
          break;
      }
      const bool expected = model.accept(counter);
      ASSERT_EQ(window.check(counter), expected)
          << "seed " << kSeed << " round " << round << " step " << i << " counter " << counter;
      ASSERT_EQ(window.update(counter), expected)
          << "seed " << kSeed << " round " << round << " step " << i << " counter " << counter;
      ++steps;
      accepted += expected ? 1 : 0;
      if (expected && counter > top) top = counter;
    }
  }
  // The generator must exercise both verdicts substantially.
  EXPECT_GT(steps, 500'000u);
  EXPECT_GT(accepted, steps / 5);
  EXPECT_GT(steps - accepted, steps / 5);
  std::printf("differential: %llu steps, %llu accepted\n", static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(accepted));
}

}  // namespace
}  // namespace wirespeed::dataplane::replay
