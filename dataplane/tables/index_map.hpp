// Receiver index -> keypair slot, for decap: an rte_hash keyed by the 32-bit
// index our peers put in data messages. Main lcore writes (keypair install
// and reclaim), workers read lock-free (RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
// which implies NO_FREE_ON_DEL: a deleted key's position is freed only after
// an RCU grace period, by the caller, through release()).
#pragma once

#include <rte_hash.h>

#include <cstdint>

#include "dataplane/base/result.hpp"

namespace wirespeed::dataplane::tables {

class IndexMap {
 public:
  static Result<IndexMap> create(const char* name, uint32_t capacity, int socket_id);
  IndexMap(IndexMap&& other) noexcept : hash_(other.hash_) { other.hash_ = nullptr; }
  IndexMap& operator=(IndexMap&&) = delete;
  IndexMap(const IndexMap&) = delete;
  ~IndexMap();

  // Workers: fills slots[i] for each index (-1 when unknown). n <= 32.
  void lookup_bulk(const uint32_t* indices, unsigned n, int32_t* slots) const noexcept;

  // Main lcore.
  Result<void> insert(uint32_t index, int32_t slot) noexcept;
  // Removes the key; returns its position, to pass to release() after a
  // grace period (-1 when absent).
  int32_t remove(uint32_t index) noexcept;
  void release(int32_t position) noexcept;

 private:
  explicit IndexMap(rte_hash* hash) noexcept : hash_(hash) {}
  rte_hash* hash_;
};

}  // namespace wirespeed::dataplane::tables
