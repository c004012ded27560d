// Tests for the data path's ChaCha20-Poly1305 on IPsec-MB
// (dataplane/crypto/chacha_poly.hpp).
//
//   * RFC 8439 §2.8.2 and Appendix A.5, through the AAD-taking detail:: entry
//     points (both vectors carry AAD and a non-WireGuard nonce). The hex is
//     the same as in tests/controlplane/crypto/aead_test.cpp, which checks it
//     against libsodium.
//   * A numbered table of lengths x counters against libsodium's
//     ChaCha20-Poly1305 with WireGuard's nonce (controlplane/crypto/aead.hpp):
//     our seal must equal libsodium's byte for byte, and our open must open
//     libsodium's output.
//   * Tampering, bursts (against single calls), keepalives, move semantics.
#include "dataplane/crypto/chacha_poly.hpp"

#include <gtest/gtest.h>
#include <intel-ipsec-mb.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/crypto/aead.hpp"
#include "tests/support/hex.hpp"

namespace wirespeed::dataplane::crypto {
namespace {

namespace ref = wirespeed::controlplane::crypto;
using test::from_hex;
using test::to_hex;
using Key = std::array<uint8_t, kKeyLen>;

static_assert(kKeyLen == ref::kAeadKeyLen && kTagLen == ref::kAeadTagLen);

// One engine for the whole suite, as a worker lcore would keep one.
AeadEngine& engine() {
  static AeadEngine e = [] {
    auto r = AeadEngine::create();
    if (!r.ok()) {
      std::cerr << "AeadEngine::create failed: " << r.error().context << " (" << r.error().sys_errno
                << ")\n";
      std::abort();
    }
    return std::move(r).value();
  }();
  return e;
}

std::vector<uint8_t> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

Key random_key(std::mt19937_64& rng) {
  Key k{};
  for (auto& b : k) b = static_cast<uint8_t>(rng());
  return k;
}

// libsodium's sealed form: ciphertext || tag.
std::vector<uint8_t> reference_seal(const Key& key, uint64_t counter,
                                    const std::vector<uint8_t>& pt) {
  std::vector<uint8_t> out(pt.size() + kTagLen);
  EXPECT_TRUE(ref::chacha20poly1305_seal(out, pt, {}, counter, key).ok());
  return out;
}

TEST(AeadEngine, CreateReportsArch) {
  auto r = AeadEngine::create();
  ASSERT_TRUE(r.ok()) << r.error().context;
  const std::string arch = r->arch_name();
  std::cout << "[ info     ] IPsec-MB " << imb_get_version_str() << " arch: " << arch << "\n";
  RecordProperty("ipsec_mb_arch", arch);
  const std::set<std::string> known = {"sse", "avx", "avx2", "avx512", "avx512-ifma", "noaesni"};
  EXPECT_TRUE(known.count(arch) == 1) << arch;
  EXPECT_NE(r->mgr(), nullptr);
}

// The keys are never copied into the manager (a job carries a pointer to the
// keypair slot's key), but the library's routines expand them into the key
// stream on the stack and in vector registers. A library built with
// SAFE_DATA clears those before returning; the gateway relies on it
// (docs/security.md), so a build without it fails here.
TEST(AeadEngine, LibraryClearsKeyMaterialItLeavesOnTheStackAndInRegisters) {
  auto r = AeadEngine::create();
  ASSERT_TRUE(r.ok()) << r.error().context;
  EXPECT_NE(r->mgr()->features & IMB_FEATURE_SAFE_DATA, 0u)
      << "IPsec-MB " << imb_get_version_str() << " was built without SAFE_DATA";
}

// ------------------------------------------------ RFC 8439 vectors

struct RfcVector {
  const char* name;
  const char* key;
  const char* nonce;
  const char* aad;
  std::string_view plaintext;
  const char* ciphertext;
  const char* tag;
};

const RfcVector kRfcVectors[] = {
    // 1. §2.8.2, the AEAD_CHACHA20_POLY1305 example.
    {"rfc8439 2.8.2", "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f",
     "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
     "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
     "future, sunscreen would be it.",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
    // 2. Appendix A.5, the decryption example (265 bytes, UTF-8 quotes).
    {"rfc8439 A.5", "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
     "000000000102030405060708", "f33388860000000000004e91",
     "Internet-Drafts are draft documents valid for a maximum of six months and may be "
     "updated, replaced, or obsoleted by other documents at any time. It is inappropriate to "
     "use Internet-Drafts as reference material or to cite them other than as "
     "/\xe2\x80\x9cwork in progress./\xe2\x80\x9d",
     "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
     "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
     "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
     "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
     "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
     "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
     "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
     "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
     "a6ad5cb4022b02709b",
     "eead9d67890cbb22392336fea1851f38"},
};

TEST(ChaChaPolyRfc8439, SealAndOpenTheRfcVectors) {
  for (const RfcVector& v : kRfcVectors) {
    SCOPED_TRACE(v.name);
    const auto key = from_hex(v.key);
    const auto nonce = from_hex(v.nonce);
    const auto aad = from_hex(v.aad);
    ASSERT_EQ(key.size(), kKeyLen);
    ASSERT_EQ(nonce.size(), kNonceLen);
    const std::vector<uint8_t> pt(v.plaintext.begin(), v.plaintext.end());
    ASSERT_EQ(pt.size() * 2, std::string_view(v.ciphertext).size());

    std::vector<uint8_t> buf(pt);
    std::array<uint8_t, kTagLen> tag{};
    detail::seal_ietf(engine(), key.data(), nonce.data(), aad.data(), aad.size(), buf.data(),
                      buf.size(), tag.data());
    EXPECT_EQ(to_hex(buf), v.ciphertext);
    EXPECT_EQ(to_hex(tag), v.tag);

    EXPECT_TRUE(detail::open_ietf(engine(), key.data(), nonce.data(), aad.data(), aad.size(),
                                  buf.data(), buf.size(), tag.data()));
    EXPECT_EQ(buf, pt);

    // The AAD is authenticated: one flipped AAD bit fails.
    std::vector<uint8_t> bad_aad(aad);
    bad_aad[0] ^= 1;
    std::vector<uint8_t> ct = from_hex(v.ciphertext);
    EXPECT_FALSE(detail::open_ietf(engine(), key.data(), nonce.data(), bad_aad.data(),
                                   bad_aad.size(), ct.data(), ct.size(), tag.data()));
  }
}

// ------------------------------------------------ against libsodium

const size_t kLengths[] = {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 1024, 1420, 1500, 9000};
const uint64_t kCounters[] = {0, 1, uint64_t{1} << 32, ~uint64_t{0} - (uint64_t{1} << 13) - 1};

TEST(ChaChaPolyVsLibsodium, NumberedTableOfLengthsAndCounters) {
  static_assert(~uint64_t{0} - (uint64_t{1} << 13) - 1 == 0xffffffffffffdffeULL, "2^64 - 2^13 - 2");
  std::mt19937_64 rng(0x5eed'c4a2'0001ULL);
  int case_no = 0;
  for (size_t len : kLengths) {
    for (uint64_t counter : kCounters) {
      ++case_no;
      SCOPED_TRACE("case " + std::to_string(case_no) + ": len " + std::to_string(len) +
                   " counter " + std::to_string(counter));
      const Key key = random_key(rng);
      const auto pt = random_bytes(rng, len);
      const auto expected = reference_seal(key, counter, pt);

      // Ours, in place, tag right after the data as on the wire. Start at an
      // odd offset so that nothing relies on alignment.
      std::vector<uint8_t> storage(1 + len + kTagLen);
      uint8_t* data = storage.data() + 1;
      std::copy(pt.begin(), pt.end(), data);  // not memcpy: pt.data() is null when len is 0
      seal(engine(), key.data(), counter, data, len, data + len);
      ASSERT_EQ(to_hex(data, len + kTagLen), to_hex(expected));

      // Ours opens libsodium's output (in place, separate tag pointer).
      std::vector<uint8_t> ct(expected.begin(), expected.begin() + len);
      const std::array<uint8_t, kTagLen> tag = [&] {
        std::array<uint8_t, kTagLen> t{};
        std::memcpy(t.data(), expected.data() + len, kTagLen);
        return t;
      }();
      ASSERT_TRUE(open(engine(), key.data(), counter, ct.data(), len, tag.data()));
      ASSERT_EQ(ct, pt);

      // And libsodium opens ours (the same bytes; checks our buffer end to end).
      std::vector<uint8_t> back(len);
      ASSERT_TRUE(ref::chacha20poly1305_open(back, std::span<const uint8_t>(data, len + kTagLen),
                                             {}, counter, key)
                      .ok());
      ASSERT_EQ(back, pt);
    }
  }
  EXPECT_EQ(case_no, 56);
}

// ------------------------------------------------ tampering

TEST(ChaChaPolyTamper, AnyFlippedByteOfCiphertextOrTagFails) {
  std::mt19937_64 rng(0x7a3b'e4ULL);
  for (size_t len : {size_t{1}, size_t{65}, size_t{1420}}) {
    SCOPED_TRACE("len " + std::to_string(len));
    const Key key = random_key(rng);
    const uint64_t counter = 1000 + len;
    const auto pt = random_bytes(rng, len);
    auto sealed = pt;
    sealed.resize(len + kTagLen);
    seal(engine(), key.data(), counter, sealed.data(), len, sealed.data() + len);

    // Positions: first, middle, last ciphertext byte, every tag byte.
    std::vector<size_t> positions = {0, len / 2, len - 1};
    for (size_t i = 0; i < kTagLen; ++i) positions.push_back(len + i);

    for (size_t pos : positions) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
        auto bad = sealed;
        bad[pos] ^= mask;
        EXPECT_FALSE(open(engine(), key.data(), counter, bad.data(), len, bad.data() + len))
            << "byte " << pos << " mask " << int(mask);
      }
    }
    // Wrong counter, wrong key.
    auto copy = sealed;
    EXPECT_FALSE(open(engine(), key.data(), counter + 1, copy.data(), len, copy.data() + len));
    Key other = key;
    other[0] ^= 1;
    copy = sealed;
    EXPECT_FALSE(open(engine(), other.data(), counter, copy.data(), len, copy.data() + len));
    // The untampered packet still opens (so the failures above are the
    // tampering's doing).
    copy = sealed;
    EXPECT_TRUE(open(engine(), key.data(), counter, copy.data(), len, copy.data() + len));
    EXPECT_TRUE(std::equal(pt.begin(), pt.end(), copy.begin()));
  }
}

// ------------------------------------------------ bursts

struct Packet {
  Key key;
  uint64_t counter;
  std::vector<uint8_t> buf;  // data, then the tag when tag_inline
  bool tag_inline;
  std::array<uint8_t, kTagLen> tag_slot;
  size_t len;

