// The protocol's limits on a keypair as the data path applies them
// (design-brief §2 "Keypairs"; kernel receive.c/send.c): a keypair is not used
// at or past REJECT_AFTER_TIME from its birth or REJECT_AFTER_MESSAGES.
#pragma once

#include <cstdint>

#include "dataplane/shm/abi.hpp"
#include "dataplane/wire/constants.hpp"

namespace wirespeed::dataplane::pipeline {

// `now_ns` may be a little older than the birth (it is read once per burst,
// and the main lcore installs keys between reads): never subtract.
inline bool keypair_expired(const shm::KeypairSlot& kp, uint64_t now_ns) noexcept {
  return now_ns >= kp.birth_ns + wire::kRejectAfterTime;
}

inline uint32_t load_le32(const uint8_t* p) noexcept {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline uint64_t load_le64(const uint8_t* p) noexcept {
  return static_cast<uint64_t>(load_le32(p)) | static_cast<uint64_t>(load_le32(p + 4)) << 32;
}

inline void store_le32(uint8_t* p, uint32_t v) noexcept {
  for (unsigned i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

inline void store_le64(uint8_t* p, uint64_t v) noexcept {
  for (unsigned i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

}  // namespace wirespeed::dataplane::pipeline
