// wirespeed-dataplane: the DPDK primary (design-brief §1-2).
//
//   wirespeed-dataplane [EAL args] -- --config FILE
//
// Loads the config first (a bad one exits 2 before any device is touched),
// starts EAL (the config's dataplane.eal when the command line gives no EAL
// arguments), opens the outer and inner ports, creates the shared state, the
// tables and the rings, launches one worker per configured lcore, and then
// runs the single-writer loop on the main lcore until SIGINT or SIGTERM.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "dataplane/app/packet_socket_kick.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/base/hardening.hpp"
#include "dataplane/control/applier.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/pipeline/worker.hpp"
#include "dataplane/port/port.hpp"
#include "dataplane/shm/state.hpp"
#include "dataplane/telemetry/telemetry.hpp"

namespace {

using namespace wirespeed;
using namespace wirespeed::dataplane;

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [EAL args] -- --config FILE\n", argv0);
  return 2;
}

int fail(const char* what, const Error& e) {
  std::fprintf(stderr, "wirespeed-dataplane: %s: %s (%s%s%s)\n", what, e.context, errc_name(e.code),
               e.sys_errno != 0 ? ": " : "", e.sys_errno != 0 ? std::strerror(e.sys_errno) : "");
  return 1;
}

struct Args {
  std::vector<std::string> eal;
  std::string config;
};

bool parse_args(int argc, char** argv, Args& out) {
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) out.eal.emplace_back(argv[i]);
  if (i < argc) ++i;  // skip "--"
  for (; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      out.config = argv[++i];
    } else if (std::strncmp(argv[i], "--config=", 9) == 0) {
      out.config = argv[i] + 9;
    } else {
      return false;
    }
  }
  return !out.config.empty();
}

unsigned mempool_size(const config::Config& cfg, unsigned workers) {
  const unsigned tx_queues = workers + 1;
  unsigned n = 0;
  for (const config::PortConfig* p : {&cfg.outer, &cfg.inner}) {
    n += p->queues * port::kRxDescriptors + tx_queues * port::kTxDescriptors;
  }
  n += (workers + 1) * (256 + 2 * pipeline::kBurst * 2);  // caches and TX buffers
  // Staged packets: a full queue per peer, up to the gateway-wide budget.
  n += static_cast<unsigned>(
      std::min<size_t>((cfg.peers.size() + 1) * shm::kStageMax, shm::kStagedTotalMax));
  n += 4096;  // packets in flight between RX and TX
  unsigned pow2 = 1;
  while (pow2 < n + 1) pow2 <<= 1;
  return pow2 - 1;  // the mempool's optimal size is 2^k - 1
}

// A pid that has not exited (a zombie has).
bool process_alive(uint32_t pid) {
  if (pid == 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) return false;
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/%u/stat", pid);
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  char stat[512] = {};
  const size_t n = std::fread(stat, 1, sizeof(stat) - 1, f);
  std::fclose(f);
  const char* paren = std::strrchr(stat, ')');  // "PID (COMM) S ..."
  return paren == nullptr || static_cast<size_t>(paren - stat) + 2 >= n || paren[2] != 'Z';
}

// On the way out, before any shared memory is freed: a heartbeat of 0 tells
// an attached control plane that the dataplane is stopping (it exits with
// that message), and we wait for it to be gone. Freeing the state zone
// under a live secondary would unmap memory it is reading (it died of it,
// silently) and make EAL wait 5 s for the secondary's answer to the
// memory sync. A control plane that does not go within kDetachTimeoutMs
// (stopped, hung) is not waited for longer.
constexpr int kDetachTimeoutMs = 3000;

void detach_controlplane(shm::StateZone& zone) {
  zone.header.heartbeat_ns.store(0, std::memory_order_release);
  const uint32_t pid = zone.header.controlplane_pid.load();
  if (!process_alive(pid)) return;
  for (int waited = 0; waited < kDetachTimeoutMs; waited += 10) {
    if (!process_alive(pid)) return;
    usleep(10 * 1000);
  }
  std::fprintf(stderr,
               "wirespeed-dataplane: the control plane (pid %u) did not exit within %d ms\n", pid,
               kDetachTimeoutMs);
}

}  // namespace

