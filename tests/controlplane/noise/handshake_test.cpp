// Noise IKpsk2 between two instances of our own implementation
// (controlplane/noise/handshake.hpp): round trips with and without a
// pre-shared key, every single-byte tamper, timestamp replay and flood,
// state-machine misuse. Interop with a real peer is proven separately
// (recorded_handshake_test, tests/lab/live_wireguard_go_test).
#include "controlplane/noise/handshake.hpp"

#include <gtest/gtest.h>

#include "controlplane/crypto/aead.hpp"
#include "tests/support/handshake_fixture.hpp"
#include "tests/support/hex.hpp"

namespace wirespeed::controlplane::noise {
namespace {

namespace wire = dataplane::wire;
using test::HandshakePair;

constexpr uint32_t kAliceIndex = 0x11223344;
constexpr uint32_t kBobIndex = 0x55667788;
constexpr Nanos kT0 = 1000 * wire::kNanosPerSecond;
const cookie::Source kNoSource{};

// Runs a whole handshake; returns both sides' keys.
struct Sessions {
  SessionKeys alice;
  SessionKeys bob;
};

Sessions complete_handshake(HandshakePair& p, const Tai64n& ts, Nanos now) {
  auto init = p.alice.handshake->create_initiation(kAliceIndex, ts);
  EXPECT_TRUE(init.ok());
  EXPECT_TRUE(p.alice.maker->add_macs(wire::as_writable_bytes(*init), now).ok());
  EXPECT_EQ(p.bob.checker->validate(wire::as_bytes(*init), kNoSource, false, now),
            cookie::MacVerdict::kValidMacNoCookie);

  auto opened = Handshake::open_initiation(*init, p.bob.identity);
  EXPECT_TRUE(opened.ok());
  EXPECT_EQ(opened->remote_static, p.alice.identity.public_key);
  auto consumed = p.bob.handshake->consume_initiation(*opened, now);
  EXPECT_TRUE(consumed.ok());
  EXPECT_EQ(*consumed, ts);

  auto resp = p.bob.handshake->create_response(kBobIndex);
  EXPECT_TRUE(resp.ok());
  EXPECT_TRUE(p.bob.maker->add_macs(wire::as_writable_bytes(*resp), now).ok());
  EXPECT_EQ(p.alice.checker->validate(wire::as_bytes(*resp), kNoSource, false, now),
            cookie::MacVerdict::kValidMacNoCookie);
  EXPECT_TRUE(p.alice.handshake->consume_response(*resp).ok());

  auto a = p.alice.handshake->begin_session();
  auto b = p.bob.handshake->begin_session();
  EXPECT_TRUE(a.ok());
  EXPECT_TRUE(b.ok());
  return Sessions{std::move(*a), std::move(*b)};
}

void expect_matching_sessions(const Sessions& s) {
  EXPECT_TRUE(s.alice.send.equals(s.bob.receive));
  EXPECT_TRUE(s.alice.receive.equals(s.bob.send));
  EXPECT_FALSE(s.alice.send.equals(s.alice.receive));
  EXPECT_EQ(s.alice.local_index, kAliceIndex);
  EXPECT_EQ(s.alice.remote_index, kBobIndex);
  EXPECT_EQ(s.bob.local_index, kBobIndex);
  EXPECT_EQ(s.bob.remote_index, kAliceIndex);
  EXPECT_TRUE(s.alice.we_initiated);
  EXPECT_FALSE(s.bob.we_initiated);

  // The keys carry a data message each way.
  const uint8_t payload[] = {0x45, 0, 0, 20, 1, 2, 3, 4};
  uint8_t sealed[sizeof(payload) + 16];
  uint8_t opened[sizeof(payload)];
  ASSERT_TRUE(crypto::chacha20poly1305_seal(sealed, payload, {}, 7, s.alice.send.bytes()).ok());
  ASSERT_TRUE(crypto::chacha20poly1305_open(opened, sealed, {}, 7, s.bob.receive.bytes()).ok());
  EXPECT_EQ(0, memcmp(opened, payload, sizeof(payload)));
  ASSERT_TRUE(crypto::chacha20poly1305_seal(sealed, payload, {}, 0, s.bob.send.bytes()).ok());
  ASSERT_TRUE(crypto::chacha20poly1305_open(opened, sealed, {}, 0, s.alice.receive.bytes()).ok());
}

// Alice initiates and Bob consumes the initiation and answers; Alice has not
// seen the response yet.
wire::MessageResponse bob_answers_alice(HandshakePair& p) {
  auto init = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(1000, 0));
  EXPECT_TRUE(init.ok());
  auto opened = Handshake::open_initiation(*init, p.bob.identity);
  EXPECT_TRUE(opened.ok());
  EXPECT_TRUE(p.bob.handshake->consume_initiation(*opened, kT0).ok());
  auto resp = p.bob.handshake->create_response(kBobIndex);
  EXPECT_TRUE(resp.ok());
  return *resp;
}

TEST(Handshake, RoundTripWithoutPresharedKey) {
  HandshakePair p;
  const Sessions s = complete_handshake(p, tai64n_from_unix(1000, 0), kT0);
  expect_matching_sessions(s);
  EXPECT_EQ(p.alice.handshake->state(), HandshakeState::kZeroed);
  EXPECT_EQ(p.bob.handshake->state(), HandshakeState::kZeroed);
}

TEST(Handshake, RoundTripWithPresharedKey) {
  HandshakePair p;
  crypto::Key psk;
  randombytes_buf(psk.data(), psk.size());
  p.set_psk(psk);
  const Sessions with_psk = complete_handshake(p, tai64n_from_unix(1000, 0), kT0);
  expect_matching_sessions(with_psk);

  // Same identities without the psk derive other keys.
  HandshakePair q;
  const Sessions without = complete_handshake(q, tai64n_from_unix(1000, 0), kT0);
  EXPECT_FALSE(with_psk.alice.send.equals(without.alice.send));
}

TEST(Handshake, MismatchedPresharedKeyFailsAtInitiatorAndKeepsItsState) {
  HandshakePair p;
  crypto::Key psk;
  randombytes_buf(psk.data(), psk.size());
  p.bob.handshake->set_preshared_key(psk.clone());  // Alice has none

  const wire::MessageResponse resp = bob_answers_alice(p);
  auto r = p.alice.handshake->consume_response(resp);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kDecryptFailed);
  EXPECT_EQ(p.alice.handshake->state(), HandshakeState::kCreatedInitiation);
  EXPECT_FALSE(p.alice.handshake->begin_session().ok());
}

