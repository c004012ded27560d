// Tests for the UAPI text protocol (controlplane/uapi/protocol.hpp): a
// numbered table of well-formed requests as `wg` writes them, a table of
// malformed ones with the errno each must get, get replies byte for byte as
// wireguard-go writes them (what `wg` parses), and the rule that a request
// that does not parse never reaches the backend.
#include "controlplane/uapi/protocol.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace wirespeed::controlplane::uapi {
namespace {

std::string plain(const SecretString& text) {
  return std::string(text.begin(), text.end());
}

// 32 bytes b, b+1, ... as 64 lower-case hex digits.
std::string key_hex(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 32; ++i) {
    const uint8_t v = static_cast<uint8_t>(b + i);
    s += digits[v >> 4];
    s += digits[v & 15];
  }
  return s;
}

crypto::PublicKey key_bytes(uint8_t b) {
  crypto::PublicKey k{};
  for (int i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>(b + i);
  return k;
}

config::Prefix prefix(const char* text) {
  auto p = peers::parse_prefix(text);
  EXPECT_TRUE(p.ok()) << text;
  return peers::canonicalize(*p);
}

class FakeBackend : public Backend {
 public:
  DeviceInfo get() override {
    ++gets;
    DeviceInfo info;
    info.listen_port = 51820;
    return info;
  }
  int set(const SetRequest& request) override {
    ++sets;
    last_peers = request.peers.size();
    return set_result;
  }
  int gets = 0, sets = 0, set_result = 0;
  size_t last_peers = 0;
};

TEST(UapiParse, Get) {
  ParseResult r = parse_request("get=1\n\n");
  ASSERT_TRUE(r.request) << r.message;
  EXPECT_EQ(r.request->kind, RequestKind::kGet);
}

// What `wg set wsp0 private-key K listen-port 51999 peer P preshared-key Q
// endpoint 192.0.2.2:51820 persistent-keepalive 25 allowed-ips
// 10.8.1.0/24,fd00:1::/64` writes (ipc-uapi.h userspace_set_device).
TEST(UapiParse, SetEveryKeyAsWgWritesIt) {
  const std::string text = "set=1\nprivate_key=" + key_hex(1) +
                           "\nlisten_port=51999\nreplace_peers=true\npublic_key=" + key_hex(2) +
                           "\npreshared_key=" + key_hex(3) +
                           "\nendpoint=192.0.2.2:51820\npersistent_keepalive_interval=25\n"
                           "replace_allowed_ips=true\nallowed_ip=10.8.1.0/24\n"
                           "allowed_ip=fd00:1::/64\n\n";
  ParseResult r = parse_request(text);
  ASSERT_TRUE(r.request) << r.message;
  ASSERT_EQ(r.request->kind, RequestKind::kSet);
  const SetRequest& s = r.request->set;
  ASSERT_TRUE(s.private_key);
  EXPECT_EQ(s.private_key->data()[0], 1);
  EXPECT_EQ(s.private_key->data()[31], 32);
  EXPECT_EQ(s.listen_port, 51999);
  EXPECT_TRUE(s.replace_peers);
  ASSERT_EQ(s.peers.size(), 1u);
  const PeerChange& p = s.peers[0];
  EXPECT_EQ(p.public_key, key_bytes(2));
  ASSERT_TRUE(p.preshared_key);
  EXPECT_EQ(p.preshared_key->data()[0], 3);
  ASSERT_TRUE(p.endpoint);
  EXPECT_EQ(p.endpoint->address.family, 4);
  EXPECT_EQ(p.endpoint->address.bytes[0], 192);
  EXPECT_EQ(p.endpoint->address.bytes[3], 2);
  EXPECT_EQ(p.endpoint->port, 51820);
  EXPECT_EQ(p.persistent_keepalive, 25);
  EXPECT_TRUE(p.replace_allowed_ips);
  ASSERT_EQ(p.allowed_ips.size(), 2u);
  EXPECT_EQ(p.allowed_ips[0], prefix("10.8.1.0/24"));
  EXPECT_EQ(p.allowed_ips[1], prefix("fd00:1::/64"));
  EXPECT_FALSE(p.remove);
  EXPECT_FALSE(p.update_only);
}

TEST(UapiParse, SeveralPeersRemoveUpdateOnlyIpv6EndpointHostBits) {
  const std::string text = "set=1\npublic_key=" + key_hex(2) +
                           "\nremove=true\npublic_key=" + key_hex(4) +
                           "\nupdate_only=true\nprotocol_version=1\n"
                           "endpoint=[2001:db8::2]:443\nallowed_ip=10.8.1.7/24\n"
                           "preshared_key=" +
                           std::string(64, '0') + "\nfwmark=0\n\n";
  // fwmark after a public_key is a peer key: unknown there.
  EXPECT_EQ(parse_request(text).error, EINVAL);
  const std::string ok = text.substr(0, text.size() - std::strlen("fwmark=0\n\n")) + "\n";
  ParseResult r = parse_request(ok);
  ASSERT_TRUE(r.request) << r.message;
  const SetRequest& s = r.request->set;
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_TRUE(s.peers[0].remove);
  EXPECT_EQ(s.peers[1].public_key, key_bytes(4));
  EXPECT_TRUE(s.peers[1].update_only);
  ASSERT_TRUE(s.peers[1].endpoint);
  EXPECT_EQ(s.peers[1].endpoint->address.family, 6);
  EXPECT_EQ(s.peers[1].endpoint->address.bytes[0], 0x20);
  EXPECT_EQ(s.peers[1].endpoint->address.bytes[15], 2);
  EXPECT_EQ(s.peers[1].endpoint->port, 443);
  ASSERT_EQ(s.peers[1].allowed_ips.size(), 1u);
  EXPECT_EQ(s.peers[1].allowed_ips[0], prefix("10.8.1.0/24"));  // host bits dropped
  ASSERT_TRUE(s.peers[1].preshared_key);  // all zero: "remove the PSK", passed on as is
  EXPECT_TRUE(s.peers[1].preshared_key->is_zero());
}

TEST(UapiParse, UpperCaseHexAndDeviceFwmarkZeroAccepted) {
  std::string upper = key_hex(0xa0);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ParseResult r = parse_request("set=1\nfwmark=0\npublic_key=" + upper + "\n\n");
  ASSERT_TRUE(r.request) << r.message;
  EXPECT_EQ(r.request->set.peers.at(0).public_key, key_bytes(0xa0));
}

struct Malformed {
  int line;
  std::string text;
  int error;
};

// Every request here must fail whole with `error`.
TEST(UapiParse, MalformedRequestsGetTheirErrno) {
  const std::string pk = "public_key=" + key_hex(2) + "\n";
  const Malformed table[] = {
      {1, "", EPROTO},
      {2, "get=1\n", EPROTO},  // no blank line
      {3, "get=1", EPROTO},
      {4, "get=2\n\n", EINVAL},
      {5, "GET=1\n\n", EINVAL},
      {6, "get=1\nlisten_port=1\n\n", EINVAL},  // get takes nothing
      {7, "hello\n\n", EINVAL},
      {8, "\n\n", EINVAL},
      {9, "set=1\nlisten_port=0\n\n", EINVAL},
      {10, "set=1\nlisten_port=65536\n\n", EINVAL},
      {11, "set=1\nlisten_port=-1\n\n", EINVAL},
      {12, "set=1\nlisten_port=+5\n\n", EINVAL},
      {13, "set=1\nlisten_port= 5\n\n", EINVAL},
      {14, "set=1\nlisten_port=\n\n", EINVAL},
      {15, "set=1\nlisten_port\n\n", EINVAL},
      {16, "set=1\nprivate_key=" + key_hex(1).substr(2) + "\n\n", EINVAL},  // 62 digits
      {17, "set=1\nprivate_key=" + key_hex(1) + "00\n\n", EINVAL},          // 66 digits
      {18, "set=1\nprivate_key=" + std::string(63, '0') + "g\n\n", EINVAL},
      {19, "set=1\nprivate_key=" + std::string(64, '0') + "\n\n", EINVAL},  // all zero
      {20, "set=1\nfwmark=7\n\n", EOPNOTSUPP},
      {21, "set=1\nreplace_peers=yes\n\n", EINVAL},
      {22, "set=1\ncolour=blue\n\n", EINVAL},
      {23, "set=1\nendpoint=192.0.2.2:1\n\n", EINVAL},  // peer key before any public_key
      {24, "set=1\npublic_key=zz\n\n", EINVAL},
      {25, "set=1\n" + pk + "endpoint=192.0.2.2\n\n", EINVAL},
      {26, "set=1\n" + pk + "endpoint=192.0.2.2:0\n\n", EINVAL},
      {27, "set=1\n" + pk + "endpoint=192.0.2.2:70000\n\n", EINVAL},
      {28, "set=1\n" + pk + "endpoint=2001:db8::2:51820\n\n", EINVAL},  // needs brackets
      {29, "set=1\n" + pk + "endpoint=[192.0.2.2]:51820\n\n", EINVAL},
      {30, "set=1\n" + pk + "endpoint=[2001:db8::2]51820\n\n", EINVAL},
      {31, "set=1\n" + pk + "endpoint=host.example:51820\n\n", EINVAL},
      {32, "set=1\n" + pk + "endpoint=[fe80::1%eth0]:51820\n\n", EINVAL},
      {33, "set=1\n" + pk + "allowed_ip=10.8.1.0\n\n", EINVAL},  // length required
      {34, "set=1\n" + pk + "allowed_ip=10.8.1.0/33\n\n", EINVAL},
      {35, "set=1\n" + pk + "allowed_ip=fd00::/129\n\n", EINVAL},
      {36, "set=1\n" + pk + "allowed_ip=10.8.1.0/24x\n\n", EINVAL},
      {37, "set=1\n" + pk + "persistent_keepalive_interval=65536\n\n", EINVAL},
      {38, "set=1\n" + pk + "remove=1\n\n", EINVAL},
      {39, "set=1\n" + pk + "protocol_version=2\n\n", EINVAL},
      {40, "set=1\n" + pk + "preshared_key=abc\n\n", EINVAL},
      {41, "set=1\n" + pk + "listen_port=51820\n\n", EINVAL},  // device key inside a peer
      {42, "set=1\n" + pk + "rx_bytes=5\n\n", EINVAL},         // a get-only key
      {43, "set=1\n" + pk + "=5\n\n", EINVAL},
      {44, "set=1\n" + pk + "Endpoint=192.0.2.2:1\n\n", EINVAL},
      {45, "set=1\r\n\r\n", EPROTO},  // no blank line: \r is not a line end
      {46, "set=1\nlisten_port=1\r\n\n", EINVAL},
      {47, "set=1\nlisten_port=1\n\nget=1\n\n", EPROTO},           // two requests in one
      {48, "set=1\n" + std::string(300, 'a') + "=1\n\n", EINVAL},  // line too long
      {49, std::string("set=1\nlisten_\0port=1\n\n", sizeof("set=1\nlisten_\0port=1\n\n") - 1),
       EINVAL},
  };
  for (const Malformed& m : table) {
    ParseResult r = parse_request(m.text);
    EXPECT_FALSE(r.request) << "case " << m.line;
    EXPECT_EQ(r.error, m.error) << "case " << m.line << ": " << r.message;
    EXPECT_FALSE(r.message.empty()) << "case " << m.line;
  }
}

TEST(UapiParse, ErrorMessagesNeverCarryKeyMaterial) {
  // A private key one digit short: the message names the line and key only.
  const std::string bad = key_hex(0x41).substr(1);
  ParseResult r = parse_request("set=1\nprivate_key=" + bad + "\n\n");
  ASSERT_FALSE(r.request);
  EXPECT_EQ(r.message.find(bad.substr(0, 16)), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("private_key"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("line 2"), std::string::npos) << r.message;
}

TEST(UapiParse, TooManyPeersOrAllowedIpsAreRefused) {
  std::string text = "set=1\n";
  for (uint32_t i = 0; i <= 4 * dataplane::shm::kMaxPeers; ++i) {
    text += "public_key=" + key_hex(static_cast<uint8_t>(i)) + "\n";
  }
  EXPECT_EQ(parse_request(text + "\n").error, E2BIG);
  std::string ips = "set=1\npublic_key=" + key_hex(1) + "\n";
  for (unsigned i = 0; i <= 65536; ++i) ips += "allowed_ip=10.0.0.0/8\n";
  EXPECT_EQ(parse_request(ips + "\n").error, E2BIG);
}

// Mutations of well-formed requests and random bytes: every outcome is a
// request or one of the errnos above, never a crash (run under ASan/UBSan
// in the sanitizer build), and a parsed mutation formats back sensibly.
TEST(UapiParse, RandomMutationsNeverCrash) {
  const std::string seeds[] = {
      "get=1\n\n",
      "set=1\nprivate_key=" + key_hex(1) + "\nlisten_port=51820\nreplace_peers=true\npublic_key=" +
          key_hex(2) + "\npreshared_key=" + key_hex(3) +
          "\nendpoint=[2001:db8::2]:51820\npersistent_keepalive_interval=25\n"
          "replace_allowed_ips=true\nallowed_ip=10.8.1.0/24\nallowed_ip=fd00:1::/64\n\n",
  };
  uint64_t state = 0x9e3779b97f4a7c15ULL;  // fixed seed: a failure reproduces
  const auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const char alphabet[] = "=\n:/[]0123456789abcdefx_ .-\r\0\xff";
  unsigned parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[next() % 2];
    const unsigned edits = 1 + next() % 4;
    for (unsigned e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = next() % text.size();
      const char c = alphabet[next() % (sizeof(alphabet) - 1)];
      switch (next() % 3) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          text.erase(at, 1 + next() % 8);
          break;
      }
    }
    if (i % 10 == 0) {  // pure noise
      text.resize(next() % 64);
      for (char& c : text) c = static_cast<char>(next());
    }
    ParseResult r = parse_request(text);
    if (r.request) {
      ++parsed;
      EXPECT_EQ(r.error, 0);
    } else {
      EXPECT_TRUE(r.error == EINVAL || r.error == EPROTO || r.error == E2BIG ||
                  r.error == EOPNOTSUPP)
          << r.error << " for " << testing::PrintToString(text);
    }
  }
  EXPECT_GT(parsed, 0u) << "no mutation survived: the seeds themselves must parse";
}

