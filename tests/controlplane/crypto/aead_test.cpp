// Known-answer and misuse tests for the AEADs (controlplane/crypto/aead.hpp).
//
// Sources, each re-checked with Python's `cryptography` package
// (ChaCha20Poly1305(key).encrypt/decrypt):
//   * RFC 8439 §2.8.2: the AEAD_CHACHA20_POLY1305 example ("Ladies and
//     Gentlemen of the class of '99...").
//   * RFC 8439 Appendix A.5: the decryption vector (265-byte ciphertext).
//   * draft-irtf-cfrg-xchacha-03 Appendix A.3.1: AEAD_XChaCha20_Poly1305.
//     Python's `cryptography` has no XChaCha, so the check derived the
//     subkey with a small pure-Python HChaCha20 (draft §2.2) and sealed with
//     ChaCha20Poly1305(subkey) and nonce 00000000 || IV[16..24].
// WireGuard's nonce layout (whitepaper §5.4.6): 32 zero bits, then the
// 64-bit counter little-endian.
#include "controlplane/crypto/aead.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/hex.hpp"

namespace wirespeed::controlplane::crypto {
namespace {

using test::from_hex;
using test::to_hex;

// The error code of a result, or kOk: safe to compare even when the call
// unexpectedly succeeded.
template <typename T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::kOk : r.error().code;
}

std::vector<uint8_t> bytes_of(std::string_view s) {
  return {s.begin(), s.end()};
}

template <size_t N>
std::array<uint8_t, N> array_of(const std::vector<uint8_t>& v) {
  std::array<uint8_t, N> a{};
  EXPECT_EQ(v.size(), N);
  std::memcpy(a.data(), v.data(), std::min(N, v.size()));
  return a;
}

template <size_t N>
std::array<uint8_t, N> sequence(uint8_t first) {
  std::array<uint8_t, N> a{};
  for (size_t i = 0; i < N; ++i) a[i] = static_cast<uint8_t>(first + i);
  return a;
}

// ------------------------------------------------ RFC 8439 §2.8.2

const std::string_view kSunscreen =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
    "sunscreen would be it.";
const char* const kSunscreenAd = "50515253c0c1c2c3c4c5c6c7";
const char* const k8439Ciphertext =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116";
const char* const k8439Tag = "1ae10b594f09e26a7e902ecbd0600691";
// Nonce: the 32-bit "fixed-common part" 07 00 00 00, then the IV 40..47.
const char* const k8439Nonce = "070000004041424344454647";

const std::array<uint8_t, kAeadKeyLen> kKey80 = sequence<kAeadKeyLen>(0x80);

TEST(ChaCha20Poly1305, Rfc8439Section282Seal) {
  const auto pt = bytes_of(kSunscreen);
  ASSERT_EQ(pt.size(), 114u);
  const auto ad = from_hex(kSunscreenAd);
  const auto nonce = array_of<kChachaNonceLen>(from_hex(k8439Nonce));
  std::vector<uint8_t> out(pt.size() + kAeadTagLen);
  ASSERT_TRUE(chacha20poly1305_seal_ietf(out, pt, ad, nonce, kKey80).ok());
  EXPECT_EQ(to_hex(out), std::string(k8439Ciphertext) + k8439Tag);
}

TEST(ChaCha20Poly1305, Rfc8439Section282Open) {
  const auto sealed = from_hex(std::string(k8439Ciphertext) + k8439Tag);
  const auto ad = from_hex(kSunscreenAd);
  const auto nonce = array_of<kChachaNonceLen>(from_hex(k8439Nonce));
  std::vector<uint8_t> out(sealed.size() - kAeadTagLen);
  ASSERT_TRUE(chacha20poly1305_open_ietf(out, sealed, ad, nonce, kKey80).ok());
  EXPECT_EQ(out, bytes_of(kSunscreen));
}

// ------------------------------------------------ RFC 8439 Appendix A.5

TEST(ChaCha20Poly1305, Rfc8439AppendixA5Decryption) {
  const auto key = array_of<kAeadKeyLen>(
      from_hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"));
  const auto ciphertext = from_hex(
      "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
      "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
      "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
      "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
      "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
      "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
      "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
      "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
      "a6ad5cb4022b02709b");
  ASSERT_EQ(ciphertext.size(), 265u);
  const auto tag = from_hex("eead9d67890cbb22392336fea1851f38");
  const auto nonce = array_of<kChachaNonceLen>(from_hex("000000000102030405060708"));
  const auto ad = from_hex("f33388860000000000004e91");
  // The RFC's plaintext, with its UTF-8 curly quotes.
  const std::string_view expected =
      "Internet-Drafts are draft documents valid for a maximum of six months and may be "
      "updated, replaced, or obsoleted by other documents at any time. It is inappropriate to "
      "use Internet-Drafts as reference material or to cite them other than as "
      "/\xe2\x80\x9cwork in progress./\xe2\x80\x9d";

  std::vector<uint8_t> sealed(ciphertext);
  sealed.insert(sealed.end(), tag.begin(), tag.end());
  std::vector<uint8_t> out(ciphertext.size());
  ASSERT_TRUE(chacha20poly1305_open_ietf(out, sealed, ad, nonce, key).ok());
  EXPECT_EQ(out, bytes_of(expected));

  // And sealing the plaintext gives the RFC's ciphertext and tag back.
  std::vector<uint8_t> resealed(out.size() + kAeadTagLen);
  ASSERT_TRUE(chacha20poly1305_seal_ietf(resealed, out, ad, nonce, key).ok());
  EXPECT_EQ(resealed, sealed);
}

// ------------------------------------------------ WireGuard nonce

TEST(ChaCha20Poly1305, WireGuardNonceLayout) {
  EXPECT_EQ(to_hex(wireguard_nonce(0)), "000000000000000000000000");
  EXPECT_EQ(to_hex(wireguard_nonce(1)), "000000000100000000000000");
  EXPECT_EQ(to_hex(wireguard_nonce(0x0102030405060708ULL)), "000000000807060504030201");
  EXPECT_EQ(to_hex(wireguard_nonce(~0ULL)), "00000000ffffffffffffffff");
}

TEST(ChaCha20Poly1305, CounterFormEqualsIetfFormWithWireGuardNonce) {
  const auto pt = bytes_of(kSunscreen);
  const auto ad = from_hex(kSunscreenAd);
  for (uint64_t counter :
       {uint64_t{0}, uint64_t{1}, uint64_t{0x0102030405060708ULL}, ~uint64_t{0}}) {
    std::vector<uint8_t> a(pt.size() + kAeadTagLen), b(pt.size() + kAeadTagLen);
    ASSERT_TRUE(chacha20poly1305_seal(a, pt, ad, counter, kKey80).ok());
    const auto nonce = wireguard_nonce(counter);
    ASSERT_TRUE(chacha20poly1305_seal_ietf(b, pt, ad, nonce, kKey80).ok());
    EXPECT_EQ(a, b) << "counter " << counter;

    std::vector<uint8_t> back(pt.size());
    ASSERT_TRUE(chacha20poly1305_open(back, a, ad, counter, kKey80).ok());
    EXPECT_EQ(back, pt);
    // The counter is the nonce: a neighbouring counter must not open it.
    EXPECT_EQ(code_of(chacha20poly1305_open(back, a, ad, counter ^ 1, kKey80)),
              Errc::kDecryptFailed);
  }
}

TEST(ChaCha20Poly1305, KeepaliveIsATagOnly) {
  // A keepalive's payload is empty: the sealed form is just the tag.
  std::array<uint8_t, kAeadTagLen> sealed{};
  ASSERT_TRUE(chacha20poly1305_seal(sealed, {}, {}, 7, kKey80).ok());
  std::array<uint8_t, 0> out{};
  EXPECT_TRUE(chacha20poly1305_open(out, sealed, {}, 7, kKey80).ok());
  sealed[0] ^= 1;
  EXPECT_EQ(code_of(chacha20poly1305_open(out, sealed, {}, 7, kKey80)), Errc::kDecryptFailed);
}

// ------------------------------------------------ XChaCha20-Poly1305

const char* const kXChachaCiphertext =
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e";
const char* const kXChachaTag = "c0875924c1c7987947deafd8780acf49";
const std::array<uint8_t, kXChachaNonceLen> kXNonce = sequence<kXChachaNonceLen>(0x40);

TEST(XChaCha20Poly1305, DraftAppendixA31Seal) {
  const auto pt = bytes_of(kSunscreen);
  const auto ad = from_hex(kSunscreenAd);
  std::vector<uint8_t> out(pt.size() + kAeadTagLen);
  ASSERT_TRUE(xchacha20poly1305_seal(out, pt, ad, kXNonce, kKey80).ok());
  EXPECT_EQ(to_hex(out), std::string(kXChachaCiphertext) + kXChachaTag);
}

TEST(XChaCha20Poly1305, DraftAppendixA31Open) {
  const auto sealed = from_hex(std::string(kXChachaCiphertext) + kXChachaTag);
  const auto ad = from_hex(kSunscreenAd);
  std::vector<uint8_t> out(sealed.size() - kAeadTagLen);
  ASSERT_TRUE(xchacha20poly1305_open(out, sealed, ad, kXNonce, kKey80).ok());
  EXPECT_EQ(out, bytes_of(kSunscreen));
}

// ------------------------------------------------ tampering

// Every single-bit flip of ciphertext, tag or AD must fail to open, with
// kDecryptFailed. `open` is one of the four open functions bound to the
// vector's nonce and key.
template <typename Open>
void expect_every_bit_flip_fails(const std::vector<uint8_t>& sealed, const std::vector<uint8_t>& ad,
                                 Open open) {
  std::vector<uint8_t> out(sealed.size() - kAeadTagLen);
  ASSERT_TRUE(open(out, sealed, ad).ok()) << "untampered input must open";
  for (size_t bit = 0; bit < sealed.size() * 8; ++bit) {
    std::vector<uint8_t> bad(sealed);
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto r = open(out, bad, ad);
    ASSERT_FALSE(r.ok()) << "ciphertext/tag bit " << bit;
    EXPECT_EQ(r.error().code, Errc::kDecryptFailed) << "ciphertext/tag bit " << bit;
  }
  for (size_t bit = 0; bit < ad.size() * 8; ++bit) {
    std::vector<uint8_t> bad_ad(ad);
    bad_ad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto r = open(out, sealed, bad_ad);
    ASSERT_FALSE(r.ok()) << "ad bit " << bit;
    EXPECT_EQ(r.error().code, Errc::kDecryptFailed) << "ad bit " << bit;
  }
  // Dropping or adding AD bytes also fails.
  std::vector<uint8_t> short_ad(ad.begin(), ad.end() - 1);
  EXPECT_FALSE(open(out, sealed, short_ad).ok());
  std::vector<uint8_t> long_ad(ad);
  long_ad.push_back(0);
  EXPECT_FALSE(open(out, sealed, long_ad).ok());
}

TEST(ChaCha20Poly1305, EveryBitFlipFailsIetf) {
  const auto sealed = from_hex(std::string(k8439Ciphertext) + k8439Tag);
  const auto nonce = array_of<kChachaNonceLen>(from_hex(k8439Nonce));
  expect_every_bit_flip_fails(
      sealed, from_hex(kSunscreenAd),
      [&](std::span<uint8_t> out, std::span<const uint8_t> in, std::span<const uint8_t> ad) {
        return chacha20poly1305_open_ietf(out, in, ad, nonce, kKey80);
      });
}

TEST(ChaCha20Poly1305, EveryBitFlipFailsWireGuardForm) {
  const auto pt = bytes_of(kSunscreen);
  const auto ad = from_hex(kSunscreenAd);
  std::vector<uint8_t> sealed(pt.size() + kAeadTagLen);
  ASSERT_TRUE(chacha20poly1305_seal(sealed, pt, ad, 42, kKey80).ok());
  expect_every_bit_flip_fails(
      sealed, ad,
      [&](std::span<uint8_t> out, std::span<const uint8_t> in, std::span<const uint8_t> a) {
        return chacha20poly1305_open(out, in, a, 42, kKey80);
      });
}

TEST(XChaCha20Poly1305, EveryBitFlipFails) {
  const auto sealed = from_hex(std::string(kXChachaCiphertext) + kXChachaTag);
  expect_every_bit_flip_fails(
      sealed, from_hex(kSunscreenAd),
      [&](std::span<uint8_t> out, std::span<const uint8_t> in, std::span<const uint8_t> ad) {
        return xchacha20poly1305_open(out, in, ad, kXNonce, kKey80);
      });
}

TEST(ChaCha20Poly1305, WrongKeyOrNonceFails) {
  const auto sealed = from_hex(std::string(k8439Ciphertext) + k8439Tag);
  const auto ad = from_hex(kSunscreenAd);
  auto nonce = array_of<kChachaNonceLen>(from_hex(k8439Nonce));
  std::vector<uint8_t> out(sealed.size() - kAeadTagLen);
  auto key = kKey80;
  key[31] ^= 0x80;
  EXPECT_EQ(code_of(chacha20poly1305_open_ietf(out, sealed, ad, nonce, key)), Errc::kDecryptFailed);
  nonce[0] ^= 1;
  EXPECT_EQ(code_of(chacha20poly1305_open_ietf(out, sealed, ad, nonce, kKey80)),
            Errc::kDecryptFailed);
}

// ------------------------------------------------ buffer lengths

TEST(AeadLengths, SealNeedsPlaintextPlusTag) {
  const auto pt = bytes_of(kSunscreen);
  const auto nonce = wireguard_nonce(0);
  for (size_t size :
       {pt.size() + kAeadTagLen - 1, pt.size() + kAeadTagLen + 1, pt.size(), size_t{0}}) {
    std::vector<uint8_t> out(size);
    EXPECT_EQ(code_of(chacha20poly1305_seal(out, pt, {}, 0, kKey80)), Errc::kBadLength) << size;
    EXPECT_EQ(code_of(chacha20poly1305_seal_ietf(out, pt, {}, nonce, kKey80)), Errc::kBadLength)
        << size;
    EXPECT_EQ(code_of(xchacha20poly1305_seal(out, pt, {}, kXNonce, kKey80)), Errc::kBadLength)
        << size;
  }
}

TEST(AeadLengths, OpenNeedsATagAndAnExactOutput) {
  const auto nonce = wireguard_nonce(0);
  // Shorter than a tag: nothing to authenticate.
  for (size_t in_size : {size_t{0}, size_t{1}, kAeadTagLen - 1}) {
    std::vector<uint8_t> in(in_size, 0);
    std::vector<uint8_t> out(0);
    EXPECT_EQ(code_of(chacha20poly1305_open(out, in, {}, 0, kKey80)), Errc::kBadLength) << in_size;
    EXPECT_EQ(code_of(chacha20poly1305_open_ietf(out, in, {}, nonce, kKey80)), Errc::kBadLength)
        << in_size;
    EXPECT_EQ(code_of(xchacha20poly1305_open(out, in, {}, kXNonce, kKey80)), Errc::kBadLength)
        << in_size;
  }
  // Output not exactly ciphertext - tag, even if the tag would verify.
  const auto pt = bytes_of(kSunscreen);
  std::vector<uint8_t> sealed(pt.size() + kAeadTagLen);
  ASSERT_TRUE(chacha20poly1305_seal(sealed, pt, {}, 0, kKey80).ok());
  std::vector<uint8_t> xsealed(pt.size() + kAeadTagLen);
  ASSERT_TRUE(xchacha20poly1305_seal(xsealed, pt, {}, kXNonce, kKey80).ok());
  for (size_t out_size : {pt.size() - 1, pt.size() + 1, sealed.size()}) {
    std::vector<uint8_t> out(out_size);
    EXPECT_EQ(code_of(chacha20poly1305_open(out, sealed, {}, 0, kKey80)), Errc::kBadLength)
        << out_size;
    EXPECT_EQ(code_of(chacha20poly1305_open_ietf(out, sealed, {}, nonce, kKey80)), Errc::kBadLength)
        << out_size;
    EXPECT_EQ(code_of(xchacha20poly1305_open(out, xsealed, {}, kXNonce, kKey80)), Errc::kBadLength)
        << out_size;
  }
}

// ------------------------------------------------ in place

TEST(AeadInPlace, ChaChaSealAndOpenInOneBuffer) {
  const auto pt = bytes_of(kSunscreen);
  const auto ad = from_hex(kSunscreenAd);
  const auto nonce = array_of<kChachaNonceLen>(from_hex(k8439Nonce));

  std::vector<uint8_t> buf(pt.size() + kAeadTagLen);
  std::memcpy(buf.data(), pt.data(), pt.size());
  const std::span<uint8_t> all(buf);
  ASSERT_TRUE(chacha20poly1305_seal_ietf(all, all.first(pt.size()), ad, nonce, kKey80).ok());
  EXPECT_EQ(to_hex(buf), std::string(k8439Ciphertext) + k8439Tag);

  ASSERT_TRUE(chacha20poly1305_open_ietf(all.first(pt.size()), all, ad, nonce, kKey80).ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + pt.size()), pt);
}

TEST(AeadInPlace, WireGuardFormInOneBuffer) {
  const auto pt = bytes_of(kSunscreen);
  std::vector<uint8_t> reference(pt.size() + kAeadTagLen);
  ASSERT_TRUE(chacha20poly1305_seal(reference, pt, {}, 99, kKey80).ok());

  std::vector<uint8_t> buf(pt.size() + kAeadTagLen);
  std::memcpy(buf.data(), pt.data(), pt.size());
  const std::span<uint8_t> all(buf);
  ASSERT_TRUE(chacha20poly1305_seal(all, all.first(pt.size()), {}, 99, kKey80).ok());
  EXPECT_EQ(buf, reference);
  ASSERT_TRUE(chacha20poly1305_open(all.first(pt.size()), all, {}, 99, kKey80).ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + pt.size()), pt);
}

TEST(AeadInPlace, XChaChaSealAndOpenInOneBuffer) {
  const auto pt = bytes_of(kSunscreen);
  const auto ad = from_hex(kSunscreenAd);
  std::vector<uint8_t> buf(pt.size() + kAeadTagLen);
  std::memcpy(buf.data(), pt.data(), pt.size());
  const std::span<uint8_t> all(buf);
  ASSERT_TRUE(xchacha20poly1305_seal(all, all.first(pt.size()), ad, kXNonce, kKey80).ok());
  EXPECT_EQ(to_hex(buf), std::string(kXChachaCiphertext) + kXChachaTag);
  ASSERT_TRUE(xchacha20poly1305_open(all.first(pt.size()), all, ad, kXNonce, kKey80).ok());
  EXPECT_EQ(std::vector<uint8_t>(buf.begin(), buf.begin() + pt.size()), pt);
}

TEST(Sodium, InitIsIdempotent) {
  EXPECT_TRUE(init_sodium().ok());
  EXPECT_TRUE(init_sodium().ok());
}

}  // namespace
}  // namespace wirespeed::controlplane::crypto
