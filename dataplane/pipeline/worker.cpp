// The worker loop and work sharing (see worker.hpp). Worker lcores only.
#include "dataplane/pipeline/worker.hpp"

#include <rte_cycles.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include "dataplane/base/clock.hpp"

namespace wirespeed::dataplane::pipeline {

namespace {

void process(LcoreContext& ctx, shm::PortRole role, rte_mbuf** pkts, unsigned n) noexcept {
  if (role == shm::PortRole::kOuter) {
    decap_burst(ctx, pkts, n);
  } else {
    encap_burst(ctx, pkts, n);
  }
}

}  // namespace

void set_idle(WorkerSpec& spec, bool idle) noexcept {
  if (spec.share == nullptr) return;
  const uint64_t bit = 1ULL << spec.index;
  const uint64_t now = spec.share->idle.load(std::memory_order_relaxed);
  if (((now & bit) != 0) == idle) return;  // the common case: no write to the shared line
  if (idle) {
    spec.share->idle.fetch_or(bit, std::memory_order_relaxed);
  } else {
    spec.share->idle.fetch_and(~bit, std::memory_order_relaxed);
  }
}

void dispatch_burst(WorkerSpec& spec, shm::PortRole role, rte_mbuf** pkts, unsigned n) noexcept {
  WorkShare* share = spec.share;
  if (share != nullptr && n == kBurst &&
      (share->idle.load(std::memory_order_relaxed) & ~(1ULL << spec.index)) != 0) {
    rte_ring* ring = share->ring[static_cast<unsigned>(role)];
    if (rte_ring_count(ring) < kShareBacklog &&
        rte_ring_enqueue_bulk(ring, reinterpret_cast<void**>(pkts), n, nullptr) == n) {
      return;
    }
  }
  process(*spec.ctx, role, pkts, n);
}

unsigned help_shared(WorkerSpec& spec) noexcept {
  if (spec.share == nullptr) return 0;
  rte_mbuf* pkts[kBurst];
  unsigned taken = 0;
  for (unsigned r = 0; r < shm::kPortCount; ++r) {
    const unsigned n = rte_ring_dequeue_burst(spec.share->ring[r], reinterpret_cast<void**>(pkts),
                                              kBurst, nullptr);
    if (n == 0) continue;
    process(*spec.ctx, static_cast<shm::PortRole>(r), pkts, n);
    taken += n;
  }
  return taken;
}

unsigned worker_pass(WorkerSpec& spec) noexcept {
  LcoreContext& ctx = *spec.ctx;
  ctx.now_ns = monotonic_ns();  // once per pass: every burst of this pass shares it
  rte_mbuf* pkts[kBurst];
  unsigned received = 0, helped = 0;
  for (const QueueRef& q : spec.rx) {
    const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, kBurst);
    if (n == 0) continue;
    received += n;
    dispatch_burst(spec, q.role, pkts, n);
  }
  if (spec.share != nullptr) {
    set_idle(spec, received == 0);
    if (received == 0) helped = help_shared(spec);
  }
  flush_tx(ctx);
  ctx.counters().loops.add(1);
  return received + helped;
}

int worker_main(void* arg) {
  WorkerSpec& spec = *static_cast<WorkerSpec*>(arg);
  rte_rcu_qsbr_thread_register(spec.rcu, spec.rcu_thread_id);
  rte_rcu_qsbr_thread_online(spec.rcu, spec.rcu_thread_id);
  shm::LcoreCounters& counters = spec.ctx->counters();
  // Busy ratio: one TSC read per pass, at its end; the pass's cycles are the
  // time since the previous read and count as busy when it handled packets
  // (own queues or shared bursts; l3fwd-power's notion of an idle poll).
  // Counters are written once per pass, never per packet.
  uint64_t pass_start_tsc = rte_rdtsc();
  while (!spec.stop->load(std::memory_order_relaxed)) {
    const unsigned handled = worker_pass(spec);
    const uint64_t pass_end_tsc = rte_rdtsc();
    const uint64_t pass_tsc = pass_end_tsc - pass_start_tsc;
    pass_start_tsc = pass_end_tsc;
    counters.total_tsc.add(pass_tsc);
    if (handled != 0) counters.busy_tsc.add(pass_tsc);
    rte_rcu_qsbr_quiescent(spec.rcu, spec.rcu_thread_id);
  }
  set_idle(spec, false);  // a stopped worker helps nobody
  rte_rcu_qsbr_thread_offline(spec.rcu, spec.rcu_thread_id);
  rte_rcu_qsbr_thread_unregister(spec.rcu, spec.rcu_thread_id);
  return 0;
}

}  // namespace wirespeed::dataplane::pipeline