// Flip one byte of an initiation at every offset. Without recomputing mac1
// the cookie checker drops it; with mac1 recomputed (anyone who knows the
// responder's public key can) the Noise layer rejects every authenticated
// byte. The sender index is covered only by mac1 — as in every WireGuard —
// so a forged one is accepted by the responder and then the initiator
// rejects the response, which names an index it never sent.
TEST(Handshake, EverySingleByteTamperOfInitiationIsRejected) {
  HandshakePair p;
  auto init = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(1000, 0));
  ASSERT_TRUE(init.ok());
  ASSERT_TRUE(p.alice.maker->add_macs(wire::as_writable_bytes(*init), kT0).ok());
  const auto original = wire::as_bytes(*init);
  cookie::CookieMaker forger(p.bob.identity.public_key);
  const uint8_t ip[4] = {192, 0, 2, 2};
  const cookie::Source src{ip, 51820};

  for (size_t i = 0; i < wire::kInitiationSize; ++i) {
    SCOPED_TRACE("byte " + std::to_string(i));
    std::array<uint8_t, wire::kInitiationSize> bytes;
    std::copy(original.begin(), original.end(), bytes.begin());
    bytes[i] ^= 0x01;

    const auto verdict = p.bob.checker->validate(bytes, src, true, kT0);
    if (i < wire::kMac2Offset<wire::MessageInitiation>) {
      EXPECT_EQ(verdict, cookie::MacVerdict::kInvalidMac);
    } else {
      EXPECT_NE(verdict, cookie::MacVerdict::kValidMacWithCookie);  // mac2: no cookie
      continue;
    }
    if (i >= wire::kMac1Offset<wire::MessageInitiation>) continue;  // mac1 itself

    ASSERT_TRUE(forger.add_macs(bytes, kT0).ok());
    ASSERT_EQ(p.bob.checker->validate(bytes, src, false, kT0), cookie::MacVerdict::kValidMacNoCookie);
    auto parsed = wire::parse_initiation(bytes);
    if (i < 4) {
      EXPECT_FALSE(parsed.ok());
      continue;
    }
    ASSERT_TRUE(parsed.ok());
    Handshake responder(p.bob.identity, p.alice.identity.public_key);
    auto opened = Handshake::open_initiation(*parsed, p.bob.identity);
    bool consumed = opened.ok() && responder.consume_initiation(*opened, kT0).ok();
    if (i >= 8) {
      EXPECT_FALSE(consumed);
      continue;
    }
    ASSERT_TRUE(consumed);  // sender index: only mac1 covers it
    auto resp = responder.create_response(kBobIndex);
    ASSERT_TRUE(resp.ok());
    EXPECT_EQ(p.alice.handshake->consume_response(*resp).error().code, Errc::kBadState);
  }
}

