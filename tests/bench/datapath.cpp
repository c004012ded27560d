// Data-path runs (datapath.hpp). The main lcore prepares and launches; each
// participating lcore runs lcore_main on its own stream.
#include "tests/bench/datapath.hpp"

#include <rte_cycles.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <emmintrin.h>

#include <algorithm>
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

// A NIC's DMA leaves a received frame in memory (or, with DDIO, the shared
// L3), never in the polling core's L1/L2. memcpy does the opposite: the
// generating lcore would hold every frame hot in its own cache and any
// other lcore that works on it would pay to fetch it from there. Streaming
// (non-temporal) stores write the frame past the caches instead, which is
// the fair model when a burst may be processed on another lcore.
void copy_frame(uint8_t* dst, const Bytes& f, bool dma_like) {
  if (!dma_like) {
    std::memcpy(dst, f.data(), f.size());
    return;
  }
  size_t i = 0;
  if ((reinterpret_cast<uintptr_t>(dst) & 15) == 0) {
    for (; i + 16 <= f.size(); i += 16) {
      _mm_stream_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(f.data() + i)));
    }
  }
  std::memcpy(dst + i, f.data() + i, f.size() - i);
}

// The generator: burst b of `frames` in 32 fresh mbufs of the pool (the
// work a NIC's RX does; never timed). False when the pool is empty.
bool generate_burst(rte_mempool* pool, const std::vector<Bytes>& frames, size_t b,
                    rte_mbuf** pkts, bool dma_like) {
  if (rte_pktmbuf_alloc_bulk(pool, pkts, kBurst) != 0) return false;
  for (unsigned i = 0; i < kBurst; ++i) {
    const Bytes& f = frames[b * kBurst + i];
    copy_frame(rte_pktmbuf_mtod(pkts[i], uint8_t*), f, dma_like);
    pkts[i]->data_len = static_cast<uint16_t>(f.size());
    pkts[i]->pkt_len = static_cast<uint32_t>(f.size());
  }
  if (dma_like) _mm_sfence();
  return true;
}

struct LcoreRun {
  BenchGateway* gw = nullptr;
  Direction dir = Direction::kEncap;
  const std::vector<Bytes>* stream = nullptr;
  dp::pipeline::LcoreContext* ctx = nullptr;
  unsigned passes = 0;
  bool leader = false;  // the main lcore: resets the replay windows
  Barrier* barrier = nullptr;
  // One peer's counters dealt over lcores: meet every this many bursts, so
  // that no lcore runs a replay window's width (8128) ahead of another —
  // the generator's drift, not the data path's, would show as replay drops.
  unsigned sync_every = 0;
  uint64_t cycles = 0;
  uint64_t packets = 0;
  uint64_t alloc_failures = 0;
  std::vector<uint32_t> burst_cycles;  // every timed burst (reserved before the run)
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
      if (r.sync_every != 0 && b % r.sync_every == 0) r.barrier->wait();
      if (!generate_burst(r.gw->pool(), frames, b, pkts, false)) {
        ++r.alloc_failures;
        continue;
      }
      const uint64_t t0 = rte_rdtsc_precise();
      r.ctx->now_ns = monotonic_ns();
      if (r.dir == Direction::kEncap) {
        dp::pipeline::encap_burst(*r.ctx, pkts, kBurst);
      } else {
        dp::pipeline::decap_burst(*r.ctx, pkts, kBurst);
      }
      dp::pipeline::flush_tx(*r.ctx);
      const uint64_t spent = rte_rdtsc_precise() - t0;
      r.cycles += spent;
      r.burst_cycles.push_back(static_cast<uint32_t>(spent));
      r.packets += kBurst;
    }
  }
  return 0;
}

// run_one_queue's lcores: lcore 0 receives and dispatches, the others help.
struct QueueRun {
  BenchGateway* gw = nullptr;
  Direction dir = Direction::kEncap;
  const std::vector<Bytes>* stream = nullptr;
  dp::pipeline::WorkerSpec spec;
  unsigned passes = 0;
  bool receiver = false;
  Barrier* barrier = nullptr;
  std::atomic<bool>* pass_done = nullptr;
  bool dma_like = false;
  uint64_t packets = 0;
  uint64_t alloc_failures = 0;
};

