// `wirespeed genkey | genpsk | pubkey` against wg(8) itself: the same public
// keys for 100 keys wg made, the same verdicts (status, stdout, message) on a
// table of malformed inputs, and the output format and clamping of the keys
// we make. wg is a prerequisite: without it these tests fail and say so.
#include "controlplane/cli/keys.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>

#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed::controlplane::cli {
namespace {

using test::cli::call;
using test::cli::Captured;
using test::cli::shell;
using test::cli::TempDir;

int pubkey(int argc, char** argv, FILE* in, FILE* out, FILE* err) {
  return pubkey_command(argc, argv, in, out, err);
}
int genkey(int argc, char** argv, FILE*, FILE* out, FILE* err) {
  return genkey_command(argc, argv, out, err);
}
int genpsk(int argc, char** argv, FILE*, FILE* out, FILE* err) {
  return genpsk_command(argc, argv, out, err);
}

// Fails the test (not skips) when wg is not installed.
bool have_wg() {
  const Captured c = shell("command -v wg");
  if (c.status != 0 || c.out.empty()) {
    ADD_FAILURE() << "wg (Debian package wireguard-tools) is not installed: the key tests compare "
                     "against it; run scripts/setup.sh";
    return false;
  }
  return true;
}

std::array<uint8_t, 32> decode(const std::string& line) {
  std::array<uint8_t, 32> key{};
  EXPECT_EQ(line.size(), 45u) << line;
  EXPECT_TRUE(key_from_base64(std::string_view(line).substr(0, 44), key)) << line;
  return key;
}

TEST(PubkeyTest, EqualsWgPubkeyOn100KeysFromWgGenkey) {
  if (!have_wg()) return;
  for (int i = 0; i < 100; ++i) {
    const Captured gen = shell("wg genkey");
    ASSERT_EQ(gen.status, 0) << gen.err;
    ASSERT_EQ(gen.out.size(), 45u);
    const Captured theirs = shell("printf '%s' '" + gen.out + "' | wg pubkey");
    ASSERT_EQ(theirs.status, 0) << theirs.err;
    const Captured ours = call(pubkey, {"pubkey"}, gen.out);
    EXPECT_EQ(ours.status, 0) << ours.err;
    EXPECT_EQ(ours.out, theirs.out) << "key " << i;
    EXPECT_EQ(ours.err, "");
  }
}

// Inputs wg pubkey rejects or accepts for reasons of format; ours must give
// the same status, the same stdout and the same message (with our name).
TEST(PubkeyTest, SameVerdictsAsWgOnMalformedInput) {
  if (!have_wg()) return;
  const std::string good = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
  const std::string cases[] = {
      "",                                          // 0 nothing
      good.substr(0, 43),                          // 1 one character short
      good + "\n",                                 // 2 the usual form
      good,                                        // 3 no newline
      good + " \t\r\n\n",                          // 4 trailing whitespace
      good + std::string(1, '\0') + "\n",          // 5 a trailing NUL
      " " + good,                                  // 6 leading space
      good + "x",                                  // 7 trailing garbage
      good + "\nx",                                // 8 garbage on the next line
      good.substr(0, 43) + "A",                    // 9 no '=' at the end
      "*" + good.substr(1),                        // 10 not base64
      good.substr(0, 42) + "n=",                   // 11 unused low bits set (n = 0b100111)
      good.substr(0, 42) + "o=",                   // 12 o = 0b101000: low bits zero, canonical
      good.substr(0, 40) + "====",                 // 13 padding too early
      std::string(44, 'A'),                        // 14 no '='
      std::string(43, 'A') + "=",                  // 15 the zero key: valid input
      good.substr(0, 10) + "-" + good.substr(11),  // 16 URL-safe alphabet
  };
  TempDir dir;
  for (size_t i = 0; i < std::size(cases); ++i) {
    const std::string path = dir.write("in" + std::to_string(i), cases[i]);
    const Captured theirs = shell("wg pubkey < " + path);
    const Captured ours = call(pubkey, {"pubkey"}, cases[i]);
    std::string their_err = theirs.err;
    if (their_err.starts_with("wg:")) their_err = "wirespeed:" + their_err.substr(3);
    EXPECT_EQ(ours.status, theirs.status) << "case " << i;
    EXPECT_EQ(ours.out, theirs.out) << "case " << i;
    EXPECT_EQ(ours.err, their_err) << "case " << i;
  }
}

TEST(PubkeyTest, ExtraArgumentsPrintUsageAndExit1) {
  const Captured c = call(pubkey, {"pubkey", "extra"}, "");
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.out, "");
  EXPECT_EQ(c.err, "Usage: wirespeed pubkey\n");
}

