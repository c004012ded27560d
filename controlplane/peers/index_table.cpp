// Receiver-index table (see index_table.hpp). Control plane, main thread.
#include "controlplane/peers/index_table.hpp"

#include <sodium.h>

#include <utility>

namespace wirespeed::controlplane::peers {

Result<IndexTable> IndexTable::create() {
  // Idempotent and thread-safe; after it succeeds randombytes_buf cannot fail.
  if (sodium_init() < 0) return make_error(Errc::kSystem, "index_table: sodium_init failed");
  return IndexTable([] {
    uint32_t v = 0;
    randombytes_buf(&v, sizeof(v));
    return v;
  });
}

IndexTable::IndexTable(Rng rng) : rng_(std::move(rng)) {}

Result<uint32_t> IndexTable::allocate(PeerId peer, IndexKind kind) {
  if (entries_.size() >= kMaxEntries) {
    return make_error(Errc::kExhausted, "index_table: table full");
  }
  for (unsigned attempt = 0; attempt < kMaxAttempts; ++attempt) {
    const uint32_t candidate = rng_();
    // Zero is reserved: it reads as "no index" in zero-initialised state.
    if (candidate == 0) continue;
    if (entries_.try_emplace(candidate, IndexEntry{peer, kind}).second) return candidate;
  }
  return make_error(Errc::kExhausted, "index_table: no free index from RNG");
}

bool IndexTable::release(uint32_t index) { return entries_.erase(index) != 0; }

std::optional<IndexEntry> IndexTable::lookup(uint32_t index) const {
  const auto it = entries_.find(index);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

}  // namespace wirespeed::controlplane::peers
