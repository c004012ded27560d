// Double-buffered LPM tables (see routes.hpp). Main lcore writes, workers read.
#include "dataplane/tables/routes.hpp"

#include <rte_byteorder.h>
#include <rte_errno.h>

#include <cstdio>
#include <cstring>

namespace wirespeed::dataplane::tables {

Routes::Routes(rte_lpm* v4a, rte_lpm* v4b, rte_lpm6* v6a, rte_lpm6* v6b) noexcept
    : v4_{v4a, v4b}, v6_{v6a, v6b} {}

Routes::Routes(Routes&& other) noexcept
    : v4_{other.v4_[0], other.v4_[1]},
      v6_{other.v6_[0], other.v6_[1]},
      active_(other.active_.load()) {
  other.v4_[0] = other.v4_[1] = nullptr;
  other.v6_[0] = other.v6_[1] = nullptr;
}

Routes::~Routes() {
  for (unsigned i = 0; i < 2; ++i) {
    rte_lpm_free(v4_[i]);  // both accept null
    rte_lpm6_free(v6_[i]);
  }
}

Result<Routes> Routes::create(const char* name, uint32_t max_rules, int socket_id) {
  rte_lpm* v4[2] = {nullptr, nullptr};
  rte_lpm6* v6[2] = {nullptr, nullptr};
  rte_lpm_config c4{};
  c4.max_rules = max_rules;
  // A prefix longer than /24 needs a tbl8 group (1 KiB) for its /24: one
  // per peer when each of shm::kMaxPeers peers has a /32 in its own /24.
  c4.number_tbl8s = 1U << 14;
  rte_lpm6_config c6{};
  c6.max_rules = max_rules;
  c6.number_tbl8s = 1U << 14;
  bool ok = true;
  for (unsigned i = 0; i < 2 && ok; ++i) {
    char n4[RTE_LPM_NAMESIZE];
    char n6[RTE_LPM_NAMESIZE];
    std::snprintf(n4, sizeof(n4), "%s_v4_%u", name, i);
    std::snprintf(n6, sizeof(n6), "%s_v6_%u", name, i);
    v4[i] = rte_lpm_create(n4, socket_id, &c4);
    v6[i] = rte_lpm6_create(n6, socket_id, &c6);
    ok = v4[i] != nullptr && v6[i] != nullptr;
  }
  if (!ok) {
    const int err = rte_errno;
    for (unsigned i = 0; i < 2; ++i) {
      rte_lpm_free(v4[i]);
      rte_lpm6_free(v6[i]);
    }
    return make_error(Errc::kSystem, "create the LPM tables", err);
  }
  return Routes(v4[0], v4[1], v6[0], v6[1]);
}

uint32_t Routes::lookup(uint8_t family, const uint8_t addr[16]) const noexcept {
  if (family == 4) {
    uint32_t be;
    std::memcpy(&be, addr, 4);
    return lookup_v4(rte_be_to_cpu_32(be));
  }
  return lookup_v6(addr);
}

int Routes::apply_one(rte_lpm* v4, rte_lpm6* v6, const RouteChange& change) noexcept {
  if (change.family == 4) {
    uint32_t be;
    std::memcpy(&be, change.addr, 4);
    const uint32_t ip = rte_be_to_cpu_32(be);
    if (change.add) return rte_lpm_add(v4, ip, change.cidr, change.peer);
    uint32_t hop;
    if (rte_lpm_is_rule_present(v4, ip, change.cidr, &hop) == 1 && hop == change.peer) {
      return rte_lpm_delete(v4, ip, change.cidr);
    }
    return 0;
  }
  if (change.add) return rte_lpm6_add(v6, change.addr, change.cidr, change.peer);
  uint32_t hop;
  if (rte_lpm6_is_rule_present(v6, change.addr, change.cidr, &hop) == 1 && hop == change.peer) {
    return rte_lpm6_delete(v6, change.addr, change.cidr);
  }
  return 0;
}

Result<void> Routes::apply(std::span<const RouteChange> changes, rte_rcu_qsbr* rcu) {
  if (changes.empty()) return ok_result();
  const unsigned active = active_.load(std::memory_order_relaxed);
  const unsigned standby = active ^ 1U;
  int first_error = 0;
  for (const RouteChange& c : changes) {
    const int rc = apply_one(v4_[standby], v6_[standby], c);
    if (rc < 0 && first_error == 0) first_error = rc;
  }
  active_.store(standby, std::memory_order_release);
  if (rcu != nullptr) rte_rcu_qsbr_synchronize(rcu, RTE_QSBR_THRID_INVALID);
  for (const RouteChange& c : changes) (void)apply_one(v4_[active], v6_[active], c);
  if (first_error != 0) return make_error(Errc::kExhausted, "add an allowed IP to the LPM", -first_error);
  return ok_result();
}

}  // namespace wirespeed::dataplane::tables
