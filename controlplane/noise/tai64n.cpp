// TAI64N timestamps (controlplane/noise/tai64n.hpp). Control plane.
#include "controlplane/noise/tai64n.hpp"

#include <cstring>
#include <ctime>

namespace wirespeed::controlplane::noise {

Tai64n tai64n_from_unix(uint64_t unix_seconds, uint32_t nanoseconds) noexcept {
  Tai64n t;
  const uint64_t secs = kTai64Base + unix_seconds;
  const uint32_t nanos = nanoseconds & ~kTai64nWhitenerMask;
  for (int i = 0; i < 8; ++i) t[i] = static_cast<uint8_t>(secs >> (56 - 8 * i));
  for (int i = 0; i < 4; ++i) t[8 + i] = static_cast<uint8_t>(nanos >> (24 - 8 * i));
  return t;
}

Tai64n tai64n_now() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return tai64n_from_unix(static_cast<uint64_t>(ts.tv_sec), static_cast<uint32_t>(ts.tv_nsec));
}

bool tai64n_after(const Tai64n& a, const Tai64n& b) noexcept {
  return std::memcmp(a.data(), b.data(), kTai64nLen) > 0;
}

uint64_t tai64n_unix_seconds(const Tai64n& t) noexcept {
  uint64_t secs = 0;
  for (int i = 0; i < 8; ++i) secs = (secs << 8) | t[i];
  return secs - kTai64Base;
}

uint32_t tai64n_nanoseconds(const Tai64n& t) noexcept {
  uint32_t nanos = 0;
  for (int i = 8; i < 12; ++i) nanos = (nanos << 8) | t[i];
  return nanos;
}

}  // namespace wirespeed::controlplane::noise
