// BLAKE2s as WireGuard uses it (whitepaper §5.4 "HASH", "MAC", "HMAC", "KDF"):
//   hash  — BLAKE2s-256, unkeyed
//   mac   — keyed BLAKE2s with a 128-bit output (RFC 7693 keyed mode)
//   hmac  — HMAC (RFC 2104) over BLAKE2s-256, block 64 bytes
//   kdf1/2/3 — HKDF-style chain: T0 = HMAC(ck, input); Ti = HMAC(T0, T(i-1) || i)
// Backed by libb2 (libsodium has only BLAKE2b). Control plane only: the data
// path never hashes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>

#include "controlplane/crypto/secret.hpp"

namespace wirespeed::controlplane::crypto {

inline constexpr size_t kHashLen = 32;
inline constexpr size_t kMac128Len = 16;
inline constexpr size_t kBlake2sBlockLen = 64;
inline constexpr size_t kBlake2sMaxKeyLen = 32;

using Hash = std::array<uint8_t, kHashLen>;
using Key = Secret<32>;

// BLAKE2s-256 of the concatenation of `parts`.
Hash hash(std::initializer_list<std::span<const uint8_t>> parts) noexcept;

// BLAKE2s with any output length 1..32 and optional key (0..32 bytes); the
// general form hash() and mac() are made of. Returns false on bad lengths.
bool blake2s(std::span<uint8_t> out, std::span<const uint8_t> key,
             std::initializer_list<std::span<const uint8_t>> parts) noexcept;

// Keyed BLAKE2s-128: MAC(key, data). Precondition: key is 1..32 bytes
// (WireGuard uses 32 for the mac1 key and 16 for a cookie).
void mac(std::span<uint8_t, kMac128Len> out, std::span<const uint8_t> key,
         std::span<const uint8_t> data) noexcept;

// HMAC-BLAKE2s-256. Any key length (longer than a block is hashed first, as
// RFC 2104 says; WireGuard uses 32).
void hmac(std::span<uint8_t, kHashLen> out, std::span<const uint8_t> key,
          std::span<const uint8_t> data) noexcept;

// KDF_n(chaining_key, input) from the whitepaper. Outputs are secrets and may
// alias chaining_key (Noise's "ck = KDF(ck, ...)"): T0 is computed from it
// before any output is written.
void kdf1(Key& t1, std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input) noexcept;
void kdf2(Key& t1, Key& t2, std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input) noexcept;
void kdf3(Key& t1, Key& t2, Key& t3, std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input) noexcept;

}  // namespace wirespeed::controlplane::crypto
