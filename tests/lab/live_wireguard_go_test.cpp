// A live exchange with a real WireGuard, before any DPDK: Debian's
// wireguard-go runs in a network namespace this test creates; our protocol
// core, over a plain UDP socket on that namespace's loopback, performs the
// handshake as initiator and as responder, sends an ICMP echo request as a
// data message and decrypts the peer's echo reply. This proves the keys and
// the data format against an independent implementation.
//
// Needs root, /dev/net/tun, wireguard-go, wg and ip (scripts/setup.sh); a
// missing one fails the test with its name.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <optional>

#include "controlplane/cookie/cookie.hpp"
#include "controlplane/crypto/aead.hpp"
#include "controlplane/noise/handshake.hpp"
#include "tests/lab/wireguard_go_peer.hpp"
#include "tests/support/hex.hpp"

namespace wirespeed::test::lab {
namespace {

namespace wire = dataplane::wire;
namespace noise = controlplane::noise;
namespace cookie = controlplane::cookie;
namespace crypto = controlplane::crypto;

constexpr uint16_t kPeerPort = 51820;   // wireguard-go
constexpr uint16_t kOurPort = 51821;    // our socket
constexpr uint8_t kPeerTunnelIp[4] = {10, 77, 0, 1};
constexpr uint8_t kOurTunnelIp[4] = {10, 77, 0, 2};
constexpr int kReceiveTimeoutMs = 5000;

wire::Nanos monotonic_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<wire::Nanos>(ts.tv_sec) * wire::kNanosPerSecond + ts.tv_nsec;
}

uint16_t inet_checksum(const uint8_t* data, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// IPv4 + ICMP echo (type 8 request, 0 reply) with valid checksums.
std::vector<uint8_t> icmp_echo(uint8_t type, const uint8_t src[4], const uint8_t dst[4], uint16_t id,
                               uint16_t seq, const std::string& body) {
  const size_t icmp_len = 8 + body.size();
  std::vector<uint8_t> pkt(20 + icmp_len, 0);
  pkt[0] = 0x45;
  pkt[2] = static_cast<uint8_t>(pkt.size() >> 8);
  pkt[3] = static_cast<uint8_t>(pkt.size());
  pkt[8] = 64;  // TTL
  pkt[9] = 1;   // ICMP
  std::memcpy(&pkt[12], src, 4);
  std::memcpy(&pkt[16], dst, 4);
  const uint16_t ip_sum = inet_checksum(pkt.data(), 20);
  pkt[10] = ip_sum >> 8;
  pkt[11] = ip_sum & 0xff;
  uint8_t* icmp = &pkt[20];
  icmp[0] = type;
  icmp[4] = id >> 8;
  icmp[5] = id & 0xff;
  icmp[6] = seq >> 8;
  icmp[7] = seq & 0xff;
  std::memcpy(icmp + 8, body.data(), body.size());
  const uint16_t icmp_sum = inet_checksum(icmp, icmp_len);
  icmp[2] = icmp_sum >> 8;
  icmp[3] = icmp_sum & 0xff;
  return pkt;
}

struct Echo {
  uint8_t type;
  uint8_t src[4];
  uint8_t dst[4];
  uint16_t id;
  uint16_t seq;
  std::string body;
};

// Parses an IPv4 ICMP echo, checking both checksums; nullopt otherwise.
std::optional<Echo> parse_echo(const std::vector<uint8_t>& pkt) {
  if (pkt.size() < 28 || (pkt[0] >> 4) != 4 || pkt[9] != 1) return std::nullopt;
  const size_t ihl = (pkt[0] & 0x0f) * 4u;
  const size_t total = (pkt[2] << 8) | pkt[3];
  if (total > pkt.size() || total < ihl + 8) return std::nullopt;
  if (inet_checksum(pkt.data(), ihl) != 0 || inet_checksum(&pkt[ihl], total - ihl) != 0) return std::nullopt;
  Echo e;
  e.type = pkt[ihl];
  std::memcpy(e.src, &pkt[12], 4);
  std::memcpy(e.dst, &pkt[16], 4);
  e.id = (pkt[ihl + 4] << 8) | pkt[ihl + 5];
  e.seq = (pkt[ihl + 6] << 8) | pkt[ihl + 7];
  e.body.assign(pkt.begin() + ihl + 8, pkt.begin() + total);
  return e;
}

// Our end of the tunnel: a UDP socket and the protocol core's pieces.
class LiveWireguardGo : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = missing_prerequisites();
    ASSERT_TRUE(missing.empty()) << "lab prerequisites missing:" << missing;
  }

