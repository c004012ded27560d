// The generated part of the fuzz seed corpora (tests/fuzz/corpus/README.md):
// real handshake messages between the fixed-key Devices of
// handshake_world.hpp, data messages sealed under data_world.hpp's key, and
// outer frames carrying them or asking the responder something.
//
//   fuzz_make_seeds write tests/fuzz/corpus   (re)writes the generated files
//   fuzz_make_seeds check tests/fuzz/corpus   every committed "valid*"
//       handshake seed must still be taken by a fresh gateway for what it is
//       (consumed, or answered with a cookie under load, never dropped):
//       fails when a change to the Device makes the seeds stale, which would
//       leave the fuzzer stuck at mac1. scripts/test.sh runs it.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "dataplane/crypto/chacha_poly.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/replay/replay_window.hpp"
#include "tests/fuzz/data_world.hpp"
#include "tests/fuzz/frame_world.hpp"
#include "tests/fuzz/handshake_world.hpp"

namespace {

using namespace wirespeed::fuzz;
namespace fs = std::filesystem;
namespace crypto = wirespeed::dataplane::crypto;
using Bytes = std::vector<uint8_t>;

// tests/data/wireguard_go_handshake/initiation.hex: wireguard-go's
// initiation to the key pair G uses.
constexpr char kRecordedInitiation[] =
    "010000007cb19ffbbcc6eefbef3bd6aa00bac2993d4cd2196081732f960cc20196ace2bfdd991e590ae87d01a1"
    "0a5c76532bd312080765c74f7cfdda9a3601140e3d3bc04fe9f15f4e68840f8885a9e8469dea41b1d9f3f79faf"
    "44ade33db57269cb3c8c16dbeb1cfb3e6c97ff4277738774ea6fd48f879e6d54e986e263a3964d3ad380000000"
    "00000000000000000000000000";

Bytes from_hex(const char* hex) {
  Bytes out(std::strlen(hex) / 2);
  size_t len = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex, std::strlen(hex), nullptr, &len, nullptr) != 0)
    __builtin_trap();
  out.resize(len);
  return out;
}

Bytes with_flags(uint8_t flags, const Bytes& datagram) {
  Bytes out{flags};
  out.insert(out.end(), datagram.begin(), datagram.end());
  return out;
}

struct Writer {
  fs::path root;
  unsigned files = 0;
  void put(const std::string& target, const std::string& name, const Bytes& bytes) {
    fs::create_directories(root / target);
    std::ofstream f(root / target / name, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      std::fprintf(stderr, "fuzz_make_seeds: cannot write %s\n", (root / target / name).c_str());
      std::exit(1);
    }
    ++files;
  }
};

// --- Handshake messages -----------------------------------------------------

std::vector<Bytes> send(device::Device& to, const Bytes& datagram, const shm::Endpoint& from,
                        bool under_load) {
  device::Outbox out;
  to.on_handshake_datagram(datagram, from, under_load, kNow, out);
  auto sent = transmitted(out);
  device::wipe_outbox(out);
  return sent;
}

Bytes one(std::vector<Bytes> sent) {
  if (sent.size() != 1) __builtin_trap();
  return sent[0];
}

