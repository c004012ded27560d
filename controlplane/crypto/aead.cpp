// ChaCha20-Poly1305 and XChaCha20-Poly1305 over libsodium
// (controlplane/crypto/aead.hpp). Control plane; reference for the dataplane.
#include "controlplane/crypto/aead.hpp"

#include <mutex>

namespace wirespeed::controlplane::crypto {

Result<void> init_sodium() noexcept {
  // sodium_init is itself idempotent and thread-safe; the once-flag only
  // saves the call on the handshake path.
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = sodium_init(); });
  if (rc < 0) return make_error(Errc::kSystem, "libsodium initialisation failed");
  return ok_result();
}

std::array<uint8_t, kChachaNonceLen> wireguard_nonce(uint64_t counter) noexcept {
  std::array<uint8_t, kChachaNonceLen> nonce{};
  for (size_t i = 0; i < 8; ++i) nonce[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
  return nonce;
}

namespace {

// libsodium's IETF ChaCha20-Poly1305 and XChaCha20-Poly1305 share one
// signature (passing either function checks that); only the nonce length
// differs, and the callers' spans fix it.
using EncryptFn = int (*)(unsigned char* c, unsigned long long* clen, const unsigned char* m,
                          unsigned long long mlen, const unsigned char* ad,
                          unsigned long long adlen, const unsigned char* nsec,
                          const unsigned char* npub, const unsigned char* k);
using DecryptFn = int (*)(unsigned char* m, unsigned long long* mlen, unsigned char* nsec,
                          const unsigned char* c, unsigned long long clen, const unsigned char* ad,
                          unsigned long long adlen, const unsigned char* npub,
                          const unsigned char* k);

Result<void> seal(EncryptFn encrypt, std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                  std::span<const uint8_t> ad, const uint8_t* nonce,
                  std::span<const uint8_t, kAeadKeyLen> key, const char* context) noexcept {
  if (out.size() != plaintext.size() + kAeadTagLen) return make_error(Errc::kBadLength, context);
  (void)init_sodium();
  unsigned long long out_len = 0;
  encrypt(out.data(), &out_len, plaintext.data(), plaintext.size(), ad.data(), ad.size(), nullptr,
          nonce, key.data());
  return ok_result();
}

Result<void> open(DecryptFn decrypt, std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                  std::span<const uint8_t> ad, const uint8_t* nonce,
                  std::span<const uint8_t, kAeadKeyLen> key, const char* context) noexcept {
  if (ciphertext.size() < kAeadTagLen || out.size() != ciphertext.size() - kAeadTagLen) {
    return make_error(Errc::kBadLength, context);
  }
  (void)init_sodium();
  unsigned long long out_len = 0;
  if (decrypt(out.data(), &out_len, nullptr, ciphertext.data(), ciphertext.size(), ad.data(),
              ad.size(), nonce, key.data()) != 0) {
    return make_error(Errc::kDecryptFailed, context);
  }
  return ok_result();
}

}  // namespace

Result<void> chacha20poly1305_seal_ietf(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                                        std::span<const uint8_t> ad,
                                        std::span<const uint8_t, kChachaNonceLen> nonce,
                                        std::span<const uint8_t, kAeadKeyLen> key) noexcept {
  return seal(crypto_aead_chacha20poly1305_ietf_encrypt, out, plaintext, ad, nonce.data(), key,
              "chacha20poly1305 seal: output size");
}

Result<void> chacha20poly1305_open_ietf(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                        std::span<const uint8_t> ad,
                                        std::span<const uint8_t, kChachaNonceLen> nonce,
                                        std::span<const uint8_t, kAeadKeyLen> key) noexcept {
  return open(crypto_aead_chacha20poly1305_ietf_decrypt, out, ciphertext, ad, nonce.data(), key,
              "chacha20poly1305 open");
}

Result<void> chacha20poly1305_seal(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                                   std::span<const uint8_t> ad, uint64_t counter,
                                   std::span<const uint8_t, kAeadKeyLen> key) noexcept {
  const auto nonce = wireguard_nonce(counter);
  return chacha20poly1305_seal_ietf(out, plaintext, ad, nonce, key);
}

Result<void> chacha20poly1305_open(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                   std::span<const uint8_t> ad, uint64_t counter,
                                   std::span<const uint8_t, kAeadKeyLen> key) noexcept {
  const auto nonce = wireguard_nonce(counter);
  return chacha20poly1305_open_ietf(out, ciphertext, ad, nonce, key);
}

Result<void> xchacha20poly1305_seal(std::span<uint8_t> out, std::span<const uint8_t> plaintext,
                                    std::span<const uint8_t> ad,
                                    std::span<const uint8_t, kXChachaNonceLen> nonce,
                                    std::span<const uint8_t, kAeadKeyLen> key) noexcept {
  return seal(crypto_aead_xchacha20poly1305_ietf_encrypt, out, plaintext, ad, nonce.data(), key,
              "xchacha20poly1305 seal: output size");
}

Result<void> xchacha20poly1305_open(std::span<uint8_t> out, std::span<const uint8_t> ciphertext,
                                    std::span<const uint8_t> ad,
                                    std::span<const uint8_t, kXChachaNonceLen> nonce,
                                    std::span<const uint8_t, kAeadKeyLen> key) noexcept {
  return open(crypto_aead_xchacha20poly1305_ietf_decrypt, out, ciphertext, ad, nonce.data(), key,
              "xchacha20poly1305 open");
}

}  // namespace wirespeed::controlplane::crypto
