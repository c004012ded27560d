// The worker lcore's loop (house style: l3fwd's shape). Bind the lcore's
// context once, then forever: RX burst per assigned queue, decap or encap,
// flush TX, report RCU quiescence. Launched by wirespeed-dataplane's main
// on each worker lcore with rte_eal_remote_launch.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "dataplane/pipeline/context.hpp"

namespace wirespeed::dataplane::pipeline {

struct QueueRef {
  uint16_t port;  // ethdev port id
  uint16_t queue;
  shm::PortRole role;
};

struct WorkerSpec {
  LcoreContext* ctx = nullptr;
  std::vector<QueueRef> rx;  // queues this worker polls
  rte_rcu_qsbr* rcu = nullptr;
  unsigned rcu_thread_id = 0;
  const std::atomic<bool>* stop = nullptr;
};

// rte_lcore_function_t: arg is a WorkerSpec*. Returns 0.
int worker_main(void* arg);

}  // namespace wirespeed::dataplane::pipeline