TEST(GenkeyTest, Base64Of32BytesClampedAndFresh) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const Captured c = call(genkey, {"genkey"});
    ASSERT_EQ(c.status, 0) << c.err;
    ASSERT_EQ(c.out.size(), 45u);
    EXPECT_EQ(c.out.back(), '\n');
    const auto key = decode(c.out);
    EXPECT_EQ(key[0] & 7, 0) << c.out;            // RFC 7748 §5: clear the low 3 bits
    EXPECT_EQ(key[31] & 0x80, 0) << c.out;        // clear the top bit
    EXPECT_EQ(key[31] & 0x40, 0x40) << c.out;     // set the second-highest
    EXPECT_EQ(key_to_base64(key) + "\n", c.out);  // one spelling per key
    seen.insert(c.out);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(GenkeyTest, WgAcceptsOurKeysAndAgreesOnTheirPublicKeys) {
  if (!have_wg()) return;
  for (int i = 0; i < 10; ++i) {
    const Captured ours = call(genkey, {"genkey"});
    const Captured theirs = shell("printf '%s' '" + ours.out + "' | wg pubkey");
    ASSERT_EQ(theirs.status, 0) << theirs.err;
    EXPECT_EQ(call(pubkey, {"pubkey"}, ours.out).out, theirs.out);
  }
}

TEST(GenpskTest, Base64Of32BytesNotClamped) {
  std::set<std::string> seen;
  bool any_unclamped = false;
  for (int i = 0; i < 100; ++i) {
    const Captured c = call(genpsk, {"genpsk"});
    ASSERT_EQ(c.status, 0) << c.err;
    const auto key = decode(c.out);
    // A clamped key has these 5 bits fixed; 100 random keys all matching them
    // has probability 2^-500.
    any_unclamped |= (key[0] & 7) != 0 || (key[31] & 0xc0) != 0x40;
    seen.insert(c.out);
  }
  EXPECT_TRUE(any_unclamped);
  EXPECT_EQ(seen.size(), 100u);
}

TEST(GenkeyTest, ExtraArgumentsPrintUsageAndExit1) {
  const Captured c = call(genkey, {"genkey", "x"});
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.out, "");
  EXPECT_EQ(c.err, "Usage: wirespeed genkey\n");
}

// key_to_base64 / key_from_base64 against libsodium's encoder on known bytes.
TEST(KeyBase64Test, RoundTripsAndMatchesKnownText) {
  std::array<uint8_t, 32> zero{};
  EXPECT_EQ(key_to_base64(zero), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
  std::array<uint8_t, 32> ramp{};
  for (unsigned i = 0; i < 32; ++i) ramp[i] = static_cast<uint8_t>(i * 8 + 7);
  const std::string text = key_to_base64(ramp);
  EXPECT_EQ(text, "Bw8XHycvNz9HT1dfZ293f4ePl5+nr7e/x8/X3+fv9/8=");
  std::array<uint8_t, 32> back{};
  ASSERT_TRUE(key_from_base64(text, back));
  EXPECT_EQ(back, ramp);
}

}  // namespace
}  // namespace wirespeed::controlplane::cli
