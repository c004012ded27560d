// Longest-prefix match from an inner address to the peer whose allowed IPs
// cover it: DPDK's rte_lpm (IPv4) and rte_lpm6 (IPv6). Encap uses it to pick
// the peer for a destination; decap uses it to check that a decrypted
// packet's source belongs to the peer that sent it (the kernel's
// allowedips lookup of the source, design-brief §2).
//
// Concurrency: workers look up without locks; the main lcore is the only
// writer. Neither rte_lpm6 nor (without extra setup) rte_lpm is safe to
// modify under concurrent lookups, so the tables are double-buffered: the
// writer changes the standby copy, publishes it, waits one RCU grace period
// (every worker has passed a quiescent point, so none still reads the old
// copy), then brings the old copy up to date. Changes are rare (peer and
// allowed-IP configuration), so a blocking grace period on the main lcore is
// the simple right choice.
#pragma once

#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <span>

#include "dataplane/base/result.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::tables {

struct RouteChange {
  bool add = true;     // false: remove (only if the prefix still maps to `peer`)
  uint8_t family = 4;  // 4 or 6
  uint8_t cidr = 0;
  uint8_t addr[16] = {};  // network byte order; v4 in the first four bytes
  uint32_t peer = shm::kNoPeer;
};

class Routes {
 public:
  static Result<Routes> create(const char* name, uint32_t max_rules, int socket_id);
  Routes(Routes&& other) noexcept;
  Routes& operator=(Routes&&) = delete;
  Routes(const Routes&) = delete;
  ~Routes();

  // Workers: the peer for an address, or kNoPeer. `v4_host_order` as DPDK
  // wants it.
  uint32_t lookup_v4(uint32_t v4_host_order) const noexcept {
    uint32_t hop;
    const rte_lpm* lpm = v4_[active_.load(std::memory_order_acquire)];
    return rte_lpm_lookup(const_cast<rte_lpm*>(lpm), v4_host_order, &hop) == 0 ? hop
                                                                              : shm::kNoPeer;
  }
  uint32_t lookup_v6(const uint8_t addr[16]) const noexcept {
    uint32_t hop;
    const rte_lpm6* lpm = v6_[active_.load(std::memory_order_acquire)];
    return rte_lpm6_lookup(lpm, addr, &hop) == 0 ? hop : shm::kNoPeer;
  }
  uint32_t lookup(uint8_t family, const uint8_t addr[16]) const noexcept;

  // Main lcore only. Applies the changes to both copies with one grace
  // period in between (rcu may be null when no reader is registered, as in
  // unit tests). A change that fails (table full) is reported after all
  // others were applied; the two copies stay identical.
  Result<void> apply(std::span<const RouteChange> changes, rte_rcu_qsbr* rcu);

 private:
  Routes(rte_lpm* v4a, rte_lpm* v4b, rte_lpm6* v6a, rte_lpm6* v6b) noexcept;
  static int apply_one(rte_lpm* v4, rte_lpm6* v6, const RouteChange& change) noexcept;

  rte_lpm* v4_[2];
  rte_lpm6* v6_[2];
  std::atomic<unsigned> active_{0};
};

}  // namespace wirespeed::dataplane::tables
