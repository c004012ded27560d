// mac1/mac2, cookie replies and the under-load admission policy
// (controlplane/cookie/cookie.hpp), end to end with the Noise handshake.
#include "controlplane/cookie/cookie.hpp"

#include <gtest/gtest.h>

#include "tests/support/handshake_fixture.hpp"

namespace wirespeed::controlplane::cookie {
namespace {

namespace wire = dataplane::wire;
using noise::Handshake;
using noise::tai64n_from_unix;

constexpr Nanos kT0 = 5000 * wire::kNanosPerSecond;
constexpr uint8_t kAliceIp[4] = {192, 0, 2, 2};
constexpr uint8_t kOtherIp[4] = {192, 0, 2, 3};
const Source kAlice{kAliceIp, 51820};

struct Admit {
  int row;
  MacVerdict verdict;
  bool under_load;
  bool source_allowed;
  Admission expected;
};

// The kernel's receive.c policy as a table.
const Admit kAdmitTable[] = {
    {1, MacVerdict::kInvalidMac, false, true, Admission::kDrop},
    {2, MacVerdict::kInvalidMac, true, true, Admission::kDrop},
    {3, MacVerdict::kValidMacNoCookie, false, true, Admission::kProcess},
    {4, MacVerdict::kValidMacNoCookie, true, true, Admission::kSendCookieReply},
    {5, MacVerdict::kValidMacNoCookie, true, false, Admission::kSendCookieReply},
    {6, MacVerdict::kValidMacWithCookie, false, false, Admission::kProcess},
    {7, MacVerdict::kValidMacWithCookie, true, true, Admission::kProcess},
    {8, MacVerdict::kValidMacWithCookie, true, false, Admission::kDrop},
};

TEST(Cookie, AdmissionPolicyTable) {
  for (const Admit& a : kAdmitTable) {
    EXPECT_EQ(admit(a.verdict, a.under_load, a.source_allowed), a.expected) << "row " << a.row;
  }
}

wire::MessageInitiation stamped_initiation(test::HandshakePair& p, uint64_t unix_s, Nanos now) {
  auto init = p.alice.handshake->create_initiation(0xabcdef01, tai64n_from_unix(unix_s, 0));
  EXPECT_TRUE(init.ok());
  EXPECT_TRUE(p.alice.maker->add_macs(wire::as_writable_bytes(*init), now).ok());
  return *init;
}

TEST(Cookie, Mac1IsKeyedToTheReceiversPublicKey) {
  test::HandshakePair p;
  test::Side carol;
  CookieChecker carols_checker(carol.identity.public_key);
  const auto init = stamped_initiation(p, 1, kT0);
  EXPECT_EQ(p.bob.checker->validate(wire::as_bytes(init), kAlice, false, kT0),
            MacVerdict::kValidMacNoCookie);
  EXPECT_EQ(carols_checker.validate(wire::as_bytes(init), kAlice, false, kT0), MacVerdict::kInvalidMac);
  // Without a cookie, mac2 is zero.
  for (uint8_t b : init.macs.mac2) EXPECT_EQ(b, 0);
}

TEST(Cookie, TooShortMessagesAreInvalid) {
  test::HandshakePair p;
  const uint8_t short_msg[35] = {1};
  EXPECT_EQ(p.bob.checker->validate(short_msg, kAlice, true, kT0), MacVerdict::kInvalidMac);
  EXPECT_FALSE(p.bob.checker->create_reply(short_msg, 1, kAlice, kT0).ok());
  uint8_t buf[35] = {};
  EXPECT_EQ(p.alice.maker->add_macs(buf, kT0).error().code, Errc::kBadLength);
}

// Under load: initiation without cookie -> cookie reply -> initiator takes
// the cookie -> its next initiation carries mac2 -> processed -> handshake.
TEST(Cookie, FlowEndToEndUnderLoad) {
  test::HandshakePair p;
  const auto first = stamped_initiation(p, 10, kT0);
  const auto v1 = p.bob.checker->validate(wire::as_bytes(first), kAlice, true, kT0);
  ASSERT_EQ(v1, MacVerdict::kValidMacNoCookie);
  ASSERT_EQ(admit(v1, true, true), Admission::kSendCookieReply);

  auto reply = p.bob.checker->create_reply(wire::as_bytes(first), first.sender_index.get(), kAlice, kT0);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(wire::classify(wire::as_bytes(*reply)), wire::MessageType::kHandshakeCookie);
  EXPECT_EQ(reply->receiver_index.get(), 0xabcdef01u);
  auto parsed = wire::parse_cookie_reply(wire::as_bytes(*reply));
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(p.alice.maker->consume_reply(*parsed, kT0 + 1).ok());
  EXPECT_TRUE(p.alice.maker->has_valid_cookie(kT0 + 1));

  const auto second = stamped_initiation(p, 11, kT0 + wire::kNanosPerSecond);
  const auto v2 = p.bob.checker->validate(wire::as_bytes(second), kAlice, true, kT0 + wire::kNanosPerSecond);
  ASSERT_EQ(v2, MacVerdict::kValidMacWithCookie);
  ASSERT_EQ(admit(v2, true, true), Admission::kProcess);

  auto opened = Handshake::open_initiation(second, p.bob.identity);
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(p.bob.handshake->consume_initiation(*opened, kT0 + wire::kNanosPerSecond).ok());
}

TEST(Cookie, CookieIsBoundToSourceAddressAndPort) {
  test::HandshakePair p;
  const auto first = stamped_initiation(p, 10, kT0);
  auto reply = p.bob.checker->create_reply(wire::as_bytes(first), 1, kAlice, kT0);
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(p.alice.maker->consume_reply(*reply, kT0).ok());
  const auto second = stamped_initiation(p, 11, kT0);
  const auto bytes = wire::as_bytes(second);
  EXPECT_EQ(p.bob.checker->validate(bytes, kAlice, true, kT0), MacVerdict::kValidMacWithCookie);
  EXPECT_EQ(p.bob.checker->validate(bytes, Source{kAliceIp, 51821}, true, kT0), MacVerdict::kValidMacNoCookie);
  EXPECT_EQ(p.bob.checker->validate(bytes, Source{kOtherIp, 51820}, true, kT0), MacVerdict::kValidMacNoCookie);
  const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(p.bob.checker->validate(bytes, Source{v6, 51820}, true, kT0), MacVerdict::kValidMacNoCookie);
  // Not under load mac2 is not looked at.
  EXPECT_EQ(p.bob.checker->validate(bytes, Source{kOtherIp, 1}, false, kT0), MacVerdict::kValidMacNoCookie);
}

TEST(Cookie, ReplyOpensOnlyForTheMessageItAnswers) {
  test::HandshakePair p;
  const auto first = stamped_initiation(p, 10, kT0);
  auto reply = p.bob.checker->create_reply(wire::as_bytes(first), 1, kAlice, kT0);
  ASSERT_TRUE(reply.ok());

  // Alice sent another message since: the reply's AD (the old mac1) no longer matches.
  (void)stamped_initiation(p, 11, kT0);
  EXPECT_EQ(p.alice.maker->consume_reply(*reply, kT0).error().code, Errc::kDecryptFailed);

  // Tampered replies do not open.
  const auto third = stamped_initiation(p, 12, kT0);
  auto good = p.bob.checker->create_reply(wire::as_bytes(third), 1, kAlice, kT0);
  ASSERT_TRUE(good.ok());
  for (size_t i = 8; i < wire::kCookieReplySize; ++i) {
    wire::MessageCookieReply bad = *good;
    wire::as_writable_bytes(bad)[i] ^= 0x04;
    EXPECT_FALSE(p.alice.maker->consume_reply(bad, kT0).ok()) << "byte " << i;
  }
  ASSERT_TRUE(p.alice.maker->consume_reply(*good, kT0).ok());
  // A second copy of the same reply finds nothing awaiting it.
  EXPECT_EQ(p.alice.maker->consume_reply(*good, kT0).error().code, Errc::kBadState);
}

TEST(Cookie, ReplyFromAnotherResponderDoesNotOpen) {
  test::HandshakePair p;
  test::Side carol;
  CookieChecker carols_checker(carol.identity.public_key);
  const auto init = stamped_initiation(p, 10, kT0);
  auto reply = carols_checker.create_reply(wire::as_bytes(init), 1, kAlice, kT0);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(p.alice.maker->consume_reply(*reply, kT0).error().code, Errc::kDecryptFailed);
}

TEST(Cookie, SecretRotatesEveryTwoMinutes) {
  test::HandshakePair p;
  const auto first = stamped_initiation(p, 10, kT0);
  auto reply = p.bob.checker->create_reply(wire::as_bytes(first), 1, kAlice, kT0);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(p.bob.checker->secret_birthdate(), kT0);
  ASSERT_TRUE(p.alice.maker->consume_reply(*reply, kT0).ok());
  const auto second = stamped_initiation(p, 11, kT0);
  const auto bytes = wire::as_bytes(second);

  const Nanos just_before = kT0 + wire::kCookieRefreshTime - 1;
  EXPECT_EQ(p.bob.checker->validate(bytes, kAlice, true, just_before), MacVerdict::kValidMacWithCookie);
  EXPECT_EQ(p.bob.checker->secret_birthdate(), kT0);

  const Nanos at = kT0 + wire::kCookieRefreshTime;
  EXPECT_EQ(p.bob.checker->validate(bytes, kAlice, true, at), MacVerdict::kValidMacNoCookie);
  EXPECT_EQ(p.bob.checker->secret_birthdate(), at);
}

TEST(Cookie, InitiatorStopsUsingACookieBeforeTheSecretCouldRotate) {
  test::HandshakePair p;
  const auto first = stamped_initiation(p, 10, kT0);
  auto reply = p.bob.checker->create_reply(wire::as_bytes(first), 1, kAlice, kT0);
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(p.alice.maker->consume_reply(*reply, kT0).ok());

  const Nanos limit = kT0 + wire::kCookieRefreshTime - wire::kCookieSecretLatency;  // 115 s
  EXPECT_TRUE(p.alice.maker->has_valid_cookie(limit - 1));
  EXPECT_FALSE(p.alice.maker->has_valid_cookie(limit));
  const auto late = stamped_initiation(p, 11, limit);
  for (uint8_t b : late.macs.mac2) EXPECT_EQ(b, 0);
  const auto fresh = stamped_initiation(p, 12, limit - 1);
  bool any = false;
  for (uint8_t b : fresh.macs.mac2) any |= b != 0;
  EXPECT_TRUE(any);
}

TEST(Cookie, ResponsesCarryMacsToo) {
  test::HandshakePair p;
  const auto init = stamped_initiation(p, 10, kT0);
  auto opened = Handshake::open_initiation(init, p.bob.identity);
  ASSERT_TRUE(opened.ok());
  ASSERT_TRUE(p.bob.handshake->consume_initiation(*opened, kT0).ok());
  auto resp = p.bob.handshake->create_response(0x1234);
  ASSERT_TRUE(resp.ok());
  ASSERT_TRUE(p.bob.maker->add_macs(wire::as_writable_bytes(*resp), kT0).ok());
  // Alice under load answers a response with a cookie reply too.
  const uint8_t bob_ip[4] = {192, 0, 2, 1};
  const Source bob{bob_ip, 51820};
  const auto bytes = wire::as_bytes(*resp);
  ASSERT_EQ(p.alice.checker->validate(bytes, bob, true, kT0), MacVerdict::kValidMacNoCookie);
  auto reply = p.alice.checker->create_reply(bytes, resp->sender_index.get(), bob, kT0);
  ASSERT_TRUE(reply.ok());
  ASSERT_TRUE(p.bob.maker->consume_reply(*reply, kT0).ok());
}

}  // namespace
}  // namespace wirespeed::controlplane::cookie