int main(int argc, char** argv) {
  if (auto hardened = wirespeed::disable_core_dumps(); !hardened) {  // before any key is read
    std::fprintf(stderr, "wirespeed-dataplane: %s: %s\n", hardened.error().context,
                 std::strerror(hardened.error().sys_errno));
    return 1;
  }
  Args args;
  if (!parse_args(argc, argv, args)) return usage(argv[0]);

  config::LoadResult loaded = config::load_config(args.config);
  if (!loaded.config) {
    std::fprintf(stderr, "wirespeed-dataplane: %s\n", loaded.error.to_string().c_str());
    return 2;
  }
  const config::Config& cfg = *loaded.config;
  if (cfg.workers.size() > shm::kMaxWorkers) {
    std::fprintf(stderr, "wirespeed-dataplane: %s: at most %u workers\n", cfg.source_path.c_str(),
                 shm::kMaxWorkers);
    return 2;
  }
  if (cfg.peers.size() > shm::kMaxPeers) {
    std::fprintf(stderr, "wirespeed-dataplane: %s: at most %u peers\n", cfg.source_path.c_str(),
                 shm::kMaxPeers);
    return 2;
  }
  // Frames live in one mbuf (RX scatter is off): the largest outer frame,
  // inner MTU + IPv6/UDP/WireGuard overhead + Ethernet, must fit its room.
  constexpr unsigned kOuterOverhead = 40 + 8 + 32 + 14;
  if (cfg.mtu + kOuterOverhead > RTE_MBUF_DEFAULT_DATAROOM) {
    std::fprintf(stderr, "wirespeed-dataplane: %s: interface.mtu %u is too large for this build (at most %u)\n",
                 cfg.source_path.c_str(), cfg.mtu, RTE_MBUF_DEFAULT_DATAROOM - kOuterOverhead);
    return 2;
  }
  for (unsigned w : cfg.workers) {
    if (w >= RTE_MAX_LCORE - 1) {
      // The last lcore id belongs to the control plane (secondary_eal_args).
      std::fprintf(stderr, "wirespeed-dataplane: %s: worker lcore %u: ids up to %u only\n",
                   cfg.source_path.c_str(), w, RTE_MAX_LCORE - 2);
      return 2;
    }
  }
  pipeline::GatewayConfig gw;
  if (std::string error; !app::fill_addresses(cfg, gw, &error)) {
    std::fprintf(stderr, "wirespeed-dataplane: %s: %s\n", cfg.source_path.c_str(), error.c_str());
    return 2;
  }

  std::vector<std::string> eal = app::primary_eal_args(cfg, argv[0], args.eal);
  std::vector<char*> eal_argv;
  for (std::string& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "wirespeed-dataplane: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const unsigned main_lcore = rte_get_main_lcore();
  for (unsigned w : cfg.workers) {
    if (w == main_lcore || !rte_lcore_is_enabled(w)) {
      std::fprintf(stderr,
                   "wirespeed-dataplane: worker lcore %u is %s; give EAL an -l list with the main "
                   "lcore and every worker\n",
                   w, w == main_lcore ? "the main lcore" : "not enabled");
      rte_eal_cleanup();
      return 2;
    }
  }
  const unsigned workers = static_cast<unsigned>(cfg.workers.size());
  const int socket = static_cast<int>(rte_socket_id());
  int rc = 0;
  {
    rte_mempool* pool = rte_pktmbuf_pool_create("ws_mbufs", mempool_size(cfg, workers), 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, socket);
    if (pool == nullptr) {
      std::fprintf(stderr, "wirespeed-dataplane: mbuf pool: %s (reserve hugepages?)\n",
                   rte_strerror(rte_errno));
      rte_eal_cleanup();
      return 1;
    }
    const uint16_t tx_queues = static_cast<uint16_t>(workers + 1);
    auto outer = port::Port::open({cfg.outer.port, cfg.outer.queues, tx_queues,
                                   static_cast<uint16_t>(cfg.mtu + 80)}, pool);
    if (!outer) return fail(("outer port " + cfg.outer.port).c_str(), outer.error());
    auto inner = port::Port::open({cfg.inner.port, cfg.inner.queues, tx_queues, cfg.mtu}, pool);
    if (!inner) return fail(("inner port " + cfg.inner.port).c_str(), inner.error());
    std::printf("wirespeed-dataplane: outer %s\nwirespeed-dataplane: inner %s\n",
                outer->description().c_str(), inner->description().c_str());

    auto state = shm::SharedState::create(socket);
    if (!state) return fail("shared state", state.error());
    auto routes = tables::Routes::create("ws_routes", 65536, socket);
    if (!routes) return fail("routes", routes.error());
    auto index = tables::IndexMap::create("ws_index", shm::kMaxKeypairs * 2, socket);
    if (!index) return fail("receiver index", index.error());
    rte_ring* internal = rte_ring_create_elem("ws_internal", sizeof(uint32_t), 1024, socket,
                                              RING_F_SC_DEQ);
    const size_t rcu_size = rte_rcu_qsbr_get_memsize(workers);
    auto* rcu = static_cast<rte_rcu_qsbr*>(rte_zmalloc("ws_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
    if (internal == nullptr || rcu == nullptr || rte_rcu_qsbr_init(rcu, workers) != 0) {
      std::fprintf(stderr, "wirespeed-dataplane: internal ring / RCU: %s\n", rte_strerror(rte_errno));
      return 1;
    }

    const unsigned outer_i = static_cast<unsigned>(shm::PortRole::kOuter);
    const unsigned inner_i = static_cast<unsigned>(shm::PortRole::kInner);
    gw.port_id[outer_i] = outer->id();
    gw.port_id[inner_i] = inner->id();
    gw.mac[outer_i] = outer->mac();
    gw.mac[inner_i] = inner->mac();
    gw.addresses[outer_i].link_local_v6 = net::link_local_from_mac(outer->mac());
    gw.addresses[inner_i].link_local_v6 = net::link_local_from_mac(inner->mac());

    shm::StateZone& zone = state->zone();
    zone.header.worker_count = workers;
    zone.header.listen_port = cfg.listen_port;
    zone.header.tsc_hz = rte_get_tsc_hz();
    zone.header.lcore_ids[0] = static_cast<uint16_t>(main_lcore);
    for (unsigned w = 0; w < workers; ++w) {
      zone.header.lcore_ids[w + 1] = static_cast<uint16_t>(cfg.workers[w]);
    }
    for (unsigned p = 0; p < shm::kPortCount; ++p) {
      const port::Port& port = p == outer_i ? *outer : *inner;
      std::memcpy(zone.header.ports[p].mac, port.mac().bytes.data(), 6);
      zone.header.ports[p].ethdev_port = port.id();
      zone.header.ports[p].queues = port.rx_queues();
      zone.header.ports[p].mtu = port.mtu();
    }

    // One context per lcore: row 0 and TX queue 0 for the main lcore.
    std::vector<std::unique_ptr<pipeline::LcoreContext>> contexts;
    std::vector<crypto::AeadEngine> engines;
    engines.reserve(workers + 1);
    for (unsigned i = 0; i <= workers; ++i) {
      auto engine = crypto::AeadEngine::create();
      if (!engine) return fail("IPsec-MB", engine.error());
      engines.push_back(std::move(*engine));
      auto ctx = std::make_unique<pipeline::LcoreContext>();
      ctx->row = i;
      ctx->tx_queue = static_cast<uint16_t>(i);
      ctx->gw = &gw;
      ctx->zone = &zone;
      ctx->punt = state->punt();
      ctx->events = state->events();
      ctx->internal = internal;
      ctx->routes = &*routes;
      ctx->index = &*index;
      ctx->engine = &engines.back();
      ctx->ipv4_id = static_cast<uint16_t>(i << 12);
      contexts.push_back(std::move(ctx));
    }
    std::printf("wirespeed-dataplane: ChaCha20-Poly1305 by IPsec-MB (%s)\n", engines[0].arch_name());

    // With more than one worker, a worker that is behind hands bursts to an
    // idle one (pipeline/worker.hpp): one busy tunnel is not capped at the
    // lcore that polls its RX queue.
    pipeline::WorkShare* share = nullptr;
    if (workers > 1) {
      share = static_cast<pipeline::WorkShare*>(
          rte_zmalloc("ws_share", sizeof(pipeline::WorkShare), RTE_CACHE_LINE_SIZE));
      if (share == nullptr) {
        std::fprintf(stderr, "wirespeed-dataplane: work share: out of memory\n");
        return 1;
      }
      new (share) pipeline::WorkShare();
      const char* names[shm::kPortCount] = {"ws_share_outer", "ws_share_inner"};
      for (unsigned p = 0; p < shm::kPortCount; ++p) {
        share->ring[p] = rte_ring_create(names[p], 8 * pipeline::kBurst, socket, 0);
        if (share->ring[p] == nullptr) {
          std::fprintf(stderr, "wirespeed-dataplane: work share ring: %s\n", rte_strerror(rte_errno));
          return 1;
        }
      }
    }

    // RX queues round-robin over the workers.
    std::vector<pipeline::WorkerSpec> specs(workers);
    for (unsigned w = 0; w < workers; ++w) {
      specs[w].ctx = contexts[w + 1].get();
      specs[w].rcu = rcu;
      specs[w].rcu_thread_id = w;
      specs[w].stop = &g_stop;
      specs[w].share = share;
      specs[w].index = w;
    }
    for (uint16_t q = 0; q < outer->rx_queues(); ++q)
      specs[q % workers].rx.push_back({outer->id(), q, shm::PortRole::kOuter});
    for (uint16_t q = 0; q < inner->rx_queues(); ++q)
      specs[q % workers].rx.push_back({inner->id(), q, shm::PortRole::kInner});

    control::Applier applier(*state, *routes, *index, rcu, *contexts[0], gw, pool, internal);
    // Operators' views: /wirespeed/ telemetry and dpdk-dumpcap. A gateway
    // that cannot offer them still forwards; say so and carry on.
    auto telemetry_commands = telemetry::TelemetryCommands::register_commands(zone);
    if (!telemetry_commands) {
      std::fprintf(stderr, "wirespeed-dataplane: telemetry commands unavailable: %s (%s)\n",
                   telemetry_commands.error().context, std::strerror(telemetry_commands.error().sys_errno));
    }
    auto capture = telemetry::PacketCapture::enable();
    if (!capture) {
      std::fprintf(stderr, "wirespeed-dataplane: dpdk-dumpcap unavailable: %s (%s)\n",
                   capture.error().context, rte_strerror(capture.error().sys_errno));
    }
    for (unsigned w = 0; w < workers; ++w) {
      rte_eal_remote_launch(pipeline::worker_main, &specs[w], cfg.workers[w]);
    }
    // net_af_packet's TX rings after a link flap (packet_socket_kick.hpp).
    app::PacketSocketKick kick = app::PacketSocketKick::find_sockets();
    std::printf("wirespeed-dataplane: %u worker(s), listening on UDP %u, file prefix %s\n", workers,
                cfg.listen_port, cfg.file_prefix.c_str());
    std::printf("wirespeed-dataplane: ready\n");
    std::fflush(stdout);

    // The single writer. It idles in short sleeps when there is nothing to
    // do: commands are rare and latency of a few hundred microseconds is
    // nothing to a handshake.
    // Row 0's busy ratio: the passes that applied something, sleeps
    // included in the total (one TSC read per pass, as the workers).
    shm::LcoreCounters& main_counters = contexts[0]->counters();
    uint64_t pass_start_tsc = rte_rdtsc();
    while (!g_stop.load()) {
      const uint64_t now = monotonic_ns();
      const bool busy = applier.poll(now) != 0;
      kick.poll(now);
      if (!busy) usleep(200);
      const uint64_t pass_end_tsc = rte_rdtsc();
      main_counters.total_tsc.add(pass_end_tsc - pass_start_tsc);
      if (busy) main_counters.busy_tsc.add(pass_end_tsc - pass_start_tsc);
      main_counters.loops.add(1);
      pass_start_tsc = pass_end_tsc;
    }

    std::printf("wirespeed-dataplane: stopping\n");
    std::fflush(stdout);
    detach_controlplane(zone);
    rte_eal_mp_wait_lcore();
    if (share != nullptr) {  // bursts handed over that no worker took before stopping
      for (rte_ring* ring : share->ring) {
        void* m = nullptr;
        while (rte_ring_dequeue(ring, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
        rte_ring_free(ring);
      }
      rte_free(share);
    }
    applier.drop_all_staged();
    rte_ring_free(internal);
    rte_free(rcu);
  }
  rte_eal_cleanup();
  return rc;
}
