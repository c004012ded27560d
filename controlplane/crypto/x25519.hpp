// X25519 (RFC 7748) through libsodium: key generation, public-key derivation
// and Diffie-Hellman. Control plane only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "controlplane/crypto/secret.hpp"
#include "dataplane/base/result.hpp"

namespace wirespeed::controlplane::crypto {

inline constexpr size_t kX25519KeyLen = 32;

using PublicKey = std::array<uint8_t, kX25519KeyLen>;
using PrivateKey = Secret<kX25519KeyLen>;
using SharedSecret = Secret<kX25519KeyLen>;

// Clamp a private scalar as RFC 7748 §5 and `wg genkey` do.
void clamp(PrivateKey& key) noexcept;

// A fresh random private key, clamped.
PrivateKey generate_private_key() noexcept;

// The public key of `key` (X25519 of the base point).
PublicKey public_key(const PrivateKey& key) noexcept;

// X25519(private, public). Fails with kBadKey when the result is the all-zero
// point (a low-order public key), which WireGuard must reject.
Result<SharedSecret> dh(const PrivateKey& private_key, std::span<const uint8_t, kX25519KeyLen> public_key) noexcept;

}  // namespace wirespeed::controlplane::crypto
