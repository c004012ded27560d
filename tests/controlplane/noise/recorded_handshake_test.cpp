// Interop with a real WireGuard: a handshake initiation captured from
// Debian's wireguard-go (tests/data/wireguard_go_handshake/, made by
// tests/data/record_wireguard_go_handshake.sh; see tests/data/README.md).
// Our responder must verify its mac1, decrypt the initiator's static key and
// timestamp, and reject every tampered byte.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "controlplane/cookie/cookie.hpp"
#include "controlplane/noise/handshake.hpp"
#include "tests/support/hex.hpp"

namespace wirespeed::controlplane::noise {
namespace {

namespace wire = dataplane::wire;
const std::string kDir = std::string(WS_TEST_DATA_DIR) + "/wireguard_go_handshake/";

std::vector<uint8_t> read_binary(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

uint32_t le32(const uint8_t* p) { return p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24; }

// The UDP payload of the first packet of a little-endian pcap with Ethernet
// link type (what tcpdump writes for lo), and its capture time in seconds.
struct Captured {
  std::vector<uint8_t> payload;
  uint32_t seconds = 0;
};

Captured first_udp_payload(const std::vector<uint8_t>& pcap) {
  Captured out;
  if (pcap.size() < 24 + 16 || le32(pcap.data()) != 0xa1b2c3d4) {
    // 0xa1b23c4d would be a nanosecond pcap; tcpdump writes microseconds.
    ADD_FAILURE() << "not a little-endian microsecond pcap";
    return out;
  }
  EXPECT_EQ(le32(&pcap[20]), 1u) << "link type must be Ethernet (DLT_EN10MB)";
  const uint8_t* rec = &pcap[24];
  out.seconds = le32(rec);
  const uint32_t caplen = le32(rec + 8);
  if (24 + 16 + caplen > pcap.size()) {
    ADD_FAILURE() << "truncated pcap record";
    return out;
  }
  const uint8_t* frame = rec + 16;
  const uint8_t* ip = frame + 14;
  if (caplen < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00 || (ip[0] >> 4) != 4 || ip[9] != 17) {
    ADD_FAILURE() << "first packet is not IPv4/UDP";
    return out;
  }
  const size_t ihl = (ip[0] & 0x0f) * 4u;
  const uint8_t* udp = ip + ihl;
  const size_t udp_len = (udp[4] << 8) | udp[5];
  if (14 + ihl + udp_len > caplen || udp_len < 8) {
    ADD_FAILURE() << "UDP length does not fit the frame";
    return out;
  }
  out.payload.assign(udp + 8, udp + udp_len);
  return out;
}

crypto::Secret<32> key_file(const std::string& name) {
  const auto bytes = test::from_base64(test::read_text_file(kDir + name));
  EXPECT_EQ(bytes.size(), 32u) << name;
  crypto::Secret<32> key;
  std::memcpy(key.data(), bytes.data(), std::min<size_t>(32, bytes.size()));
  return key;
}

PublicKey public_key_file(const std::string& name) {
  const auto bytes = test::from_base64(test::read_text_file(kDir + name));
  EXPECT_EQ(bytes.size(), 32u) << name;
  PublicKey key{};
  std::memcpy(key.data(), bytes.data(), std::min<size_t>(32, bytes.size()));
  return key;
}

class RecordedHandshake : public ::testing::Test {
 protected:
  void SetUp() override {
    const Captured cap = first_udp_payload(read_binary(kDir + "initiation.pcap"));
    payload_ = cap.payload;
    capture_seconds_ = cap.seconds;
    ASSERT_EQ(payload_.size(), wire::kInitiationSize);
    ASSERT_EQ(test::to_hex(payload_), test::read_text_file(kDir + "initiation.hex"))
        << "initiation.hex must be the pcap's payload";
  }

  std::vector<uint8_t> payload_;
  uint32_t capture_seconds_ = 0;
  StaticIdentity responder_ = StaticIdentity::from_private(key_file("responder_private.key"));
  PublicKey initiator_public_ = public_key_file("initiator_public.key");
};

TEST_F(RecordedHandshake, KeyFilesAreConsistent) {
  EXPECT_EQ(responder_.public_key, public_key_file("responder_public.key"));
  const auto initiator = StaticIdentity::from_private(key_file("initiator_private.key"));
  EXPECT_EQ(initiator.public_key, initiator_public_);
}

TEST_F(RecordedHandshake, Mac1Verifies) {
  cookie::CookieChecker checker(responder_.public_key);
  EXPECT_EQ(checker.validate(payload_, cookie::Source{}, false, 0), cookie::MacVerdict::kValidMacNoCookie);
  // Keyed to the responder: another key's checker refuses it.
  const auto other = StaticIdentity::from_private(crypto::generate_private_key());
  cookie::CookieChecker wrong(other.public_key);
  EXPECT_EQ(wrong.validate(payload_, cookie::Source{}, false, 0), cookie::MacVerdict::kInvalidMac);
}

TEST_F(RecordedHandshake, ResponderRecoversStaticKeyAndTimestamp) {
  auto msg = wire::parse_initiation(payload_);
  ASSERT_TRUE(msg.ok());
  auto opened = Handshake::open_initiation(*msg, responder_);
  ASSERT_TRUE(opened.ok()) << errc_name(opened.error().code);
  EXPECT_EQ(opened->remote_static, initiator_public_);
  EXPECT_EQ(opened->remote_index, msg->sender_index.get());

  Handshake peer(responder_, initiator_public_);
  peer.set_preshared_key(key_file("preshared.key"));
  auto ts = peer.consume_initiation(*opened, 0);
  ASSERT_TRUE(ts.ok()) << errc_name(ts.error().code);
  // wireguard-go stamped it when it sent it; tcpdump saw it within a second.
  const int64_t sent = static_cast<int64_t>(tai64n_unix_seconds(*ts));
  EXPECT_LE(std::abs(sent - static_cast<int64_t>(capture_seconds_)), 1) << "timestamp " << sent;
  EXPECT_EQ(tai64n_nanoseconds(*ts) & kTai64nWhitenerMask, 0u) << "wireguard-go whitens nanoseconds";

  // It also answers: a response is made and keys are derived.
  auto resp = peer.create_response(0x01020304);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->receiver_index.get(), msg->sender_index.get());
  EXPECT_TRUE(peer.begin_session().ok());
}

TEST_F(RecordedHandshake, ReplayOfTheRecordingIsRejected) {
  auto msg = wire::parse_initiation(payload_);
  ASSERT_TRUE(msg.ok());
  Handshake peer(responder_, initiator_public_);
  auto first = Handshake::open_initiation(*msg, responder_);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(peer.consume_initiation(*first, 0).ok());
  auto again = Handshake::open_initiation(*msg, responder_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(peer.consume_initiation(*again, 10 * wire::kNanosPerSecond).error().code, Errc::kReplayed);
}

TEST_F(RecordedHandshake, AnyTamperedByteFails) {
  cookie::CookieChecker checker(responder_.public_key);
  cookie::CookieMaker forger(responder_.public_key);
  const uint8_t ip[4] = {127, 0, 0, 1};
  for (size_t i = 0; i < payload_.size(); ++i) {
    SCOPED_TRACE("byte " + std::to_string(i));
    std::vector<uint8_t> bytes = payload_;
    bytes[i] ^= 0x10;
    if (i >= wire::kMac2Offset<wire::MessageInitiation>) {
      // mac2: only looked at under load, where a wrong one earns a cookie reply, never processing.
      EXPECT_NE(checker.validate(bytes, cookie::Source{ip, 51820}, true, 0),
                cookie::MacVerdict::kValidMacWithCookie);
      continue;
    }
    EXPECT_EQ(checker.validate(bytes, cookie::Source{}, false, 0), cookie::MacVerdict::kInvalidMac);
    if (i >= wire::kMac1Offset<wire::MessageInitiation> || i < 8) continue;
    // An attacker can recompute mac1; the Noise layer must still refuse.
    ASSERT_TRUE(forger.add_macs(bytes, 0).ok());
    auto msg = wire::parse_initiation(bytes);
    ASSERT_TRUE(msg.ok());
    Handshake peer(responder_, initiator_public_);
    auto opened = Handshake::open_initiation(*msg, responder_);
    EXPECT_FALSE(opened.ok() && peer.consume_initiation(*opened, 0).ok());
  }
}

}  // namespace
}  // namespace wirespeed::controlplane::noise
