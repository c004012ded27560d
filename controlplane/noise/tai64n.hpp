// TAI64N timestamps as WireGuard puts them in handshake initiations
// (whitepaper §5.4.2): 8 bytes big-endian seconds (2^62 + 10 + Unix seconds,
// the TAI label as wireguard-go and the kernel write it) then 4 bytes
// big-endian nanoseconds. Big-endian makes "newer" a plain byte comparison,
// which is how a responder rejects replayed initiations.
//
// Nanoseconds are rounded down to a multiple of 2^24 (≈16.8 ms), as the kernel
// and wireguard-go do, so the timestamp does not leak a fine-grained clock.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace wirespeed::controlplane::noise {

inline constexpr size_t kTai64nLen = 12;
using Tai64n = std::array<uint8_t, kTai64nLen>;

inline constexpr uint64_t kTai64Base = 0x400000000000000aULL;  // 2^62 + 10
inline constexpr uint32_t kTai64nWhitenerMask = (1U << 24) - 1;

// A whitened timestamp for a wall-clock time.
Tai64n tai64n_from_unix(uint64_t unix_seconds, uint32_t nanoseconds) noexcept;

// A whitened timestamp of CLOCK_REALTIME now.
Tai64n tai64n_now() noexcept;

// True when a is strictly later than b.
bool tai64n_after(const Tai64n& a, const Tai64n& b) noexcept;

// The Unix seconds and nanoseconds a timestamp encodes.
uint64_t tai64n_unix_seconds(const Tai64n& t) noexcept;
uint32_t tai64n_nanoseconds(const Tai64n& t) noexcept;

}  // namespace wirespeed::controlplane::noise