  void TearDown() override {
    if (sock_ >= 0) close(sock_);
  }

  // Starts wireguard-go with us as its peer and opens our socket next to it.
  void start_peer(const std::string& tag, bool with_endpoint, bool with_psk) {
    PeerConfig config;
    config.private_key_b64 = to_base64(peer_private_.data(), 32);
    config.listen_port = kPeerPort;
    config.tunnel_cidr = "10.77.0.1/24";
    config.peer_public_key_b64 = to_base64(us_.public_key.data(), 32);
    config.peer_allowed_ips = "10.77.0.2/32";
    if (with_endpoint) config.peer_endpoint = "127.0.0.1:" + std::to_string(kOurPort);
    if (with_psk) {
      randombytes_buf(psk_.data(), psk_.size());
      config.preshared_key_b64 = to_base64(psk_.data(), 32);
    }
    std::string error;
    ASSERT_TRUE(peer_.start(tag, config, &error)) << error;
    ASSERT_TRUE(peer_.enter(&error)) << error;

    sock_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(sock_, 0) << strerror(errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(kOurPort);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(sock_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << strerror(errno);
    peer_.leave();  // the socket stays in the namespace it was made in
  }

  void send_to(std::span<const uint8_t> bytes, const sockaddr_in& to) {
    ASSERT_EQ(sendto(sock_, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
              static_cast<ssize_t>(bytes.size()))
        << strerror(errno);
  }

  sockaddr_in peer_address() const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kPeerPort);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return to;
  }

  // The next datagram within the timeout; empty on timeout.
  std::vector<uint8_t> receive(sockaddr_in* from = nullptr) {
    pollfd pfd{sock_, POLLIN, 0};
    if (poll(&pfd, 1, kReceiveTimeoutMs) != 1) return {};
    std::vector<uint8_t> buf(2048);
    sockaddr_in src{};
    socklen_t len = sizeof(src);
    const ssize_t n = recvfrom(sock_, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&src), &len);
    if (n < 0) return {};
    buf.resize(static_cast<size_t>(n));
    if (from) *from = src;
    return buf;
  }

  // A data message: header, then the padded packet sealed with the send key.
  std::vector<uint8_t> seal_data(const noise::SessionKeys& keys, uint64_t counter,
                                 const std::vector<uint8_t>& packet) {
    std::vector<uint8_t> padded = packet;
    padded.resize((packet.size() + wire::kMessagePadding - 1) / wire::kMessagePadding * wire::kMessagePadding, 0);
    std::vector<uint8_t> msg(wire::kDataHeaderSize + padded.size() + wire::kTagLen);
    wire::MessageDataHeader hdr{};
    hdr.header = wire::make_header(wire::MessageType::kData);
    hdr.receiver_index.set(keys.remote_index);
    hdr.counter.set(counter);
    std::memcpy(msg.data(), &hdr, sizeof(hdr));
    auto sealed = crypto::chacha20poly1305_seal(std::span(msg).subspan(wire::kDataHeaderSize), padded, {},
                                                counter, keys.send.bytes());
    EXPECT_TRUE(sealed.ok());
    return msg;
  }

  // Opens a data message addressed to us; the decrypted (padded) packet, or
  // nullopt when it is not a data message for `keys` or does not authenticate.
  std::optional<std::vector<uint8_t>> open_data(const noise::SessionKeys& keys, const std::vector<uint8_t>& msg,
                                                uint64_t* counter_out) {
    auto hdr = wire::parse_data_header(msg);
    if (!hdr || hdr->receiver_index.get() != keys.local_index) return std::nullopt;
    std::vector<uint8_t> plain(msg.size() - wire::kDataHeaderSize - wire::kTagLen);
    const uint64_t counter = hdr->counter.get();
    if (!crypto::chacha20poly1305_open(plain, std::span(msg).subspan(wire::kDataHeaderSize), {}, counter,
                                       keys.receive.bytes())) {
      return std::nullopt;
    }
    if (counter_out) *counter_out = counter;
    return plain;
  }

