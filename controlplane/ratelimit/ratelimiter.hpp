// Handshake flood control, after the kernel's ratelimiter.c and the
// "under load" test in receive.c: a token bucket per source address for
// cookie-less initiations, and the decision whether the handshake queue is
// deep enough that initiations must first prove their address with a cookie.
//
// Owned by the control plane, which receives every handshake message from the
// dataplane's punt ring; its main thread calls both classes (not
// thread-safe). Time is injected: callers pass the monotonic now they read
// once per batch (a fake clock in tests).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "dataplane/base/result.hpp"
#include "dataplane/wire/constants.hpp"

namespace wirespeed::controlplane::ratelimit {

using dataplane::wire::Nanos;

// Token bucket per source: kPacketsPerSecondPerSource sustained with bursts of
// kPacketsBurstPerSource. IPv4 sources are told apart by full address, IPv6
// by their /64, because one host commonly owns a whole /64.
class RateLimiter {
 public:
  // Tokens are counted in nanoseconds of credit, as the kernel does: one
  // packet costs kPacketCost, the bucket holds at most kTokenMax.
  static constexpr Nanos kPacketCost =
      dataplane::wire::kNanosPerSecond / dataplane::wire::kPacketsPerSecondPerSource;
  static constexpr Nanos kTokenMax = kPacketCost * dataplane::wire::kPacketsBurstPerSource;
  // A source idle this long is forgotten. Safe because after kTokenMax of
  // idleness a bucket is full, which is exactly a fresh bucket.
  static constexpr Nanos kIdleTimeout = dataplane::wire::kNanosPerSecond;
  static_assert(kIdleTimeout >= kTokenMax, "forgetting a source must not refill it early");
  // allow() sweeps idle sources at most this often.
  static constexpr Nanos kGcInterval = dataplane::wire::kNanosPerSecond;
  // Default cap on tracked sources, bounding memory under a spoofed flood.
  static constexpr size_t kMaxEntries = size_t{1} << 16;

  using HashKey = std::array<uint64_t, 2>;

  // A limiter whose table hash is keyed from getrandom(2), so that spoofed
  // sources cannot be chosen to collide. kSystem when getrandom fails.
  static Result<RateLimiter> create(size_t max_entries = kMaxEntries);

  // A limiter with a given hash key (tests).
  explicit RateLimiter(HashKey hash_key, size_t max_entries = kMaxEntries);

  RateLimiter(RateLimiter&&) = default;
  RateLimiter& operator=(RateLimiter&&) = default;
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // Whether one more packet from `addr` (network byte order, len 4 or 16) may
  // be processed at `now`; takes a token when it may. Refuses when len is
  // neither 4 nor 16, and refuses new sources while max_entries are tracked
  // (as the kernel does: under a flood, unknown sources wait for GC).
  // Sweeps idle sources when kGcInterval has passed since the last sweep.
  bool allow(const uint8_t* addr, size_t len, Nanos now);

  // Forgets sources idle for more than kIdleTimeout; returns how many.
  size_t gc(Nanos now);

  // Sources tracked.
  size_t size() const noexcept { return entries_.size(); }

 private:
  struct Key {
    uint64_t bits;   // IPv4 address, or the IPv6 /64, in host order
    uint8_t family;  // 4 or 6
    friend bool operator==(const Key&, const Key&) = default;
  };
  struct KeyHash {
    HashKey key;
    size_t operator()(const Key& k) const noexcept;
  };
  struct Bucket {
    Nanos last_time;
    Nanos tokens;
  };

  size_t max_entries_;
  Nanos last_gc_ = 0;
  std::unordered_map<Key, Bucket, KeyHash> entries_;
};

// Whether the control plane is under load, as receive.c decides it: the
// handshake queue is at least 1/8 full, or was within the last second. Under
// load, initiations without a valid mac2 get a cookie reply instead of work.
class UnderLoad {
 public:
  static constexpr Nanos kHold = dataplane::wire::kNanosPerSecond;

  // Called once per batch of handshake messages with the queue depth seen.
  // A queue with capacity < 8 counts as loaded from one queued message, so
  // that an empty queue is never load.
  bool update(size_t queued_handshakes, size_t queue_capacity, Nanos now);

 private:
  std::optional<Nanos> last_under_load_;  // nullopt: never under load
};

}  // namespace wirespeed::controlplane::ratelimit
