// Known-answer tests for X25519 (controlplane/crypto/x25519.hpp).
//
// Sources, each re-checked with Python's `cryptography` package
// (X25519PrivateKey.from_private_bytes(k).exchange(X25519PublicKey...)):
//   * RFC 7748 §5.2: the two single scalar-multiplication vectors. Their
//     scalars are printed unclamped; X25519 clamps internally, so dh() on
//     the raw scalar must give the RFC's output.
//   * RFC 7748 §6.1: Alice's and Bob's key pairs and their shared secret.
//   * Low-order inputs: u = 0, 1, the two points of order 8, p-1, p, p+1
//     (and the same with the ignored top bit set), whose product is the
//     all-zero point that WireGuard must refuse (whitepaper §5.4.1 / RFC 7748
//     §6.1). Python refuses the same inputs.
#include "controlplane/crypto/x25519.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/hex.hpp"

namespace wirespeed::controlplane::crypto {
namespace {

using test::from_hex;
using test::to_hex;

std::array<uint8_t, 32> from_hex32(std::string_view hex) {
  const std::vector<uint8_t> bytes = from_hex(hex);
  EXPECT_EQ(bytes.size(), 32u) << hex;
  std::array<uint8_t, 32> out{};
  std::copy_n(bytes.begin(), std::min<size_t>(32, bytes.size()), out.begin());
  return out;
}

PrivateKey private_key(std::string_view hex) {
  const auto bytes = from_hex32(hex);
  return PrivateKey(std::span<const uint8_t, 32>(bytes));
}

struct ScalarMultCase {
  int number;
  const char* scalar;
  const char* u;
  const char* out;
};

// RFC 7748 §5.2.
// clang-format off
const ScalarMultCase kRfc7748Section52[] = {
  {1, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
      "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
  {2, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
      "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
};
// clang-format on

TEST(X25519, Rfc7748Section52ScalarMult) {
  for (const ScalarMultCase& c : kRfc7748Section52) {
    const PrivateKey scalar = private_key(c.scalar);
    const auto u = from_hex32(c.u);
    auto shared = dh(scalar, u);
    ASSERT_TRUE(shared.ok()) << "case " << c.number;
    EXPECT_EQ(to_hex(shared->bytes()), c.out) << "case " << c.number;
  }
}

// RFC 7748 §6.1.
constexpr const char* kAlicePrivate =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr const char* kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr const char* kBobPrivate =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr const char* kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
constexpr const char* kSharedSecret =
    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";

TEST(X25519, Rfc7748Section61PublicKeys) {
  EXPECT_EQ(to_hex(public_key(private_key(kAlicePrivate))), kAlicePublic);
  EXPECT_EQ(to_hex(public_key(private_key(kBobPrivate))), kBobPublic);
}

TEST(X25519, Rfc7748Section61SharedSecret) {
  auto alice = dh(private_key(kAlicePrivate), from_hex32(kBobPublic));
  auto bob = dh(private_key(kBobPrivate), from_hex32(kAlicePublic));
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(to_hex(alice->bytes()), kSharedSecret);
  EXPECT_EQ(to_hex(bob->bytes()), kSharedSecret);
  EXPECT_TRUE(alice->equals(*bob));
}

TEST(X25519, PublicKeyIgnoresClampedBits) {
  // X25519 clamps the scalar, so clamping first changes nothing.
  PrivateKey alice = private_key(kAlicePrivate);
  const PublicKey before = public_key(alice);
  clamp(alice);
  EXPECT_EQ(public_key(alice), before);
}

// clang-format off
const char* const kLowOrderPoints[] = {
  "0000000000000000000000000000000000000000000000000000000000000000",  // 0
  "0100000000000000000000000000000000000000000000000000000000000000",  // 1
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1
  "0000000000000000000000000000000000000000000000000000000000000080",  // 0, top bit set
  "0100000000000000000000000000000000000000000000000000000000000080",  // 1, top bit set
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",  // p + 1, top bit set
};
// clang-format on

TEST(X25519, LowOrderPublicKeysAreRejected) {
  const PrivateKey alice = private_key(kAlicePrivate);
  int number = 0;
  for (const char* point : kLowOrderPoints) {
    ++number;
    auto shared = dh(alice, from_hex32(point));
    ASSERT_FALSE(shared.ok()) << "case " << number << ": " << point;
    EXPECT_EQ(shared.error().code, Errc::kBadKey) << "case " << number;
  }
}

TEST(X25519, ClampSetsAndClearsTheRightBits) {
  std::array<uint8_t, 32> ones;
  ones.fill(0xff);
  PrivateKey k{std::span<const uint8_t, 32>(ones)};
  clamp(k);
  EXPECT_EQ(to_hex(k.bytes()), "f8ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");

  PrivateKey zero;
  clamp(zero);
  EXPECT_EQ(to_hex(zero.bytes()),
            "0000000000000000000000000000000000000000000000000000000000000040");

  // Idempotent, and leaves the middle bytes alone.
  PrivateKey alice = private_key(kAlicePrivate);
  clamp(alice);
  EXPECT_EQ(to_hex(alice.bytes()),
            "70076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c6a");
  clamp(alice);
  EXPECT_EQ(to_hex(alice.bytes()),
            "70076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c6a");
}

TEST(X25519, GeneratedKeysAreClampedAndDistinct) {
  const PrivateKey a = generate_private_key();
  const PrivateKey b = generate_private_key();
  for (const PrivateKey* k : {&a, &b}) {
    EXPECT_EQ(k->data()[0] & 0x07, 0);
    EXPECT_EQ(k->data()[31] & 0x80, 0);
    EXPECT_EQ(k->data()[31] & 0x40, 0x40);
    EXPECT_FALSE(k->is_zero());
  }
  EXPECT_FALSE(a.equals(b));
  EXPECT_NE(public_key(a), public_key(b));
}

TEST(X25519, GeneratedKeysAgree) {
  const PrivateKey a = generate_private_key();
  const PrivateKey b = generate_private_key();
  auto ab = dh(a, public_key(b));
  auto ba = dh(b, public_key(a));
  ASSERT_TRUE(ab.ok());
  ASSERT_TRUE(ba.ok());
  EXPECT_TRUE(ab->equals(*ba));
  EXPECT_FALSE(ab->is_zero());
}

}  // namespace
}  // namespace wirespeed::controlplane::crypto