void write_handshake_seeds(Writer& w) {
  // initiation/: P's initiation to G as it is, from elsewhere, under load
  // (G answers with a cookie), and P's next one with the mac2 of that cookie.
  {
    auto peer = make_peer();
    const Bytes init = initiate(*peer);
    w.put("initiation", "valid-ours", with_flags(flags_byte(false, 0), init));
    w.put("initiation", "valid-ours-from-v6", with_flags(flags_byte(false, 1), init));
    w.put("initiation", "valid-ours-under-load", with_flags(flags_byte(true, 0), init));
    w.put("initiation", "valid-wireguard-go",
          with_flags(flags_byte(false, 2), from_hex(kRecordedInitiation)));
    Bytes bad_mac = init;
    bad_mac[wire::kMac1Offset<wire::MessageInitiation>] ^= 1;
    w.put("initiation", "bad-mac1", with_flags(flags_byte(false, 0), bad_mac));

    auto gateway = gateway_for_initiations();
    const Bytes reply = one(send(*gateway, init, kPeerEndpoint, true));
    if (reply.size() != wire::kCookieReplySize) __builtin_trap();
    if (!send(*peer, reply, kGatewayEndpoint, false).empty()) __builtin_trap();
    device::Outbox out;
    peer->force_rekey(0, kNow, out);
    const auto again = transmitted(out);
    device::wipe_outbox(out);
    if (again.size() != 1) __builtin_trap();
    w.put("initiation", "valid-ours-with-mac2-under-load",
          with_flags(flags_byte(true, 0), again[0]));
  }
  // response/ and cookie_reply/: P's answers to G's initiation.
  {
    auto gateway = make_gateway();
    const Bytes init = initiate(*gateway);
    auto peer = make_peer();
    const Bytes cookie = one(send(*peer, init, kGatewayEndpoint, true));
    w.put("cookie_reply", "valid", with_flags(flags_byte(false, 0), cookie));
    w.put("cookie_reply", "valid-from-v6", with_flags(flags_byte(false, 1), cookie));
    Bytes wrong_index = cookie;
    wrong_index[4] ^= 0x80;
    w.put("cookie_reply", "unknown-index", with_flags(flags_byte(false, 0), wrong_index));

    const Bytes response = one(send(*peer, init, kGatewayEndpoint, false));
    if (response.size() != wire::kResponseSize) __builtin_trap();
    w.put("response", "valid", with_flags(flags_byte(false, 0), response));
    w.put("response", "valid-roamed-v6", with_flags(flags_byte(false, 1), response));
    w.put("response", "valid-under-load", with_flags(flags_byte(true, 0), response));
    Bytes bad_tag = response;
    bad_tag[offsetof(wire::MessageResponse, encrypted_nothing)] ^= 1;
    w.put("response", "bad-empty-tag", with_flags(flags_byte(false, 0), bad_tag));
  }
}

