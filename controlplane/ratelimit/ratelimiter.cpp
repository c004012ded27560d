// Handshake flood control (see ratelimiter.hpp). Control plane, main thread.
#include "controlplane/ratelimit/ratelimiter.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>

namespace wirespeed::controlplane::ratelimit {

namespace {

uint64_t rotl(uint64_t x, int b) noexcept { return (x << b) | (x >> (64 - b)); }

// The SipRound laid out as in the paper.
// clang-format off
void sip_round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) noexcept {
  v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
  v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
}
// clang-format on

// SipHash-2-4 of a 16-byte message given as two little-endian words (the
// kernel keys its table with siphash too). Attackers choose spoofed source
// addresses freely; an unkeyed hash would let them pile every entry into one
// bucket and make each lookup a scan of the table.
uint64_t siphash_2x64(const std::array<uint64_t, 2>& k, uint64_t m0, uint64_t m1) noexcept {
  uint64_t v0 = k[0] ^ 0x736f6d6570736575ULL;
  uint64_t v1 = k[1] ^ 0x646f72616e646f6dULL;
  uint64_t v2 = k[0] ^ 0x6c7967656e657261ULL;
  uint64_t v3 = k[1] ^ 0x7465646279746573ULL;
  const uint64_t b = uint64_t{16} << 56;  // message length in the last block
  for (uint64_t m : {m0, m1, b}) {
    v3 ^= m;
    sip_round(v0, v1, v2, v3);
    sip_round(v0, v1, v2, v3);
    v0 ^= m;
  }
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) sip_round(v0, v1, v2, v3);
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t load_be(const uint8_t* p, size_t n) noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

size_t RateLimiter::KeyHash::operator()(const Key& k) const noexcept {
  return static_cast<size_t>(siphash_2x64(key, k.bits, k.family));
}

Result<RateLimiter> RateLimiter::create(size_t max_entries) {
  HashKey key{};
  if (getrandom(key.data(), sizeof(key), 0) != static_cast<ssize_t>(sizeof(key))) {
    return make_error(Errc::kSystem, "ratelimiter: getrandom for hash key", errno);
  }
  return RateLimiter(key, max_entries);
}

RateLimiter::RateLimiter(HashKey hash_key, size_t max_entries)
    : max_entries_(max_entries), entries_(0, KeyHash{hash_key}) {}

bool RateLimiter::allow(const uint8_t* addr, size_t len, Nanos now) {
  if (addr == nullptr || (len != 4 && len != 16)) return false;
  if (now < last_gc_ || now - last_gc_ >= kGcInterval) {
    gc(now);
    last_gc_ = now;
  }
  // IPv6: only the /64 counts, so one host cannot dodge the limit by walking
  // its interface identifier.
  const Key key{load_be(addr, len == 4 ? 4 : 8), static_cast<uint8_t>(len == 4 ? 4 : 6)};

  const auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_entries_) return false;
    // A new source starts with a full bucket, less this packet.
    entries_.emplace(key, Bucket{now, kTokenMax - kPacketCost});
    return true;
  }
  Bucket& bucket = it->second;
  // A clock that steps back earns nothing rather than wrapping to a refill.
  const Nanos elapsed = now > bucket.last_time ? now - bucket.last_time : 0;
  bucket.tokens = std::min(kTokenMax, bucket.tokens + std::min(elapsed, kTokenMax));
  bucket.last_time = std::max(bucket.last_time, now);
  if (bucket.tokens < kPacketCost) return false;
  bucket.tokens -= kPacketCost;
  return true;
}

size_t RateLimiter::gc(Nanos now) {
  return std::erase_if(entries_, [now](const auto& kv) {
    return now > kv.second.last_time && now - kv.second.last_time > kIdleTimeout;
  });
}

bool UnderLoad::update(size_t queued_handshakes, size_t queue_capacity, Nanos now) {
  const size_t threshold = std::max<size_t>(queue_capacity / 8, 1);
  if (queued_handshakes >= threshold) {
    last_under_load_ = now;
    return true;
  }
  // Load lingers for kHold: a queue that just drained is likely to refill.
  return last_under_load_.has_value() && now < *last_under_load_ + kHold;
}

}  // namespace wirespeed::controlplane::ratelimit
