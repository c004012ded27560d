// Receiver-index table: the 32-bit indices this gateway hands out as the
// "sender index" of its handshake messages and then receives back as the
// "receiver index" of responses, cookie replies and data (whitepaper §5.4).
//
// Owned by the control plane (main thread; not thread-safe). Indices are
// random so that they leak nothing about how many sessions exist or in what
// order they were made (the kernel's index_hashtable.c does the same), unique
// among live entries, and never zero. The dataplane learns keypair indices
// from the control plane; it never allocates them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>

#include "controlplane/peers/allowed_ips.hpp"  // PeerId
#include "dataplane/base/result.hpp"

namespace wirespeed::controlplane::peers {

// What an index names: a handshake in flight, or a keypair it produced.
enum class IndexKind : uint8_t { kHandshake, kKeypair };

struct IndexEntry {
  PeerId peer = 0;
  IndexKind kind = IndexKind::kHandshake;

  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

class IndexTable {
 public:
  // Source of candidate indices. Production uses libsodium's CSPRNG; tests
  // inject one to force collisions and zeros.
  using Rng = std::function<uint32_t()>;

  // Candidates drawn per allocate() before giving up. With the table at most
  // kMaxEntries / 2^32 full, a random source fails this many draws in a row
  // with negligible probability; reaching it means the RNG is broken.
  static constexpr unsigned kMaxAttempts = 128;
  // Far above what the control plane keeps live (a few per peer), far below
  // the 2^32 space, so a random draw is fresh with probability > 99.9%.
  static constexpr size_t kMaxEntries = size_t{1} << 22;

  // A table drawing from randombytes_buf. kSystem when sodium_init() fails.
  static Result<IndexTable> create();

  // A table drawing from `rng` (tests).
  explicit IndexTable(Rng rng);

  // One owner: a copy would hand out indices the original also holds.
  IndexTable(IndexTable&&) = default;
  IndexTable& operator=(IndexTable&&) = default;
  IndexTable(const IndexTable&) = delete;
  IndexTable& operator=(const IndexTable&) = delete;

  // A fresh random non-zero index, not live in this table, recorded with
  // `peer` and `kind`. kExhausted when the table holds kMaxEntries or the
  // RNG gave no usable candidate in kMaxAttempts draws.
  Result<uint32_t> allocate(PeerId peer, IndexKind kind);

  // Frees `index` for reuse. Returns whether it was live.
  bool release(uint32_t index);

  std::optional<IndexEntry> lookup(uint32_t index) const;

  size_t size() const noexcept { return entries_.size(); }

 private:
  Rng rng_;
  std::unordered_map<uint32_t, IndexEntry> entries_;
};

}  // namespace wirespeed::controlplane::peers