  uint8_t* data() { return buf.data(); }
  uint8_t* tag() { return tag_inline ? buf.data() + len : tag_slot.data(); }
};

// Packets of mixed lengths, keys (some shared, as packets of one peer) and
// counters, some with the tag inline and some with it elsewhere.
std::vector<Packet> make_packets(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const size_t lengths[] = {0, 1, 16, 17, 64, 100, 255, 576, 1280, 1420, 1500, 9000};
  const Key shared = random_key(rng);
  std::vector<Packet> packets(n);
  for (size_t i = 0; i < n; ++i) {
    Packet& p = packets[i];
    p.key = (i % 3 == 0) ? shared : random_key(rng);
    p.counter = (i % 5 == 0) ? rng() : i;
    p.len = lengths[(i * 7) % std::size(lengths)];
    p.buf = random_bytes(rng, p.len + kTagLen);
    p.tag_inline = (i % 2) == 0;
    p.tag_slot.fill(0);
  }
  return packets;
}

std::vector<AeadOp> ops_of(std::vector<Packet>& packets) {
  std::vector<AeadOp> ops;
  for (Packet& p : packets) {
    ops.push_back(
        AeadOp{p.key.data(), p.counter, p.data(), static_cast<uint32_t>(p.len), p.tag(), false});
  }
  return ops;
}

void expect_burst_equals_singles(size_t n, uint64_t seed) {
  auto singles = make_packets(n, seed);
  auto burst = make_packets(n, seed);
  const auto plain = make_packets(n, seed);

  for (Packet& p : singles) seal(engine(), p.key.data(), p.counter, p.data(), p.len, p.tag());
  auto ops = ops_of(burst);
  seal_burst(engine(), ops);

  for (size_t i = 0; i < n; ++i) {
    SCOPED_TRACE("packet " + std::to_string(i) + " len " + std::to_string(burst[i].len));
    EXPECT_TRUE(ops[i].ok);
    EXPECT_EQ(to_hex(burst[i].data(), burst[i].len), to_hex(singles[i].data(), singles[i].len));
    EXPECT_EQ(to_hex(burst[i].tag(), kTagLen), to_hex(singles[i].tag(), kTagLen));
    // And both are libsodium's answer.
    std::vector<uint8_t> pt(plain[i].buf.begin(), plain[i].buf.begin() + plain[i].len);
    const auto expected = reference_seal(burst[i].key, burst[i].counter, pt);
    EXPECT_EQ(to_hex(burst[i].data(), burst[i].len) + to_hex(burst[i].tag(), kTagLen),
              to_hex(expected));
  }

  // Tamper some: ciphertext of some, tag of others (a zero-length packet has
  // only a tag to tamper).
  std::set<size_t> tampered;
  for (size_t i = 3; i < n; i += 4) tampered.insert(i);
  for (size_t i : tampered) {
    Packet& p = burst[i];
    if (p.len > 0 && (i % 8) == 3) {
      p.data()[p.len - 1] ^= 0x20;
    } else {
      p.tag()[i % kTagLen] ^= 0x04;
    }
  }
  for (AeadOp& op : ops) op.ok = !op.ok;  // stale values must be overwritten
  open_burst(engine(), ops);
  for (size_t i = 0; i < n; ++i) {
    SCOPED_TRACE("packet " + std::to_string(i));
    EXPECT_EQ(ops[i].ok, tampered.count(i) == 0);
    if (ops[i].ok) {
      EXPECT_TRUE(std::equal(burst[i].buf.begin(), burst[i].buf.begin() + burst[i].len,
                             plain[i].buf.begin()));
    }
  }
}

TEST(ChaChaPolyBurst, ThirtyTwoMixedEqualSinglesAndOpenFlagsExactlyTheTampered) {
  expect_burst_equals_singles(32, 0xb0'0032ULL);
}

TEST(ChaChaPolyBurst, LongerSpanIsProcessedInChunks) {
  expect_burst_equals_singles(kMaxBurst * 2 + 7, 0xb0'0071ULL);
}

TEST(ChaChaPolyBurst, EmptyAndSingleBursts) {
  std::vector<AeadOp> none;
  seal_burst(engine(), none);
  open_burst(engine(), none);
  expect_burst_equals_singles(1, 0xb0'0001ULL);
}

// ------------------------------------------------ keepalive

TEST(ChaChaPolyKeepalive, ZeroLengthIsATagOnly) {
  std::mt19937_64 rng(0x6b'ee'9aULL);
  const Key key = random_key(rng);
  for (uint64_t counter : kCounters) {
    SCOPED_TRACE("counter " + std::to_string(counter));
    const auto expected = reference_seal(key, counter, {});
    ASSERT_EQ(expected.size(), kTagLen);

    // With no data pointer at all, and with one.
    std::array<uint8_t, kTagLen> tag{};
    seal(engine(), key.data(), counter, nullptr, 0, tag.data());
    EXPECT_EQ(to_hex(tag), to_hex(expected));
    std::array<uint8_t, kTagLen> packet{};
    seal(engine(), key.data(), counter, packet.data(), 0, packet.data());
    EXPECT_EQ(to_hex(packet), to_hex(expected));

    EXPECT_TRUE(open(engine(), key.data(), counter, nullptr, 0, expected.data()));
    EXPECT_TRUE(open(engine(), key.data(), counter, packet.data(), 0, packet.data()));
    EXPECT_FALSE(open(engine(), key.data(), counter + 1, nullptr, 0, expected.data()));
    for (size_t i = 0; i < kTagLen; ++i) {
      auto bad = expected;
      bad[i] ^= 0x10;
      EXPECT_FALSE(open(engine(), key.data(), counter, nullptr, 0, bad.data())) << "byte " << i;
    }
  }
}

// ------------------------------------------------ engine ownership

TEST(AeadEngine, MoveTransfersTheManager) {
  auto r = AeadEngine::create();
  ASSERT_TRUE(r.ok());
  AeadEngine a = std::move(r).value();
  IMB_MGR* const mgr = a.mgr();
  const std::string arch = a.arch_name();
  ASSERT_NE(mgr, nullptr);

  AeadEngine b(std::move(a));
  EXPECT_EQ(a.mgr(), nullptr);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_STREQ(a.arch_name(), "none");
  EXPECT_EQ(b.mgr(), mgr);
  EXPECT_EQ(b.arch_name(), arch);

  // The moved-to engine works.
  const Key key{};
  std::array<uint8_t, 5 + kTagLen> buf{1, 2, 3, 4, 5};
  const std::vector<uint8_t> pt(buf.begin(), buf.begin() + 5);
  seal(b, key.data(), 9, buf.data(), 5, buf.data() + 5);
  EXPECT_EQ(to_hex(buf), to_hex(reference_seal(key, 9, pt)));

  // Move-assigning over a live engine frees the old manager (ASan/LSan
  // builds check that) and takes the new one.
  auto r2 = AeadEngine::create();
  ASSERT_TRUE(r2.ok());
  AeadEngine c = std::move(r2).value();
  c = std::move(b);
  EXPECT_EQ(c.mgr(), mgr);
  EXPECT_EQ(b.mgr(), nullptr);  // NOLINT(bugprone-use-after-move)
  std::array<uint8_t, kTagLen> tag{};
  seal(c, key.data(), 9, nullptr, 0, tag.data());
  EXPECT_EQ(to_hex(tag), to_hex(reference_seal(key, 9, {})));

  // Assigning into a moved-from engine is fine too; then all three die at
  // the end of scope, two of them empty.
  a = std::move(c);
  EXPECT_EQ(a.mgr(), mgr);
  EXPECT_EQ(c.mgr(), nullptr);  // NOLINT(bugprone-use-after-move)
}

TEST(AeadEngine, MovedFromEngineDestructsSafely) {
  auto r = AeadEngine::create();
  ASSERT_TRUE(r.ok());
  {
    AeadEngine keep = std::move(r).value();
    // temp frees the manager at its closing brace.
    { AeadEngine temp(std::move(keep)); }
    EXPECT_EQ(keep.mgr(), nullptr);  // NOLINT(bugprone-use-after-move)
    // keep destructs empty here: no double free.
  }
  SUCCEED();
}

TEST(AeadEngine, TwoEnginesAgree) {
  auto r = AeadEngine::create();
  ASSERT_TRUE(r.ok());
  std::mt19937_64 rng(0x2e'2eULL);
  const Key key = random_key(rng);
  auto a = random_bytes(rng, 1420 + kTagLen);
  auto b = a;
  seal(engine(), key.data(), 77, a.data(), 1420, a.data() + 1420);
  seal(*r, key.data(), 77, b.data(), 1420, b.data() + 1420);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace wirespeed::dataplane::crypto
