// Data-path runs (datapath.hpp). The main lcore prepares and launches; each
// participating lcore runs lcore_main on its own stream.
#include "tests/bench/datapath.hpp"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include "dataplane/base/clock.hpp"
#include "tests/bench/bench.hpp"

namespace wirespeed::bench {

namespace {

namespace dp = wirespeed::dataplane;
constexpr unsigned kBurst = dp::pipeline::kBurst;

// A sense-reversing barrier for the lcores of one run; the main lcore
// resets replay windows while the others wait at it.
struct Barrier {
  std::atomic<unsigned> arrived{0};
  std::atomic<unsigned> generation{0};
  unsigned parties = 1;
  void wait() {
    const unsigned gen = generation.load(std::memory_order_acquire);
    if (arrived.fetch_add(1, std::memory_order_acq_rel) + 1 == parties) {
      arrived.store(0, std::memory_order_relaxed);
      generation.fetch_add(1, std::memory_order_acq_rel);
      return;
    }
    while (generation.load(std::memory_order_acquire) == gen) rte_pause();
  }
};

struct LcoreRun {
  BenchGateway* gw = nullptr;
  Direction dir = Direction::kEncap;
  const std::vector<Bytes>* stream = nullptr;
  dp::pipeline::LcoreContext* ctx = nullptr;
  unsigned passes = 0;
  bool leader = false;  // the main lcore: resets the replay windows
  Barrier* barrier = nullptr;
  uint64_t cycles = 0;
  uint64_t packets = 0;
  uint64_t alloc_failures = 0;
};

int lcore_main(void* arg) {
  LcoreRun& r = *static_cast<LcoreRun*>(arg);
  const std::vector<Bytes>& frames = *r.stream;
  const size_t bursts = frames.size() / kBurst;
  rte_mbuf* pkts[kBurst];
  for (unsigned pass = 0; pass < r.passes; ++pass) {
    r.barrier->wait();
    if (r.leader) r.gw->refresh_keypairs();
    r.barrier->wait();
    for (size_t b = 0; b < bursts; ++b) {
      if (rte_pktmbuf_alloc_bulk(r.gw->pool(), pkts, kBurst) != 0) {
        ++r.alloc_failures;
        continue;
      }
      for (unsigned i = 0; i < kBurst; ++i) {
        const Bytes& f = frames[b * kBurst + i];
        std::memcpy(rte_pktmbuf_mtod(pkts[i], void*), f.data(), f.size());
        pkts[i]->data_len = static_cast<uint16_t>(f.size());
        pkts[i]->pkt_len = static_cast<uint32_t>(f.size());
      }
      const uint64_t t0 = rte_rdtsc_precise();
      r.ctx->now_ns = monotonic_ns();
      if (r.dir == Direction::kEncap) {
        dp::pipeline::encap_burst(*r.ctx, pkts, kBurst);
      } else {
        dp::pipeline::decap_burst(*r.ctx, pkts, kBurst);
      }
      dp::pipeline::flush_tx(*r.ctx);
      r.cycles += rte_rdtsc_precise() - t0;
      r.packets += kBurst;
    }
  }
  return 0;
}

}  // namespace

Streams make_streams(BenchGateway& gw, Direction dir, unsigned size, bool one_peer,
                     unsigned lcores, unsigned frames_per_lcore) {
  Streams s;
  s.per_lcore.resize(lcores);
  frames_per_lcore -= frames_per_lcore % kBurst;
  if (one_peer && dir == Direction::kDecap) {
    // One run of counters, dealt out a burst at a time.
    for (unsigned t = 0; t < frames_per_lcore * lcores; ++t) {
      const unsigned burst = t / kBurst;
      s.per_lcore[burst % lcores].push_back(gw.sealed_from_peer(0, packet_size(size, t)));
    }
    return s;
  }
  for (unsigned w = 0; w < lcores; ++w) {
    std::vector<unsigned> peers;
    if (one_peer) {
      peers.push_back(0);
    } else {
      for (unsigned p = w; p < gw.peers(); p += lcores) peers.push_back(p);
    }
    std::vector<Bytes>& out = s.per_lcore[w];
    out.reserve(frames_per_lcore);
    for (unsigned t = 0; t < frames_per_lcore; ++t) {
      const unsigned peer = peers[t % peers.size()];
      const unsigned len = packet_size(size, t);
      out.push_back(dir == Direction::kEncap ? gw.lan_frame(peer, len) : gw.sealed_from_peer(peer, len));
    }
  }
  return s;
}

RunResult run(BenchGateway& gw, Direction dir, const Streams& streams,
              const std::vector<unsigned>& lcores, unsigned passes) {
  const unsigned n = static_cast<unsigned>(lcores.size());
  Barrier barrier;
  barrier.parties = n;
  std::vector<LcoreRun> runs(n);
  for (unsigned w = 0; w < n; ++w) {
    LcoreRun& r = runs[w];
    r.gw = &gw;
    r.dir = dir;
    r.stream = &streams.per_lcore[w];
    r.ctx = &gw.ctx(w);
    r.passes = passes;
    r.leader = w == 0;
    r.barrier = &barrier;
  }
  const uint64_t done_before = dir == Direction::kEncap ? gw.encrypted() : gw.decrypted();
  const std::vector<uint64_t> drops_before = gw.drops();
  for (unsigned w = 1; w < n; ++w) {
    if (rte_eal_remote_launch(lcore_main, &runs[w], lcores[w]) != 0) {
      std::fprintf(stderr, "wirespeed-bench: lcore %u is busy\n", lcores[w]);
      std::exit(1);
    }
  }
  lcore_main(&runs[0]);
  for (unsigned w = 1; w < n; ++w) rte_eal_wait_lcore(lcores[w]);

  RunResult res;
  const double hz = static_cast<double>(rte_get_tsc_hz());
  uint64_t cycles = 0, alloc_failures = 0;
  for (const LcoreRun& r : runs) {
    res.offered += r.packets;
    cycles += r.cycles;
    alloc_failures += r.alloc_failures;
    if (r.cycles != 0) res.mpps += static_cast<double>(r.packets) / (static_cast<double>(r.cycles) / hz) / 1e6;
  }
  res.ns_per_packet = res.offered == 0 ? 0 : static_cast<double>(cycles) / hz * 1e9 / static_cast<double>(res.offered);
  res.done = (dir == Direction::kEncap ? gw.encrypted() : gw.decrypted()) - done_before;
  res.drops = gw.drop_summary(drops_before);
  if (alloc_failures != 0) res.drops += " generator_alloc_failed=" + std::to_string(alloc_failures);
  return res;
}

}  // namespace wirespeed::bench