// The get reply byte for byte: wireguard-go's order, lower-case hex, a zero
// preshared key for "none", no endpoint line when none is known.
TEST(UapiFormat, GetReplyIsByteExact) {
  crypto::PrivateKey priv;
  for (int i = 0; i < 32; ++i) priv.data()[i] = static_cast<uint8_t>(0x10 + i);
  DeviceInfo info;
  info.private_key = &priv;
  info.listen_port = 51820;
  PeerInfo& a = info.peers.emplace_back();
  a.public_key = key_bytes(0x40);
  crypto::Key psk;
  psk.data()[0] = 0xff;
  a.preshared_key = std::move(psk);
  a.endpoint.family = 4;
  a.endpoint.port = 51820;
  a.endpoint.addr[0] = 192;
  a.endpoint.addr[2] = 2;
  a.endpoint.addr[3] = 2;
  a.last_handshake_unix_ns = 1700000000123456789ULL;
  a.rx_bytes = 1234;
  a.tx_bytes = 5678;
  a.persistent_keepalive = 25;
  a.allowed_ips = {prefix("10.8.1.0/24"), prefix("fd00:1::/64")};
  PeerInfo& b = info.peers.emplace_back();
  b.public_key = key_bytes(0x60);
  PeerInfo& c = info.peers.emplace_back();
  c.public_key = key_bytes(0x80);
  c.endpoint.family = 6;
  c.endpoint.port = 443;
  c.endpoint.addr[0] = 0x20;
  c.endpoint.addr[1] = 0x01;
  c.endpoint.addr[2] = 0x0d;
  c.endpoint.addr[3] = 0xb8;
  c.endpoint.addr[15] = 2;

  const std::string zero(64, '0');
  const std::string want =
      "private_key=" + key_hex(0x10) + "\nlisten_port=51820\n" + "public_key=" + key_hex(0x40) +
      "\npreshared_key=ff" + std::string(62, '0') +
      "\nprotocol_version=1\nendpoint=192.0.2.2:51820\n"
      "last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=123456789\n"
      "tx_bytes=5678\nrx_bytes=1234\npersistent_keepalive_interval=25\n"
      "allowed_ip=10.8.1.0/24\nallowed_ip=fd00:1::/64\n" +
      "public_key=" + key_hex(0x60) + "\npreshared_key=" + zero +
      "\nprotocol_version=1\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
      "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n" +
      "public_key=" + key_hex(0x80) + "\npreshared_key=" + zero +
      "\nprotocol_version=1\nendpoint=[2001:db8::2]:443\n"
      "last_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
      "tx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=0\n"
      "errno=0\n\n";
  EXPECT_EQ(plain(format_get(info)), want);
}