  // Receives data messages until one decrypts to an ICMP echo of `type`
  // (keepalives — empty payloads — are skipped).
  std::optional<Echo> receive_echo(const noise::SessionKeys& keys, uint8_t type, int max_messages = 8) {
    for (int i = 0; i < max_messages; ++i) {
      const auto msg = receive();
      if (msg.empty()) return std::nullopt;
      auto plain = open_data(keys, msg, nullptr);
      if (!plain) {
        ADD_FAILURE() << "datagram of " << msg.size() << " bytes did not open as a data message for us";
        continue;
      }
      if (plain->empty()) continue;  // keepalive
      EXPECT_EQ(plain->size() % wire::kMessagePadding, 0u) << "peer pads to 16";
      auto echo = parse_echo(*plain);
      if (echo && echo->type == type) return echo;
    }
    return std::nullopt;
  }

  // Our side sends an echo request through the tunnel and checks the reply.
  void ping_through_tunnel(const noise::SessionKeys& keys, uint64_t counter, uint16_t seq) {
    const std::string body = "wirespeed live test " + std::to_string(seq);
    const auto request = icmp_echo(8, kOurTunnelIp, kPeerTunnelIp, 0x5753, seq, body);
    send_to(seal_data(keys, counter, request), peer_address());
    const auto reply = receive_echo(keys, 0);
    ASSERT_TRUE(reply.has_value()) << "no echo reply through the tunnel";
    EXPECT_EQ(0, memcmp(reply->src, kPeerTunnelIp, 4));
    EXPECT_EQ(0, memcmp(reply->dst, kOurTunnelIp, 4));
    EXPECT_EQ(reply->id, 0x5753);
    EXPECT_EQ(reply->seq, seq);
    EXPECT_EQ(reply->body, body);
  }

  void run_as_initiator(bool with_psk) {
    start_peer(with_psk ? "ipsk" : "init", false, with_psk);
    noise::Handshake handshake(us_, peer_public_);
    if (with_psk) handshake.set_preshared_key(psk_.clone());
    cookie::CookieMaker maker(peer_public_);
    cookie::CookieChecker checker(us_.public_key);

    constexpr uint32_t kOurIndex = 0x1a2b3c4d;
    auto init = handshake.create_initiation(kOurIndex, noise::tai64n_now());
    ASSERT_TRUE(init.ok());
    ASSERT_TRUE(maker.add_macs(wire::as_writable_bytes(*init), monotonic_now()).ok());
    send_to(wire::as_bytes(*init), peer_address());

    const auto reply = receive();
    ASSERT_EQ(reply.size(), wire::kResponseSize) << "no handshake response from wireguard-go";
    ASSERT_EQ(wire::classify(reply), wire::MessageType::kHandshakeResponse);
    EXPECT_EQ(checker.validate(reply, cookie::Source{}, false, monotonic_now()),
              cookie::MacVerdict::kValidMacNoCookie);
    auto resp = wire::parse_response(reply);
    ASSERT_TRUE(resp.ok());
    EXPECT_EQ(resp->receiver_index.get(), kOurIndex);
    auto consumed = handshake.consume_response(*resp);
    ASSERT_TRUE(consumed.ok()) << errc_name(consumed.error().code);
    auto keys = handshake.begin_session();
    ASSERT_TRUE(keys.ok());
    EXPECT_TRUE(keys->we_initiated);

    ping_through_tunnel(*keys, 0, 1);
    ping_through_tunnel(*keys, 1, 2);

    // wireguard-go itself records the handshake: `wg show latest-handshakes`
    // prints "<our public key>\t<unix seconds>", 0 until one completed.
    std::string out;
    ASSERT_EQ(peer_.exec_in_namespace({"wg", "show", peer_.interface(), "latest-handshakes"}, &out), 0)
        << out;
    const std::string prefix = to_base64(us_.public_key.data(), 32) + "\t";
    const size_t at = out.find(prefix);
    ASSERT_NE(at, std::string::npos) << out;
    const long long latest = std::atoll(out.c_str() + at + prefix.size());
    EXPECT_LE(std::llabs(latest - static_cast<long long>(time(nullptr))), 5)
        << "wireguard-go reports no recent handshake with us: " << out;
  }

