// The receiver-index hash (see index_map.hpp).
#include "dataplane/tables/index_map.hpp"

#include <rte_errno.h>
#include <rte_hash_crc.h>

#include <cstdint>

namespace wirespeed::dataplane::tables {

IndexMap::~IndexMap() { rte_hash_free(hash_); }

Result<IndexMap> IndexMap::create(const char* name, uint32_t capacity, int socket_id) {
  rte_hash_parameters params{};
  params.name = name;
  params.entries = capacity;
  params.key_len = sizeof(uint32_t);
  params.hash_func = rte_hash_crc;
  params.hash_func_init_val = 0;
  params.socket_id = socket_id;
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF;
  rte_hash* hash = rte_hash_create(&params);
  if (hash == nullptr) return make_error(Errc::kSystem, "create the receiver-index hash", rte_errno);
  return IndexMap(hash);
}

void IndexMap::lookup_bulk(const uint32_t* indices, unsigned n, int32_t* slots) const noexcept {
  const void* keys[32];
  void* data[32];
  for (unsigned i = 0; i < n; ++i) keys[i] = &indices[i];
  uint64_t hits = 0;
  if (n > 0) rte_hash_lookup_bulk_data(hash_, keys, n, &hits, data);
  for (unsigned i = 0; i < n; ++i) {
    slots[i] = (hits >> i) & 1U ? static_cast<int32_t>(reinterpret_cast<uintptr_t>(data[i])) : -1;
  }
}

Result<void> IndexMap::insert(uint32_t index, int32_t slot) noexcept {
  const int rc = rte_hash_add_key_data(hash_, &index,
                                       reinterpret_cast<void*>(static_cast<uintptr_t>(slot)));
  if (rc < 0) return make_error(Errc::kExhausted, "add a receiver index", -rc);
  return ok_result();
}

int32_t IndexMap::remove(uint32_t index) noexcept {
  const int32_t pos = rte_hash_del_key(hash_, &index);
  return pos >= 0 ? pos : -1;
}

void IndexMap::release(int32_t position) noexcept {
  if (position >= 0) rte_hash_free_key_with_position(hash_, position);
}

}  // namespace wirespeed::dataplane::tables
