// A reproducible pair of Devices for the handshake fuzz targets and their
// seed generator (make_seeds.cpp): the gateway G under test and its one peer
// P, with the throw-away keys of tests/data/wireguard_go_handshake/ (G plays
// the responder of that recording, P wireguard-go), so that the recorded
// initiation is a valid seed too.
//
// Everything random comes from libsodium's randombytes, which the fuzz
// process replaces (use_deterministic_random) by a counter generator that
// is reset to a named seed before each step whose randomness a seed message
// depends on: G's ephemeral key and index for its initiation, G's cookie
// secret. The generator and the targets reset at the same steps, so a seed
// message generated once stays valid in every fuzz run — which is what lets
// the fuzzer past mac1, the static key's decryption and the index lookup.
// A test process must never do this: these are fuzzing fixtures only.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "controlplane/device/device.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::fuzz {

namespace device = controlplane::device;
namespace shm = dataplane::shm;
namespace wire = dataplane::wire;
using wire::Nanos;

// --- Deterministic randombytes ------------------------------------------------

inline uint64_t& random_state() {
  static uint64_t state = 0;
  return state;
}

// splitmix64: reproducible and good enough to make distinct keys; not a
// cryptographic generator (fuzzing needs reproducible, not secret).
inline uint64_t next_random() {
  uint64_t z = (random_state() += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline void reset_random(uint64_t seed) {
  random_state() = seed;
}

inline const char* random_name() {
  return "wirespeed-fuzz";
}
inline uint32_t random_u32() {
  return static_cast<uint32_t>(next_random());
}
inline void random_stir() {}
inline void random_buf(void* buf, size_t size) {
  auto* p = static_cast<uint8_t*>(buf);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(next_random());
}

// Before the first sodium_init() of the process (Device::create calls it).
inline void use_deterministic_random() {
  static randombytes_implementation impl = {&random_name, &random_u32, &random_stir,
                                            nullptr,      &random_buf, nullptr};
  randombytes_set_implementation(&impl);
  reset_random(1);
}

// Seeds reset before the steps that matter (see the file comment).
inline constexpr uint64_t kSeedInitiation = 0x1001;    // G's initiation: ephemeral, index
inline constexpr uint64_t kSeedCookieSecret = 0x2002;  // G's cookie secret, reply nonce

// --- The world ------------------------------------------------------------------

inline constexpr Nanos kNow = 1'000 * wire::kNanosPerSecond;
// Unix time of P's initiations (TAI64N): after the recording's.
inline constexpr uint64_t kWallNs = 1'795'400'000ULL * wire::kNanosPerSecond;

// tests/data/wireguard_go_handshake/*.key
inline constexpr char kGatewayPrivate[] = "YLjbqJfHmLtzAPHDDV+ua/UxPwqVCg/ArmWCD5uvAXU=";
inline constexpr char kPeerPrivate[] = "qGsojNUn+2J3wmgEqpW9V8Po2aUKEHnWyrvgpRHfLUI=";
inline constexpr char kPresharedKey[] = "8BaB/0iH2rGN289ahSgmfC5AIjdS1MDziVy0hlMmKxQ=";

inline std::array<uint8_t, 32> decode32(const char* base64) {
  std::array<uint8_t, 32> out{};
  size_t len = 0;
  if (sodium_base642bin(out.data(), out.size(), base64, std::strlen(base64), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != out.size()) {
    __builtin_trap();  // a typo in the constants above
  }
  return out;
}

inline shm::Endpoint endpoint_v4(uint8_t last, uint16_t port) {
  shm::Endpoint e;
  e.family = 4;
  e.port = port;
  e.addr[0] = 192;
  e.addr[1] = 0;
  e.addr[2] = 2;
  e.addr[3] = last;
  return e;
}

inline const shm::Endpoint kGatewayEndpoint = endpoint_v4(1, 51820);
inline const shm::Endpoint kPeerEndpoint = endpoint_v4(2, 51820);

inline uint64_t fixed_wall(void*) {
  return kWallNs;
}

inline std::unique_ptr<device::Device> make_device(const char* own_private,
                                                   const char* peer_private,
                                                   const shm::Endpoint& peer_endpoint) {
  config::Config cfg;
  cfg.name = "wsfuzz0";
  const auto own = decode32(own_private);
  cfg.private_key = controlplane::crypto::PrivateKey(std::span<const uint8_t, 32>(own));
  const auto peer = decode32(peer_private);
  config::PeerConfig pc;
  pc.public_key = controlplane::crypto::public_key(
      controlplane::crypto::PrivateKey(std::span<const uint8_t, 32>(peer)));
  const auto psk = decode32(kPresharedKey);
  pc.preshared_key = controlplane::crypto::Key(std::span<const uint8_t, 32>(psk));
  config::Endpoint e;
  e.address.family = peer_endpoint.family;
  std::memcpy(e.address.bytes.data(), peer_endpoint.addr, 16);
  e.port = peer_endpoint.port;
  pc.endpoint = e;
  cfg.peers.push_back(std::move(pc));

  device::DeviceOptions opts;
  opts.jitter = {};
  opts.wall_clock = device::WallClock{&fixed_wall, nullptr};
  auto dev = device::Device::create(cfg, std::move(opts));
  if (!dev) __builtin_trap();
  device::Outbox out;
  (*dev)->install_peers(kNow, out);
  device::wipe_outbox(out);
  return std::move(*dev);
}

// G: the gateway under test, whose one peer (slot 0) is P.
inline std::unique_ptr<device::Device> make_gateway() {
  return make_device(kGatewayPrivate, kPeerPrivate, kPeerEndpoint);
}
// P: the gateway's peer, played by our own Device to make seed messages.
inline std::unique_ptr<device::Device> make_peer() {
  return make_device(kPeerPrivate, kGatewayPrivate, kGatewayEndpoint);
}

// The UDP payloads of the kCmdTransmitUdp commands in `out`.
inline std::vector<std::vector<uint8_t>> transmitted(const device::Outbox& out) {
  std::vector<std::vector<uint8_t>> r;
  for (const auto& m : out) {
    if (m.kind != shm::MessageKind::kCmdTransmitUdp) continue;
    shm::CmdTransmitUdp t;
    std::memcpy(&t, m.body, sizeof(t));
    r.emplace_back(t.payload, t.payload + t.payload_len);
  }
  return r;
}

// `dev` starts a handshake with its peer (slot 0) and returns the initiation
// it sends: the state the response and cookie-reply targets start from.
inline std::vector<uint8_t> initiate(device::Device& dev) {
  reset_random(kSeedInitiation);
  shm::RingMessage ev{};
  ev.kind = shm::MessageKind::kEventNeedHandshake;
  ev.peer = 0;
  device::Outbox out;
  dev.on_event(ev, kNow, out);
  auto sent = transmitted(out);
  device::wipe_outbox(out);
  if (sent.size() != 1 || sent[0].size() != wire::kInitiationSize) __builtin_trap();
  return sent[0];
}

// The gateway each target feeds its input to, as the seeds expect it.
// fuzz_initiation: fresh, before its first cookie secret.
inline std::unique_ptr<device::Device> gateway_for_initiations() {
  auto gateway = make_gateway();
  reset_random(kSeedCookieSecret);
  return gateway;
}
// fuzz_response, fuzz_cookie_reply: with its initiation to P in flight.
inline std::unique_ptr<device::Device> gateway_awaiting_response() {
  auto gateway = make_gateway();
  (void)initiate(*gateway);
  reset_random(kSeedCookieSecret);
  return gateway;
}

// --- The fuzz input ---------------------------------------------------------------
//
// Byte 0: bit 0 = under load (mac2/cookie path); bits 1-2 = the source: P's
// endpoint, an IPv6 address, 127.0.0.1:51820 (where the recording came from),
// or family 0 (a glue bug the Device must survive). The rest: the datagram.

struct Input {
  bool under_load = false;
  shm::Endpoint from;
  std::span<const uint8_t> datagram;
};

inline uint8_t flags_byte(bool under_load, unsigned source) {
  return static_cast<uint8_t>((under_load ? 1 : 0) | (source & 3) << 1);
}

inline Input split_input(const uint8_t* data, size_t size) {
  Input in;
  if (size == 0) return in;
  in.under_load = (data[0] & 1) != 0;
  switch ((data[0] >> 1) & 3) {
    case 0:
      in.from = kPeerEndpoint;
      break;
    case 1:
      in.from.family = 6;
      in.from.port = 51820;
      in.from.addr[0] = 0x20;
      in.from.addr[1] = 0x01;
      in.from.addr[2] = 0x0d;
      in.from.addr[3] = 0xb8;
      in.from.addr[15] = 2;
      break;
    case 2:
      in.from.family = 4;
      in.from.port = 51820;
      in.from.addr[0] = 127;
      in.from.addr[3] = 1;
      break;
    default:
      break;  // family 0
  }
  in.datagram = std::span<const uint8_t>(data + 1, size - 1);
  return in;
}

// Every datagram ends in exactly one counter: a drop or a success.
inline uint64_t outcomes(const device::DeviceStats& s) {
  return s.total_drops() + s.initiations_received + s.responses_received +
         s.cookie_replies_received + s.cookie_replies_sent;
}

// Feeds one fuzz input to `dev` and checks what it did with it.
inline void feed(device::Device& dev, const uint8_t* data, size_t size) {
  const Input in = split_input(data, size);
  if (size == 0) return;
  const uint64_t before = outcomes(dev.stats());
  device::Outbox out;
  dev.on_handshake_datagram(in.datagram, in.from, in.under_load, kNow, out);
  if (outcomes(dev.stats()) != before + 1) __builtin_trap();  // uncounted or double-counted
  for (const auto& payload : transmitted(out)) {
    // A response or a cookie reply, nothing else, and never to nowhere.
    if (payload.size() != wire::kResponseSize && payload.size() != wire::kCookieReplySize)
      __builtin_trap();
  }
  device::wipe_outbox(out);
}

}  // namespace wirespeed::fuzz