// A fresh exchange for every offset, since a response that authenticates
// moves the initiator's state on.
TEST(Handshake, EverySingleByteTamperOfResponseIsRejected) {
  for (size_t i = 0; i < wire::kResponseSize; ++i) {
    SCOPED_TRACE("byte " + std::to_string(i));
    HandshakePair p;
    wire::MessageResponse resp = bob_answers_alice(p);
    ASSERT_TRUE(p.bob.maker->add_macs(wire::as_writable_bytes(resp), kT0).ok());

    std::array<uint8_t, wire::kResponseSize> bytes;
    const auto original = wire::as_bytes(resp);
    std::copy(original.begin(), original.end(), bytes.begin());
    bytes[i] ^= 0x80;
    const auto verdict = p.alice.checker->validate(bytes, kNoSource, false, kT0);
    if (i >= wire::kMac2Offset<wire::MessageResponse>) {
      EXPECT_EQ(verdict, cookie::MacVerdict::kValidMacNoCookie);  // mac2 is never "with cookie"
      continue;
    }
    EXPECT_EQ(verdict, cookie::MacVerdict::kInvalidMac);
    if (i >= wire::kMac1Offset<wire::MessageResponse>) continue;

    cookie::CookieMaker forger(p.alice.identity.public_key);
    ASSERT_TRUE(forger.add_macs(bytes, kT0).ok());
    auto parsed = wire::parse_response(bytes);
    if (i < 4) {
      EXPECT_FALSE(parsed.ok());
      continue;
    }
    ASSERT_TRUE(parsed.ok());
    auto r = p.alice.handshake->consume_response(*parsed);
    if (i < 8) {
      // Sender index: mac1 alone covers it, as in every WireGuard. The keys
      // agree, but data messages would name an index the responder never
      // allocated and be dropped there.
      ASSERT_TRUE(r.ok());
      auto keys = p.alice.handshake->begin_session();
      ASSERT_TRUE(keys.ok());
      EXPECT_NE(keys->remote_index, kBobIndex);
      continue;
    }
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(p.alice.handshake->state(), HandshakeState::kCreatedInitiation);
    // The untouched response still completes: a forgery never breaks the state.
    EXPECT_TRUE(p.alice.handshake->consume_response(resp).ok());
  }
}

TEST(Handshake, ReplayedOrOlderTimestampIsRejected) {
  HandshakePair p;
  const Tai64n t1 = tai64n_from_unix(2000, 0);
  auto first = p.alice.handshake->create_initiation(kAliceIndex, t1);
  ASSERT_TRUE(first.ok());
  auto opened = Handshake::open_initiation(*first, p.bob.identity);
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(p.bob.handshake->consume_initiation(*opened, kT0).ok());
  EXPECT_EQ(p.bob.handshake->latest_timestamp(), t1);

  // The same message again, a second later: replay.
  auto again = Handshake::open_initiation(*first, p.bob.identity);
  ASSERT_TRUE(again.ok());
  auto r = p.bob.handshake->consume_initiation(*again, kT0 + wire::kNanosPerSecond);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kReplayed);

  // A fresh initiation with an older timestamp.
  auto older = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(1999, 0));
  ASSERT_TRUE(older.ok());
  auto o = Handshake::open_initiation(*older, p.bob.identity);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(p.bob.handshake->consume_initiation(*o, kT0 + wire::kNanosPerSecond).error().code,
            Errc::kReplayed);

  // Newer is accepted.
  auto newer = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(2001, 0));
  ASSERT_TRUE(newer.ok());
  auto n = Handshake::open_initiation(*newer, p.bob.identity);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(p.bob.handshake->consume_initiation(*n, kT0 + wire::kNanosPerSecond).ok());
}

