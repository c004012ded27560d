// Receive-side replay window for one keypair's data messages.
//
// The algorithm is the Linux kernel's counter_validate()
// (drivers/net/wireguard/receive.c, RFC 6479 "replay detection without bit
// shifting"), also used by wireguard-go (replay/replay.go): a ring of
// kCounterBitsTotal bits kept as 64-bit words. A counter that moves the
// window forward clears only the words it skips. One word of the ring is
// slack -- the word being recycled -- which is why kCounterWindowSize is 8128
// and not 8192.
//
// Like the kernel, the window works on counter + 1 internally, so that the
// zero-initialised state means "nothing received" and counter 0 is accepted
// exactly once.
//
// Runs on the dataplane worker lcore that owns the keypair's receive side,
// per packet: header-only and inline, no allocation, no locks. Not
// thread-safe: the owner serialises check()/update() for one window
// (design brief §2: decryption may be spread over lcores, but the window is
// updated in one place, after authentication). The cost per packet is O(1)
// amortised: a forward jump clears at most kWords words, once.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dataplane/wire/constants.hpp"

namespace wirespeed::dataplane::replay {

class alignas(64) ReplayWindow {
 public:
  static constexpr unsigned kBitsPerWord = 64;
  static constexpr unsigned kWordShift = 6;  // log2(kBitsPerWord)
  static constexpr unsigned kWords = wire::kCounterBitsTotal / kBitsPerWord;
  static constexpr uint64_t kWindowSize = wire::kCounterWindowSize;
  static constexpr uint64_t kRejectAfterMessages = wire::kRejectAfterMessages;

  static_assert(wire::kCounterBitsTotal % kBitsPerWord == 0, "whole words");
  static_assert((kWords & (kWords - 1)) == 0, "ring index is masked, so a power of two");
  static_assert((1u << kWordShift) == kBitsPerWord);
  static_assert(wire::kCounterRedundantBits == kBitsPerWord,
                "exactly one slack word: the window must never reach the word being recycled");
  static_assert(kWindowSize == wire::kCounterBitsTotal - kBitsPerWord);
  // counter + 1 + kWindowSize must not wrap for any counter we accept.
  static_assert(kRejectAfterMessages < ~0ULL - kWindowSize - 1);

  ReplayWindow() noexcept = default;

  // Read-only early test, before decryption: false if `counter` is at or
  // beyond kRejectAfterMessages, older than the window, or already seen.
  // True only means "worth decrypting"; update() has the final word.
  bool check(uint64_t counter) const noexcept {
    if (counter >= kRejectAfterMessages) [[unlikely]]
      return false;
    const uint64_t shifted = counter + 1;
    if (shifted + kWindowSize < next_) return false;  // too old
    if (shifted > next_) return true;                 // ahead of everything seen
    return (bitmap_[word_index(shifted)] & bit_mask(shifted)) == 0;
  }

  // After the packet authenticated: test-and-set the counter's bit, sliding
  // the window forward when the counter is the newest yet. Returns false if
  // the counter is too old, already seen (e.g. a duplicate that raced past
  // check() while the first copy was being decrypted) or beyond
  // kRejectAfterMessages; the window is then unchanged.
  bool update(uint64_t counter) noexcept {
    if (counter >= kRejectAfterMessages) [[unlikely]]
      return false;
    const uint64_t shifted = counter + 1;
    if (shifted + kWindowSize < next_) return false;
    if (shifted > next_) {
      // Clear the words between the current top and the new one; a jump of
      // a whole ring or more clears them all (the cap bounds the loop).
      const uint64_t index_current = next_ >> kWordShift;
      const uint64_t index_new = shifted >> kWordShift;
      uint64_t skip = index_new - index_current;
      if (skip > kWords) skip = kWords;
      for (uint64_t i = 1; i <= skip; ++i) bitmap_[(index_current + i) & (kWords - 1)] = 0;
      next_ = shifted;
    }
    uint64_t& word = bitmap_[word_index(shifted)];
    const uint64_t bit = bit_mask(shifted);
    const bool fresh = (word & bit) == 0;
    word |= bit;
    return fresh;
  }

  // Forget everything: the state of a new keypair.
  void reset() noexcept {
    next_ = 0;
    bitmap_.fill(0);
  }

  // One more than the greatest counter accepted so far; 0 when none has
  // been. (The kernel's counter->counter: usable directly as "messages
  // received" for the keypair's REJECT_AFTER_MESSAGES bookkeeping.)
  uint64_t greatest() const noexcept { return next_; }

 private:
  static constexpr size_t word_index(uint64_t shifted) noexcept {
    return static_cast<size_t>((shifted >> kWordShift) & (kWords - 1));
  }
  static constexpr uint64_t bit_mask(uint64_t shifted) noexcept {
    return 1ULL << (shifted & (kBitsPerWord - 1));
  }

  // The ring first: it is what every packet indexes; next_ shares the last
  // cache line with nothing else of ours.
  std::array<uint64_t, kWords> bitmap_{};
  uint64_t next_ = 0;  // greatest accepted counter + 1
};

static_assert(ReplayWindow::kWords == 128);
static_assert(sizeof(ReplayWindow) == 1024 + 64, "ring of 16 cache lines plus one for next_");
static_assert(alignof(ReplayWindow) == 64);

}  // namespace wirespeed::dataplane::replay
