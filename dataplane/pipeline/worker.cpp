// The worker loop (see worker.hpp). Worker lcores only.
#include "dataplane/pipeline/worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dataplane/base/clock.hpp"

namespace wirespeed::dataplane::pipeline {

int worker_main(void* arg) {
  WorkerSpec& spec = *static_cast<WorkerSpec*>(arg);
  LcoreContext& ctx = *spec.ctx;
  rte_rcu_qsbr_thread_register(spec.rcu, spec.rcu_thread_id);
  rte_rcu_qsbr_thread_online(spec.rcu, spec.rcu_thread_id);

  rte_mbuf* pkts[kBurst];
  shm::LcoreCounters& counters = ctx.counters();
  // Busy ratio: one TSC read per pass, at its end; the pass's cycles are the
  // time since the previous read and count as busy when any queue gave
  // packets (l3fwd-power's notion of an idle poll). Counters are written
  // once per pass, never per packet.
  uint64_t pass_start_tsc = rte_rdtsc();
  while (!spec.stop->load(std::memory_order_relaxed)) {
    ctx.now_ns = monotonic_ns();  // once per loop: every burst of this pass shares it
    bool received = false;
    for (const QueueRef& q : spec.rx) {
      const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, kBurst);
      if (n == 0) continue;
      received = true;
      if (q.role == shm::PortRole::kOuter) {
        decap_burst(ctx, pkts, n);
      } else {
        encap_burst(ctx, pkts, n);
      }
    }
    flush_tx(ctx);
    const uint64_t pass_end_tsc = rte_rdtsc();
    const uint64_t pass_tsc = pass_end_tsc - pass_start_tsc;
    pass_start_tsc = pass_end_tsc;
    counters.total_tsc.add(pass_tsc);
    if (received) counters.busy_tsc.add(pass_tsc);
    counters.loops.add(1);
    rte_rcu_qsbr_quiescent(spec.rcu, spec.rcu_thread_id);
  }

  rte_rcu_qsbr_thread_offline(spec.rcu, spec.rcu_thread_id);
  rte_rcu_qsbr_thread_unregister(spec.rcu, spec.rcu_thread_id);
  return 0;
}

}  // namespace wirespeed::dataplane::pipeline
