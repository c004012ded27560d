// The shared state of one gateway: the state memzone and the three rings of
// abi.hpp. The dataplane (primary) creates them; the control plane
// (secondary) attaches and checks the ABI before it trusts a byte. Runs on
// the main lcore of either process, at start-up only.
#pragma once

#include <rte_memzone.h>
#include <rte_ring.h>

#include "dataplane/base/result.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::shm {

class SharedState {
 public:
  // Primary: reserve the zone (zeroed, header filled) and create the rings.
  static Result<SharedState> create(int socket_id);
  // Secondary: look the zone and rings up; kBadState with context naming the
  // mismatch when the ABI differs (see abi_matches).
  static Result<SharedState> attach();

  SharedState(SharedState&& other) noexcept;
  SharedState& operator=(SharedState&&) = delete;
  SharedState(const SharedState&) = delete;
  ~SharedState();

  // Primary, at exit (the destructor calls it; the main lcore only, workers
  // stopped): zeroes the keys of every keypair slot and the message slots of
  // the three rings, where unconsumed keypair installs may wait. A secondary's
  // call does nothing. The hugepage files behind the zone outlive the
  // process, so this is what keeps session keys from outliving it.
  void wipe_secrets() noexcept;

  StateZone& zone() const noexcept { return *zone_; }
  rte_ring* punt() const noexcept { return punt_; }
  rte_ring* events() const noexcept { return events_; }
  rte_ring* commands() const noexcept { return commands_; }

 private:
  SharedState(const rte_memzone* mz, rte_ring* punt, rte_ring* events, rte_ring* commands,
              bool owner) noexcept;

  const rte_memzone* memzone_;
  StateZone* zone_;
  rte_ring* punt_;
  rte_ring* events_;
  rte_ring* commands_;
  bool owner_;  // the primary frees what it made
};

// Enqueue one message (single element). False when the ring is full: the
// caller counts kRingFull.
inline bool ring_put(rte_ring* ring, const RingMessage& msg) noexcept {
  return rte_ring_enqueue_elem(ring, const_cast<RingMessage*>(&msg), sizeof(RingMessage)) == 0;
}

}  // namespace wirespeed::dataplane::shm
