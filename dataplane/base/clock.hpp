// The one clock both processes share: CLOCK_MONOTONIC in nanoseconds. Shared
// memory timestamps (keypair birth, last packet, heartbeat) are in this base,
// so the control plane can compare them with its own now(). Read through the
// vDSO: no system call. The data path reads it once per burst.
#pragma once

#include <cstdint>
#include <ctime>

namespace wirespeed {

inline uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace wirespeed