// Every committed "valid*" handshake seed is taken for what it is.
int check_handshake_seeds(const fs::path& root) {
  unsigned checked = 0, stale = 0;
  for (const char* target : {"initiation", "response", "cookie_reply"}) {
    if (!fs::is_directory(root / target)) {
      std::fprintf(stderr, "fuzz_make_seeds: %s: no such corpus\n", (root / target).c_str());
      return 1;
    }
    for (const auto& entry : fs::directory_iterator(root / target)) {
      if (entry.path().filename().string().rfind("valid", 0) != 0) continue;
      std::ifstream f(entry.path(), std::ios::binary);
      const Bytes input{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
      auto gateway = std::strcmp(target, "initiation") == 0 ? gateway_for_initiations()
                                                            : gateway_awaiting_response();
      feed(*gateway, input.data(), input.size());
      ++checked;
      // What each valid seed is for: under load without a cookie G answers
      // with one; otherwise the message is consumed.
      const std::string name = entry.path().filename().string();
      const auto& st = gateway->stats();
      const bool cookie_asked =
          name.find("under-load") != std::string::npos && name.find("mac2") == std::string::npos;
      const uint64_t taken = cookie_asked                             ? st.cookie_replies_sent
                             : std::strcmp(target, "initiation") == 0 ? st.initiations_received
                             : std::strcmp(target, "response") == 0   ? st.responses_received
                                                                      : st.cookie_replies_received;
      if (taken != 1) {
        ++stale;
        std::fprintf(stderr, "fuzz_make_seeds: %s is not taken as it should be (stale seed?)\n",
                     entry.path().c_str());
      }
    }
  }
  if (checked == 0) {
    std::fprintf(stderr, "fuzz_make_seeds: no valid* seeds under %s\n", root.c_str());
    return 1;
  }
  std::printf("fuzz seeds: %u valid handshake seeds checked, %u stale\n", checked, stale);
  if (stale != 0) {
    std::fprintf(stderr,
                 "fuzz_make_seeds: regenerate with `build-fuzz/tests/fuzz/fuzz_make_seeds write "
                 "tests/fuzz/corpus` and commit the result\n");
  }
  return stale == 0 ? 0 : 1;
}

// --- Data messages ------------------------------------------------------------

crypto::AeadEngine& engine() {
  static crypto::AeadEngine e = [] {
    auto created = crypto::AeadEngine::create();
    if (!created) __builtin_trap();
    return std::move(*created);
  }();
  return e;
}

// An inner packet: IPv4 (20-byte header + 8) or IPv6 (40 + 8), UDP inside.
Bytes inner_packet(uint8_t family) {
  Bytes p(family == 4 ? 28 : 48, 0);
  if (family == 4) {
    p[0] = 0x45;
    net::store_be16(&p[2], 28);
    p[8] = 64;
    p[9] = net::kIpProtoUdp;
    const uint8_t src[4] = {10, 99, 0, 1}, dst[4] = {10, 99, 0, 2};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
    net::store_be16(&p[10], net::internet_checksum(p.data(), 20));
    net::store_be16(&p[24], 8);
  } else {
    p[0] = 0x60;
    net::store_be16(&p[4], 8);
    p[6] = net::kIpProtoUdp;
    p[7] = 64;
    p[8] = 0xfd;
    p[23] = 1;
    p[24] = 0xfd;
    p[39] = 2;
    net::store_be16(&p[44], 8);
  }
  return p;
}

Bytes sealed(uint64_t counter, Bytes plain, uint32_t receiver = kDataReceiverIndex) {
  while (plain.size() % 16 != 0) plain.push_back(0);  // WireGuard's padding
  Bytes m(wire::kDataHeaderSize + plain.size() + wire::kTagLen, 0);
  wire::MessageDataHeader h;
  h.header = wire::make_header(wire::MessageType::kData);
  h.receiver_index.set(receiver);
  h.counter.set(counter);
  std::memcpy(m.data(), &h, sizeof(h));
  if (!plain.empty()) std::memcpy(m.data() + wire::kDataHeaderSize, plain.data(), plain.size());
  uint8_t* body = m.data() + wire::kDataHeaderSize;
  crypto::seal(engine(), kDataKey, counter, body, plain.size(), body + plain.size());
  return m;
}

Bytes records(std::initializer_list<Bytes> payloads) {
  Bytes out;
  for (const Bytes& p : payloads) append_record(out, p);
  return out;
}

void write_data_seeds(Writer& w) {
  const Bytes v4 = inner_packet(4), v6 = inner_packet(6);
  w.put("data", "in-order", records({sealed(0, v4), sealed(1, v4), sealed(2, v6), sealed(3, {})}));
  w.put("data", "reordered-replayed",
        records({sealed(5, v4), sealed(2, v4), sealed(5, v4), sealed(9000, v6), sealed(100, v4),
                 sealed(900, v4), sealed(8999, {})}));
  Bytes bad_tag = sealed(7, v4);
  bad_tag.back() ^= 1;
  w.put("data", "bad-tag-then-good", records({bad_tag, sealed(7, v4)}));
  w.put("data", "unknown-index", records({sealed(1, v4, kDataReceiverIndex ^ 1)}));
  w.put("data", "reject-after-messages",
        records({sealed(wirespeed::dataplane::replay::ReplayWindow::kRejectAfterMessages - 1, {}),
                 sealed(wirespeed::dataplane::replay::ReplayWindow::kRejectAfterMessages, {})}));
  w.put("data", "not-data", records({from_hex(kRecordedInitiation), Bytes{4, 0, 0, 0, 1, 2}}));
}

// --- Outer frames ---------------------------------------------------------------

Bytes udp_frame(uint8_t family, const Bytes& payload, uint16_t dst_port = kListenPort) {
  const size_t hl = net::outer_header_len(family);
  Bytes f(hl + payload.size());
  std::memcpy(f.data() + hl, payload.data(), payload.size());
  const net::IpAddr src = family == 4 ? kTheirV4 : their_v6();
  const net::IpAddr dst = family == 4 ? kOurV4 : our_v6();
  if (net::write_outer_headers(f.data(), kTheirMac, kOurMac, src, dst, 51820, dst_port,
                               f.data() + hl, static_cast<uint16_t>(payload.size()), 1, true) != hl)
    __builtin_trap();
  return f;
}

Bytes echo_v4() {
  Bytes f(14 + 20 + 16, 0);
  std::memcpy(&f[0], kOurMac.bytes.data(), 6);
  std::memcpy(&f[6], kTheirMac.bytes.data(), 6);
  net::store_be16(&f[12], net::kEtherTypeIpv4);
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  net::store_be16(ip + 2, 36);
  net::store_be16(ip + 4, 0x1234);
  ip[8] = 64;
  ip[9] = net::kIpProtoIcmp;
  std::memcpy(ip + 12, kTheirV4.bytes.data(), 4);
  std::memcpy(ip + 16, kOurV4.bytes.data(), 4);
  net::store_be16(ip + 10, net::internet_checksum(ip, 20));
  uint8_t* icmp = ip + 20;
  icmp[0] = 8;
  net::store_be16(icmp + 4, 0x77);
  net::store_be16(icmp + 6, 1);
  for (unsigned i = 8; i < 16; ++i) icmp[i] = static_cast<uint8_t>(i);
  net::store_be16(icmp + 2, net::internet_checksum(icmp, 16));
  return f;
}

Bytes echo_v6() {
  Bytes f(14 + 40 + 16, 0);
  std::memcpy(&f[0], kOurMac.bytes.data(), 6);
  std::memcpy(&f[6], kTheirMac.bytes.data(), 6);
  net::store_be16(&f[12], net::kEtherTypeIpv6);
  uint8_t* ip = &f[14];
  ip[0] = 0x60;
  net::store_be16(ip + 4, 16);
  ip[6] = net::kIpProtoIcmpv6;
  ip[7] = 64;
  std::memcpy(ip + 8, their_v6().bytes.data(), 16);
  std::memcpy(ip + 24, our_v6().bytes.data(), 16);
  uint8_t* icmp = ip + 40;
  icmp[0] = 128;
  net::store_be16(icmp + 4, 0x77);
  net::store_be16(icmp + 6, 1);
  for (unsigned i = 8; i < 16; ++i) icmp[i] = static_cast<uint8_t>(i);
  const uint32_t sum = net::pseudo_header_sum(their_v6(), our_v6(), net::kIpProtoIcmpv6, 16);
  net::store_be16(icmp + 2, net::checksum_finish(net::checksum_add(sum, icmp, 16)));
  return f;
}

void write_frame_seeds(Writer& w) {
  const Bytes data = sealed(0, inner_packet(4));
  w.put("frame", "v4-data", with_flags(0, udp_frame(4, data)));
  w.put("frame", "v6-data", with_flags(0, udp_frame(6, data)));
  w.put("frame", "v4-wireguard-go-initiation",
        with_flags(0, udp_frame(4, from_hex(kRecordedInitiation))));
  w.put("frame", "v4-other-port", with_flags(0, udp_frame(4, data, 53)));

  Bytes out(128);
  size_t n = net::build_arp_request(out, kTheirMac, kTheirV4, kOurV4);
  w.put("frame", "arp-request",
        with_flags(0, Bytes(out.begin(), out.begin() + static_cast<long>(n))));
  n = net::build_neighbor_solicitation(out, kTheirMac, their_v6(), our_v6());
  const Bytes ns(out.begin(), out.begin() + static_cast<long>(n));
  w.put("frame", "v6-neighbor-solicitation", with_flags(0, ns));
  Bytes na = ns;  // the same shape as an advertisement; the harness fixes the checksum
  na[14 + 40] = 136;
  w.put("frame", "v6-neighbor-advertisement-fixsum", with_flags(1, na));
  w.put("frame", "v4-echo", with_flags(0, echo_v4()));
  w.put("frame", "v6-echo", with_flags(0, echo_v6()));
  w.put("frame", "v6-echo-fixsum", with_flags(1, echo_v6()));

  Bytes frag = udp_frame(4, data);
  frag[14 + 6] = 0x20;  // MF
  w.put("frame", "v4-fragment", with_flags(1, frag));
  Bytes vlan = udp_frame(4, data);
  const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x07};
  vlan.insert(vlan.begin() + 12, tag, tag + 4);
  w.put("frame", "vlan-tagged", with_flags(0, vlan));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "write") != 0 && std::strcmp(argv[1], "check") != 0)) {
    std::fprintf(stderr, "usage: fuzz_make_seeds write|check CORPUS_DIR\n");
    return 1;
  }
  use_deterministic_random();
  if (std::strcmp(argv[1], "check") == 0) return check_handshake_seeds(argv[2]);
  Writer w{argv[2]};
  write_handshake_seeds(w);
  write_data_seeds(w);
  write_frame_seeds(w);
  std::printf("fuzz_make_seeds: wrote %u files under %s\n", w.files, argv[2]);
  return 0;
}