int queue_lcore_main(void* arg) {
  QueueRun& r = *static_cast<QueueRun*>(arg);
  dp::pipeline::WorkerSpec& spec = r.spec;
  const auto role = r.dir == Direction::kEncap ? dp::shm::PortRole::kInner : dp::shm::PortRole::kOuter;
  const std::vector<Bytes>& frames = *r.stream;
  const size_t bursts = frames.size() / kBurst;
  rte_mbuf* pkts[kBurst];
  for (unsigned pass = 0; pass < r.passes; ++pass) {
    r.barrier->wait();
    if (r.receiver) {
      r.gw->refresh_keypairs();
      r.pass_done->store(false);
    }
    r.barrier->wait();
    if (r.receiver) {
      dp::pipeline::set_idle(spec, false);
      for (size_t b = 0; b < bursts; ++b) {
        if (!generate_burst(r.gw->pool(), frames, b, pkts, r.dma_like)) {
          ++r.alloc_failures;
          continue;
        }
        spec.ctx->now_ns = monotonic_ns();
        dp::pipeline::dispatch_burst(spec, role, pkts, kBurst);
        dp::pipeline::flush_tx(*spec.ctx);
        r.packets += kBurst;
      }
      r.pass_done->store(true, std::memory_order_release);
    } else {
      dp::pipeline::set_idle(spec, true);
      for (;;) {
        const bool done = r.pass_done->load(std::memory_order_acquire);
        spec.ctx->now_ns = monotonic_ns();
        if (dp::pipeline::help_shared(spec) != 0) {
          dp::pipeline::flush_tx(*spec.ctx);
        } else if (done) {
          break;  // done was read before this empty look at the rings
        } else {
          rte_pause();
        }
      }
      dp::pipeline::set_idle(spec, false);
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
    s.one_peer = true;
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
    // Dealt streams (make_streams) have equal lengths, so every lcore
    // reaches each meeting point.
    r.sync_every = streams.one_peer && n > 1 ? 32 : 0;
    r.burst_cycles.reserve(streams.per_lcore[w].size() / kBurst * passes);
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
  std::vector<uint32_t> all;
  for (const LcoreRun& r : runs) all.insert(all.end(), r.burst_cycles.begin(), r.burst_cycles.end());
  if (!all.empty()) {
    std::nth_element(all.begin(), all.begin() + all.size() / 2, all.end());
    res.median_burst_ns_per_packet = all[all.size() / 2] / hz * 1e9 / kBurst;
  }
  res.done = (dir == Direction::kEncap ? gw.encrypted() : gw.decrypted()) - done_before;
  res.drops = gw.drop_summary(drops_before);
  if (alloc_failures != 0) res.drops += " generator_alloc_failed=" + std::to_string(alloc_failures);
  return res;
}

RunResult run_one_queue(BenchGateway& gw, Direction dir, const std::vector<Bytes>& stream,
                        const std::vector<unsigned>& lcores, unsigned passes, bool dma_like) {
  const unsigned n = static_cast<unsigned>(lcores.size());
  Barrier barrier;
  barrier.parties = n;
  std::atomic<bool> pass_done{false};
  std::vector<QueueRun> runs(n);
  for (unsigned w = 0; w < n; ++w) {
    QueueRun& r = runs[w];
    r.gw = &gw;
    r.dir = dir;
    r.stream = &stream;
    r.spec.ctx = &gw.ctx(w);
    r.spec.share = n > 1 ? &gw.share() : nullptr;
    r.spec.index = w;
    r.passes = passes;
    r.receiver = w == 0;
    r.barrier = &barrier;
    r.pass_done = &pass_done;
    r.dma_like = dma_like;
  }
  const uint64_t done_before = dir == Direction::kEncap ? gw.encrypted() : gw.decrypted();
  const std::vector<uint64_t> drops_before = gw.drops();
  for (unsigned w = 1; w < n; ++w) {
    if (rte_eal_remote_launch(queue_lcore_main, &runs[w], lcores[w]) != 0) {
      std::fprintf(stderr, "wirespeed-bench: lcore %u is busy\n", lcores[w]);
      std::exit(1);
    }
  }
  const uint64_t start = monotonic_ns();
  queue_lcore_main(&runs[0]);
  for (unsigned w = 1; w < n; ++w) rte_eal_wait_lcore(lcores[w]);
  const uint64_t elapsed = monotonic_ns() - start;

  RunResult res;
  res.offered = runs[0].packets;
  res.done = (dir == Direction::kEncap ? gw.encrypted() : gw.decrypted()) - done_before;
  res.mpps = static_cast<double>(res.offered) / (static_cast<double>(elapsed) / 1e9) / 1e6;
  res.ns_per_packet = static_cast<double>(elapsed) / static_cast<double>(res.offered);
  res.drops = gw.drop_summary(drops_before);
  if (runs[0].alloc_failures != 0) res.drops += " generator_alloc_failed=" + std::to_string(runs[0].alloc_failures);
  return res;
}

}  // namespace wirespeed::bench
