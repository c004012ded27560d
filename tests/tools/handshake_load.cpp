// wirespeed-handshake-load: how many handshakes per second the control plane
// completes on one core (issue 6, "Scale"). A measurement tool, not a test:
// it prints figures and asserts nothing about them, but every handshake it
// counts is checked to have completed on both sides, and failures are counted
// and printed (exit status 1 when there are any).
//
// In one process, pinned to one CPU: one responder Device (the gateway's
// control plane, built from the same libraries as wirespeed-controlplane)
// with M peers, and M initiator Devices (real keys, each with the responder
// as its one peer) standing in for M remote peers. Ring messages are handed
// across in memory; no DPDK. Each round every initiator sends an initiation
// (force_rekey), the responder consumes it and answers, and the initiator
// consumes the response. Only the time spent inside the responder is the
// control plane's; the initiators' share is reported apart.
//
// Time inside the Devices is virtual: each round advances it by more than
// the protocol's per-peer limits (50 initiations/s per peer, TAI64N
// granularity, and under load 20/s per source address), so that the
// figures measure crypto and bookkeeping, not the limits' waiting.
//
// Phases, each printed as `NAME_per_second: <float>`:
//   handshakes            not under load: mac1, Noise, keypair install
//   handshakes_under_load under load: mac1 + mac2 (cookie) + per-source rate
//                         limit, initiators holding a cookie (they earn it
//                         from a cookie reply first, as wireguard-go does)
//   cookie_replies        under load, initiations without mac2: what a
//                         flood costs when the gateway answers with cookies
//   flood_rejects         not under load, junk initiations with a valid mac1
//                         (tests/tools/junk_initiation.hpp): one X25519 each
//
// Usage: wirespeed-handshake-load [--seconds N] [--initiators M] [--cpu C]
#include <sched.h>
#include <sodium.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/device/device.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/tools/junk_initiation.hpp"

namespace {

using namespace wirespeed;
namespace shm = dataplane::shm;
namespace wire = dataplane::wire;
using controlplane::device::Device;
using controlplane::device::DeviceOptions;
using controlplane::device::Outbox;
using wire::Nanos;

constexpr Nanos kS = wire::kNanosPerSecond;
constexpr Nanos kMs = wire::kNanosPerMilli;
constexpr uint16_t kPort = 51820;

uint64_t clock_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// The virtual clock every Device reads (monotonic and, offset, the wall).
struct VirtualClock {
  Nanos now = 1'000 * kS;
};
uint64_t wall_of(void* ctx) {
  return 1'700'000'000ULL * kS + static_cast<VirtualClock*>(ctx)->now;
}

shm::Endpoint endpoint_v4(uint32_t host, uint16_t port) {
  shm::Endpoint e;
  e.family = 4;
  e.port = port;
  e.addr[0] = 10;
  e.addr[1] = static_cast<uint8_t>(host >> 16);
  e.addr[2] = static_cast<uint8_t>(host >> 8);
  e.addr[3] = static_cast<uint8_t>(host);
  return e;
}

config::Endpoint to_config(const shm::Endpoint& e) {
  config::Endpoint c;
  c.address.family = e.family;
  std::memcpy(c.address.bytes.data(), e.addr, 16);
  c.port = e.port;
  return c;
}

struct Initiator {
  controlplane::crypto::PrivateKey key = controlplane::crypto::generate_private_key();
  shm::Endpoint endpoint;
  std::unique_ptr<Device> dev;
  Outbox out;
};

// The first kCmdTransmitUdp of `out`, as a span into it; empty when none.
std::span<const uint8_t> transmitted(const Outbox& out) {
  for (const shm::RingMessage& m : out) {
    if (m.kind != shm::MessageKind::kCmdTransmitUdp || m.length < sizeof(shm::CmdTransmitUdp)) {
      continue;
    }
    const auto* t = reinterpret_cast<const shm::CmdTransmitUdp*>(m.body);
    return std::span<const uint8_t>(t->payload, t->payload_len);
  }
  return {};
}

struct Rig {
  VirtualClock clock;
  controlplane::crypto::PrivateKey responder_key = controlplane::crypto::generate_private_key();
  controlplane::crypto::PublicKey responder_pub = controlplane::crypto::public_key(responder_key);
  shm::Endpoint responder_endpoint = endpoint_v4(1, kPort);
  std::unique_ptr<Device> responder;
  Outbox responder_out;
  std::vector<Initiator> initiators;

  DeviceOptions options() {
    DeviceOptions o;
    o.wall_clock = controlplane::device::WallClock{&wall_of, &clock};
    return o;
  }