TEST(UapiFormat, NoPrivateKeyNoPortNoPeers) {
  DeviceInfo info;
  EXPECT_EQ(plain(format_get(info)), "errno=0\n\n");
  EXPECT_EQ(format_errno(22), "errno=-22\n\n");
}

TEST(UapiHandle, MalformedNeverReachesTheBackend) {
  FakeBackend backend;
  std::string message;
  EXPECT_EQ(plain(handle_request("set=1\nlisten_port=0\n\n", backend, &message)), "errno=-22\n\n");
  EXPECT_EQ(backend.sets, 0);
  EXPECT_FALSE(message.empty());
  // A peer change that parses up to a bad last line: nothing applied.
  EXPECT_EQ(plain(handle_request("set=1\npublic_key=" + key_hex(2) + "\nallowed_ip=10.0.0.0/8\n" +
                                     "allowed_ip=bogus\n\n",
                                 backend, nullptr)),
            "errno=-22\n\n");
  EXPECT_EQ(backend.sets, 0);
}

TEST(UapiHandle, GetAndSetReachTheBackend) {
  FakeBackend backend;
  std::string message;
  EXPECT_EQ(plain(handle_request("get=1\n\n", backend, &message)),
            "listen_port=51820\nerrno=0\n\n");
  EXPECT_EQ(backend.gets, 1);
  EXPECT_EQ(plain(handle_request("set=1\npublic_key=" + key_hex(2) + "\n\n", backend, &message)),
            "errno=0\n\n");
  EXPECT_EQ(backend.sets, 1);
  EXPECT_EQ(backend.last_peers, 1u);
  EXPECT_TRUE(message.empty()) << message;
  backend.set_result = ENOSPC;
  EXPECT_EQ(plain(handle_request("set=1\n\n", backend, &message)), "errno=-28\n\n");
  EXPECT_NE(message.find("set refused"), std::string::npos) << message;
}

}  // namespace
}  // namespace wirespeed::controlplane::uapi
