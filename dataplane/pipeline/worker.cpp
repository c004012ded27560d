// The worker loop (see worker.hpp). Worker lcores only.
#include "dataplane/pipeline/worker.hpp"

#include <rte_ethdev.h>

#include "dataplane/base/clock.hpp"

namespace wirespeed::dataplane::pipeline {

int worker_main(void* arg) {
  WorkerSpec& spec = *static_cast<WorkerSpec*>(arg);
  LcoreContext& ctx = *spec.ctx;
  rte_rcu_qsbr_thread_register(spec.rcu, spec.rcu_thread_id);
  rte_rcu_qsbr_thread_online(spec.rcu, spec.rcu_thread_id);

  rte_mbuf* pkts[kBurst];
  while (!spec.stop->load(std::memory_order_relaxed)) {
    ctx.now_ns = monotonic_ns();  // once per loop: every burst of this pass shares it
    for (const QueueRef& q : spec.rx) {
      const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, kBurst);
      if (n == 0) continue;
      if (q.role == shm::PortRole::kOuter) {
        decap_burst(ctx, pkts, n);
      } else {
        encap_burst(ctx, pkts, n);
      }
    }
    flush_tx(ctx);
    ctx.counters().loops.add(1);
    rte_rcu_qsbr_quiescent(spec.rcu, spec.rcu_thread_id);
  }

  rte_rcu_qsbr_thread_offline(spec.rcu, spec.rcu_thread_id);
  rte_rcu_qsbr_thread_unregister(spec.rcu, spec.rcu_thread_id);
  return 0;
}

}  // namespace wirespeed::dataplane::pipeline