TEST(Handshake, InitiationFloodFromOnePeerIsLimitedToFiftyPerSecond) {
  HandshakePair p;
  auto accept_at = [&](uint64_t unix_s, uint32_t ns, Nanos now) {
    auto init = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(unix_s, ns));
    auto opened = Handshake::open_initiation(*init, p.bob.identity);
    return p.bob.handshake->consume_initiation(*opened, now);
  };
  ASSERT_TRUE(accept_at(3000, 0, kT0).ok());
  const Nanos step = wire::kNanosPerSecond / wire::kInitiationsPerSecond;  // 20 ms
  auto r = accept_at(3000, 1u << 24, kT0 + step - 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kRateLimited);
  EXPECT_TRUE(accept_at(3000, 2u << 24, kT0 + step).ok());
}

TEST(Handshake, InitiationForAnotherResponderDoesNotOpen) {
  HandshakePair p;
  test::Side carol;
  auto init = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(1000, 0));
  ASSERT_TRUE(init.ok());
  auto opened = Handshake::open_initiation(*init, carol.identity);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, Errc::kDecryptFailed);
}

TEST(Handshake, InitiationOpenedForOnePeerIsRefusedByAnother) {
  HandshakePair p;
  test::Side carol;
  Handshake bob_for_carol(p.bob.identity, carol.identity.public_key);
  auto init = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(1000, 0));
  auto opened = Handshake::open_initiation(*init, p.bob.identity);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(bob_for_carol.consume_initiation(*opened, kT0).error().code, Errc::kUnknownPeer);
}

TEST(Handshake, LowOrderPeerKeyIsRefused) {
  test::Side alice;
  const PublicKey zero{};
  Handshake h(alice.identity, zero);
  auto init = h.create_initiation(1, tai64n_from_unix(1000, 0));
  ASSERT_FALSE(init.ok());
  EXPECT_EQ(init.error().code, Errc::kBadKey);
}

TEST(Handshake, OutOfOrderCallsAreRefused) {
  HandshakePair p;
  EXPECT_EQ(p.bob.handshake->create_response(kBobIndex).error().code, Errc::kBadState);
  EXPECT_EQ(p.alice.handshake->begin_session().error().code, Errc::kBadState);
  auto init = p.alice.handshake->create_initiation(kAliceIndex, tai64n_from_unix(1000, 0));
  ASSERT_TRUE(init.ok());
  // Initiation created but no response consumed: no session yet.
  EXPECT_EQ(p.alice.handshake->begin_session().error().code, Errc::kBadState);
  // A response naming another receiver index is refused.
  auto opened = Handshake::open_initiation(*init, p.bob.identity);
  ASSERT_TRUE(p.bob.handshake->consume_initiation(*opened, kT0).ok());
  auto resp = p.bob.handshake->create_response(kBobIndex);
  ASSERT_TRUE(resp.ok());
  resp->receiver_index.set(kAliceIndex + 1);
  EXPECT_EQ(p.alice.handshake->consume_response(*resp).error().code, Errc::kBadState);
}

TEST(Handshake, EachHandshakeDerivesFreshKeys) {
  HandshakePair p;
  const Sessions s1 = complete_handshake(p, tai64n_from_unix(1000, 0), kT0);
  const Sessions s2 = complete_handshake(p, tai64n_from_unix(1001, 0), kT0 + wire::kNanosPerSecond);
  expect_matching_sessions(s2);
  EXPECT_FALSE(s1.alice.send.equals(s2.alice.send));
  EXPECT_FALSE(s1.alice.receive.equals(s2.alice.receive));
}

}  // namespace
}  // namespace wirespeed::controlplane::noise
