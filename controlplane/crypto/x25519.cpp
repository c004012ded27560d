// X25519 over libsodium (controlplane/crypto/x25519.hpp). Control plane.
#include "controlplane/crypto/x25519.hpp"

#include "controlplane/crypto/aead.hpp"

namespace wirespeed::controlplane::crypto {

void clamp(PrivateKey& key) noexcept {
  uint8_t* k = key.data();
  k[0] &= 248;
  k[31] = static_cast<uint8_t>((k[31] & 127) | 64);
}

PrivateKey generate_private_key() noexcept {
  (void)init_sodium();
  PrivateKey key;
  randombytes_buf(key.data(), key.size());
  clamp(key);
  return key;
}

PublicKey public_key(const PrivateKey& key) noexcept {
  (void)init_sodium();
  PublicKey pub;
  crypto_scalarmult_curve25519_base(pub.data(), key.data());
  return pub;
}

Result<SharedSecret> dh(const PrivateKey& private_key,
                        std::span<const uint8_t, kX25519KeyLen> public_key) noexcept {
  (void)init_sodium();
  SharedSecret shared;
  // libsodium returns -1 when the output is all zero (low-order point); that
  // is exactly the contributory check WireGuard requires.
  if (crypto_scalarmult_curve25519(shared.data(), private_key.data(), public_key.data()) != 0) {
    return make_error(Errc::kBadKey, "x25519: low-order public key");
  }
  return shared;
}

}  // namespace wirespeed::controlplane::crypto