  noise::StaticIdentity us_ = noise::StaticIdentity::from_private(crypto::generate_private_key());
  crypto::PrivateKey peer_private_ = crypto::generate_private_key();
  crypto::PublicKey peer_public_ = crypto::public_key(peer_private_);
  crypto::Key psk_;
  WireguardGoPeer peer_;
  int sock_ = -1;
};

TEST_F(LiveWireguardGo, OurInitiatorCompletesAHandshakeAndPingsThroughTheTunnel) {
  run_as_initiator(false);
}

TEST_F(LiveWireguardGo, OurInitiatorWithPresharedKey) { run_as_initiator(true); }

// wireguard-go initiates (a ping in its namespace towards our tunnel address
// makes it), we respond, answer its echo request, and ping it back.
TEST_F(LiveWireguardGo, OurResponderAnswersWireguardGosInitiation) {
  start_peer("resp", true, false);
  noise::Handshake handshake(us_, peer_public_);
  cookie::CookieMaker maker(peer_public_);
  cookie::CookieChecker checker(us_.public_key);

  const pid_t ping = peer_.spawn_in_namespace({"ping", "-c", "1", "-W", "5", "10.77.0.2"});
  ASSERT_GT(ping, 0);

  sockaddr_in from{};
  const auto datagram = receive(&from);
  ASSERT_EQ(datagram.size(), wire::kInitiationSize) << "no handshake initiation from wireguard-go";
  ASSERT_EQ(wire::classify(datagram), wire::MessageType::kHandshakeInitiation);
  const uint8_t lo[4] = {127, 0, 0, 1};
  ASSERT_EQ(checker.validate(datagram, cookie::Source{lo, ntohs(from.sin_port)}, false, monotonic_now()),
            cookie::MacVerdict::kValidMacNoCookie);
  auto init = wire::parse_initiation(datagram);
  ASSERT_TRUE(init.ok());
  auto opened = noise::Handshake::open_initiation(*init, us_);
  ASSERT_TRUE(opened.ok()) << errc_name(opened.error().code);
  ASSERT_EQ(opened->remote_static, peer_public_);
  auto ts = handshake.consume_initiation(*opened, monotonic_now());
  ASSERT_TRUE(ts.ok()) << errc_name(ts.error().code);
  const int64_t skew = static_cast<int64_t>(noise::tai64n_unix_seconds(*ts)) - time(nullptr);
  EXPECT_LE(std::abs(skew), 2) << "wireguard-go's TAI64N timestamp should be its wall clock";

  constexpr uint32_t kOurIndex = 0x0badcafe;
  auto resp = handshake.create_response(kOurIndex);
  ASSERT_TRUE(resp.ok());
  ASSERT_TRUE(maker.add_macs(wire::as_writable_bytes(*resp), monotonic_now()).ok());
  send_to(wire::as_bytes(*resp), from);
  auto keys = handshake.begin_session();
  ASSERT_TRUE(keys.ok());
  EXPECT_FALSE(keys->we_initiated);

  // The ping that triggered the handshake arrives as wireguard-go's first data.
  const auto request = receive_echo(*keys, 8);
  ASSERT_TRUE(request.has_value()) << "wireguard-go's staged echo request did not arrive";
  EXPECT_EQ(0, memcmp(request->src, kPeerTunnelIp, 4));
  EXPECT_EQ(0, memcmp(request->dst, kOurTunnelIp, 4));
  const auto answer = icmp_echo(0, kOurTunnelIp, kPeerTunnelIp, request->id, request->seq, request->body);
  send_to(seal_data(*keys, 0, answer), from);
  EXPECT_EQ(WireguardGoPeer::wait_background(ping, 6000), 0) << "ping in the namespace did not get our reply";

  ping_through_tunnel(*keys, 1, 7);
}

}  // namespace
}  // namespace wirespeed::test::lab