  bool build(unsigned m, std::string* error) {
    initiators.resize(m);
    config::Config rcfg;
    rcfg.name = "load0";
    rcfg.private_key = responder_key.clone();
    for (unsigned i = 0; i < m; ++i) {
      Initiator& in = initiators[i];
      in.endpoint = endpoint_v4(0x10000 + i, static_cast<uint16_t>(40000 + i % 20000));
      config::PeerConfig pc;
      pc.public_key = controlplane::crypto::public_key(in.key);
      rcfg.peers.push_back(std::move(pc));

      config::Config icfg;
      icfg.name = "init";
      icfg.private_key = in.key.clone();
      config::PeerConfig rp;
      rp.public_key = responder_pub;
      rp.endpoint = to_config(responder_endpoint);
      icfg.peers.push_back(std::move(rp));
      auto dev = Device::create(icfg, options());
      if (!dev) {
        *error = std::string("initiator Device::create: ") + dev.error().context;
        return false;
      }
      in.dev = std::move(*dev);
      in.dev->install_peers(clock.now, in.out);
      controlplane::device::wipe_outbox(in.out);
    }
    auto dev = Device::create(rcfg, options());
    if (!dev) {
      *error = std::string("responder Device::create: ") + dev.error().context;
      return false;
    }
    responder = std::move(*dev);
    responder->install_peers(clock.now, responder_out);
    controlplane::device::wipe_outbox(responder_out);
    return true;
  }
};

struct PhaseResult {
  uint64_t completed = 0;       // handshakes complete on both sides
  uint64_t failures = 0;        // initiations that did not end in one
  uint64_t cookie_replies = 0;  // cookie replies the responder sent
  uint64_t responder_ns = 0;    // time inside the responder
  uint64_t total_ns = 0;        // wall time of the phase, initiators included
};

// One initiation from initiator i to the responder and, if it is answered,
// the answer back. Returns whether initiator i completed a handshake.
// A cookie reply is handed to the initiator (which then holds a cookie) and
// counts in result->cookie_replies; the caller decides whether to retry.
bool exchange(Rig& rig, Initiator& in, bool under_load, PhaseResult* result, bool* got_cookie) {
  *got_cookie = false;
  in.dev->force_rekey(0, rig.clock.now, in.out);
  const std::span<const uint8_t> initiation = transmitted(in.out);
  if (initiation.empty()) {
    controlplane::device::wipe_outbox(in.out);
    return false;
  }
  const uint64_t t0 = clock_ns();
  rig.responder->on_handshake_datagram(initiation, in.endpoint, under_load, rig.clock.now,
                                       rig.responder_out);
  result->responder_ns += clock_ns() - t0;
  controlplane::device::wipe_outbox(in.out);

  const std::span<const uint8_t> answer = transmitted(rig.responder_out);
  bool completed = false;
  if (!answer.empty()) {
    const uint64_t before = in.dev->stats().handshakes_as_initiator;
    const uint64_t cookies_before = in.dev->stats().cookie_replies_received;
    in.dev->on_handshake_datagram(answer, rig.responder_endpoint, false, rig.clock.now, in.out);
    completed = in.dev->stats().handshakes_as_initiator == before + 1;
    if (wire::classify(answer) == wire::MessageType::kHandshakeCookie) {
      ++result->cookie_replies;
      *got_cookie = in.dev->stats().cookie_replies_received == cookies_before + 1;
    }
    controlplane::device::wipe_outbox(in.out);
  }
  controlplane::device::wipe_outbox(rig.responder_out);
  return completed;
}

// Full handshakes for `seconds` of real time. Virtual time steps by `step`
// per round, so every initiator is within every per-peer and per-source limit.
PhaseResult run_handshakes(Rig& rig, double seconds, bool under_load, Nanos step) {
  PhaseResult r;
  const uint64_t responder_before = rig.responder->stats().handshakes_as_responder;
  const uint64_t start = clock_ns();
  const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
  while (clock_ns() < end) {
    rig.clock.now += step;
    for (Initiator& in : rig.initiators) {
      bool got_cookie = false;
      bool ok = exchange(rig, in, under_load, &r, &got_cookie);
      // Under load an initiator without a (fresh) cookie is told to prove
      // its address first; with the cookie its next initiation goes through,
      // as wireguard-go's retry would.
      if (!ok && got_cookie) ok = exchange(rig, in, under_load, &r, &got_cookie);
      if (ok) {
        ++r.completed;
      } else {
        ++r.failures;
      }
    }
  }
  r.total_ns = clock_ns() - start;
  // The responder's own count must agree: every completion was a response.
  const uint64_t responder_done = rig.responder->stats().handshakes_as_responder - responder_before;
  if (responder_done != r.completed) {
    std::fprintf(stderr, "responder completed %" PRIu64 " handshakes, initiators %" PRIu64 "\n",
                 responder_done, r.completed);
    r.failures +=
        responder_done > r.completed ? responder_done - r.completed : r.completed - responder_done;
  }
  return r;
}

// Initiations the responder cannot accept, for `seconds`: with
// under_load, real initiations without a cookie (each gets a cookie reply);
// without, junk with a valid mac1 (each costs one X25519 and is dropped).
PhaseResult run_rejections(Rig& rig, double seconds, bool under_load, uint64_t* rejected) {
  constexpr size_t kJunk = 256;
  std::vector<wire::MessageInitiation> junk(kJunk);
  test::tools::make_junk_initiations(rig.responder_pub, junk);
  PhaseResult r;
  const auto drops_before = rig.responder->stats().total_drops();
  const uint64_t cookies_before = rig.responder->stats().cookie_replies_sent;
  uint64_t sent = 0;
  const uint64_t start = clock_ns();
  const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
  while (clock_ns() < end) {
    rig.clock.now += kMs;
    for (size_t i = 0; i < kJunk; ++i) {
      const shm::Endpoint from = endpoint_v4(0x20000 + static_cast<uint32_t>(i), 1024);
      const uint64_t t0 = clock_ns();
      rig.responder->on_handshake_datagram(wire::as_bytes(junk[i]), from, under_load, rig.clock.now,
                                           rig.responder_out);
      r.responder_ns += clock_ns() - t0;
      controlplane::device::wipe_outbox(rig.responder_out);
      ++sent;
    }
  }
  r.total_ns = clock_ns() - start;
  r.cookie_replies = rig.responder->stats().cookie_replies_sent - cookies_before;
  *rejected = rig.responder->stats().total_drops() - drops_before;
  // Every one must have been answered with a cookie (under load) or dropped.
  const uint64_t accounted = under_load ? r.cookie_replies : *rejected;
  r.failures = sent - accounted;
  r.completed = accounted;
  return r;
}

double per_second(uint64_t n, uint64_t ns) {
  return ns == 0 ? 0.0 : static_cast<double>(n) * 1e9 / static_cast<double>(ns);
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--seconds N] [--initiators M (1..%u)] [--cpu C]\n", argv0,
               shm::kMaxPeers);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 5;
  unsigned initiators = 64;
  int cpu = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage(argv[0]);
    if (a == "--seconds") {
      seconds = std::atof(argv[++i]);
    } else if (a == "--initiators") {
      initiators = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (a == "--cpu") {
      cpu = std::atoi(argv[++i]);
    } else {
      return usage(argv[0]);
    }
  }
  if (seconds <= 0 || initiators == 0 || initiators > shm::kMaxPeers) return usage(argv[0]);
  if (sodium_init() < 0) {
    std::fprintf(stderr, "sodium_init failed\n");
    return 1;
  }

  // One core: the one we are on unless told.
  if (cpu < 0) cpu = sched_getcpu();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) {
    std::fprintf(stderr, "sched_setaffinity(cpu %d): %s\n", cpu, std::strerror(errno));
    return 1;
  }

  Rig rig;
  std::string error;
  if (!rig.build(initiators, &error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::printf("cpu: %d\ninitiators: %u\nseconds: %.1f\n", cpu, initiators, seconds);

  // 21 ms: past the 20 ms per-peer initiation spacing and TAI64N's ~16.8 ms
  // granularity. 51 ms under load: past the 50 ms per-source token.
  const PhaseResult normal = run_handshakes(rig, seconds, false, 21 * kMs);
  const double side = seconds / 2 > 1 ? seconds / 2 : 1;
  const PhaseResult loaded = run_handshakes(rig, side, true, 51 * kMs);
  uint64_t cookie_drops = 0, junk_drops = 0;
  const PhaseResult cookies = run_rejections(rig, side, true, &cookie_drops);
  const PhaseResult junk = run_rejections(rig, side, false, &junk_drops);

  std::printf("handshakes_completed: %" PRIu64 "\n", normal.completed);
  std::printf("handshake_failures: %" PRIu64 "\n", normal.failures);
  std::printf("handshakes_per_second: %.1f\n", per_second(normal.completed, normal.responder_ns));
  std::printf("round_trips_per_second: %.1f  (initiators' work on the same core included)\n",
              per_second(normal.completed, normal.total_ns));
  std::printf("handshakes_under_load_completed: %" PRIu64 "\n", loaded.completed);
  std::printf("handshakes_under_load_failures: %" PRIu64 "\n", loaded.failures);
  std::printf("handshakes_under_load_cookie_replies: %" PRIu64 "\n", loaded.cookie_replies);
  std::printf("handshakes_under_load_per_second: %.1f\n",
              per_second(loaded.completed, loaded.responder_ns));
  std::printf("cookie_replies_failures: %" PRIu64 "\n", cookies.failures);
  std::printf("cookie_replies_per_second: %.1f\n",
              per_second(cookies.completed, cookies.responder_ns));
  std::printf("flood_rejects_failures: %" PRIu64 "\n", junk.failures);
  std::printf("flood_rejects_per_second: %.1f\n", per_second(junk.completed, junk.responder_ns));
  const uint64_t failures = normal.failures + loaded.failures + cookies.failures + junk.failures;
  if (failures != 0) {
    std::printf("FAILED: %" PRIu64 " handshakes or rejections did not happen as expected\n",
                failures);
    return 1;
  }
  return 0;
}
