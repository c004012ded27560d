// The worker lcore's loop (house style: l3fwd's shape). Bind the lcore's
// context once, then forever: RX burst per assigned queue, decap or encap,
// flush TX, report RCU quiescence. Launched by wirespeed-dataplane's main
// on each worker lcore with rte_eal_remote_launch.
//
// Work sharing (design-brief §2 "Scaling"): RSS keeps one tunnel — one outer
// 5-tuple — on one RX queue, so a single busy peer would be capped at the
// one lcore that polls it. When a worker's queue hands it full bursts (it is
// behind) while another worker's own queues are idle, it passes whole bursts
// to that worker through a shared ring (WorkShare) instead of processing
// them itself. Nothing else changes: the helper runs the same decap/encap on
// its own context, engine, counters and TX queue; nonces are reserved per
// burst by fetch_add and replay windows are updated under the keypair's lock
// once per burst (decap.cpp), so both stay correct. The price is order: two
// lcores working on one flow may send its packets out of order (the replay
// window accepts that; TCP sees reordering only when one lcore saturates).
// Under even RSS load nobody is idle and nothing is shared.
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

// Shared by all workers of a dataplane; null when there is only one.
struct alignas(64) WorkShare {
  // Bursts handed over, by the role of the port they were received on (they
  // need decap or encap). Multi-producer, multi-consumer rings of mbuf
  // pointers; whoever dequeues a burst owns it.
  rte_ring* ring[shm::kPortCount] = {};
  // Bit w: worker w's own RX queues gave nothing in its last pass, so it has
  // time to help. Written by worker w on a change only; read per full burst.
  alignas(64) std::atomic<uint64_t> idle{0};
};

// Bursts a ring may hold before a busy worker stops handing more over and
// works through its own again (keeps reordering and the helper's lag short).
inline constexpr unsigned kShareBacklog = 2 * kBurst;

struct WorkerSpec {
  LcoreContext* ctx = nullptr;
  std::vector<QueueRef> rx;  // queues this worker polls
  rte_rcu_qsbr* rcu = nullptr;
  unsigned rcu_thread_id = 0;
  const std::atomic<bool>* stop = nullptr;
  WorkShare* share = nullptr;  // null: no sharing (one worker)
  unsigned index = 0;          // this worker's bit in share->idle
};

// One pass of the loop minus RCU: own queues, shared bursts when idle, TX
// flush. Returns the packets it handled (received on its own queues, or
// taken from the share).
// Exposed for tests and the benchmark; worker_main calls it forever.
unsigned worker_pass(WorkerSpec& spec) noexcept;

// A burst received on a queue of `role`: handed to an idle worker through
// spec.share when this worker is behind (a full burst) and another is idle
// and the ring has room, else processed here. Takes the mbufs either way.
void dispatch_burst(WorkerSpec& spec, shm::PortRole role, rte_mbuf** pkts, unsigned n) noexcept;

// Processes at most one shared burst per role. Returns the packets taken.
unsigned help_shared(WorkerSpec& spec) noexcept;

// Marks this worker idle (its own queues are quiet) or busy in spec.share.
void set_idle(WorkerSpec& spec, bool idle) noexcept;

// rte_lcore_function_t: arg is a WorkerSpec*. Returns 0.
int worker_main(void* arg);

}  // namespace wirespeed::dataplane::pipeline
