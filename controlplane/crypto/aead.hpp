// The two AEADs of WireGuard, through libsodium:
//   ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits then a
//   64-bit little-endian counter (whitepaper §5.4 "AEAD");
//   XChaCha20-Poly1305 with a 24-byte nonce, for cookie replies.
// The control plane seals handshake fields with these; they are also the
// reference seal/open the dataplane's IPsec-MB data path is tested against.
//
// Output layouts: seal writes ciphertext || 16-byte tag (out.size() must be
// plaintext.size() + kAeadTagLen); open takes that and writes the plaintext.
// In-place operation (out and in the same buffer) is allowed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "controlplane/crypto/secret.hpp"
#include "dataplane/base/result.hpp"

namespace wirespeed::controlplane::crypto {

inline constexpr size_t kAeadKeyLen = 32;
inline constexpr size_t kAeadTagLen = 16;
inline constexpr size_t kChachaNonceLen = 12;   // IETF nonce
inline constexpr size_t kXChachaNonceLen = 24;

// The 12-byte IETF nonce WireGuard builds from a counter: 4 zero bytes, then
// the counter little-endian.
std::array<uint8_t, kChachaNonceLen> wireguard_nonce(uint64_t counter) noexcept;

// ChaCha20-Poly1305 with an explicit 12-byte nonce (for the RFC 8439 vectors).
Result<void> chacha20poly1305_seal_ietf(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                                        std::span<const uint8_t> ad,
                                        std::span<const uint8_t, kChachaNonceLen> nonce,
                                        std::span<const uint8_t, kAeadKeyLen> key) noexcept;
Result<void> chacha20poly1305_open_ietf(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                        std::span<const uint8_t> ad,
                                        std::span<const uint8_t, kChachaNonceLen> nonce,
                                        std::span<const uint8_t, kAeadKeyLen> key) noexcept;

// WireGuard form: nonce from `counter`.
Result<void> chacha20poly1305_seal(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                                   std::span<const uint8_t> ad, uint64_t counter,
                                   std::span<const uint8_t, kAeadKeyLen> key) noexcept;
Result<void> chacha20poly1305_open(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                   std::span<const uint8_t> ad, uint64_t counter,
                                   std::span<const uint8_t, kAeadKeyLen> key) noexcept;

Result<void> xchacha20poly1305_seal(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> ad,
                                    std::span<const uint8_t, kXChachaNonceLen> nonce,
                                    std::span<const uint8_t, kAeadKeyLen> key) noexcept;
Result<void> xchacha20poly1305_open(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                    std::span<const uint8_t> ad,
                                    std::span<const uint8_t, kXChachaNonceLen> nonce,
                                    std::span<const uint8_t, kAeadKeyLen> key) noexcept;

// Initialise libsodium once per process (idempotent, thread-safe). Every
// crypto entry point calls it; exposed for main() to fail early.
Result<void> init_sodium() noexcept;

}  // namespace wirespeed::controlplane::crypto
