// Allowed IPs: the longest-prefix-match model mapping IPv4/IPv6 prefixes to
// peers, with the kernel's semantics (allowedips.c): one owner per exact
// prefix, re-inserting moves it, host bits are dropped on insert.
//
// Owned by the control plane. It is the authoritative copy from which the
// dataplane's DPDK LPM/FIB tables are built, and the reference those tables
// are tested against, so it favours clarity over speed and may allocate.
// Not thread-safe: the control plane's main thread owns it.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/base/result.hpp"

namespace wirespeed::controlplane::peers {

using PeerId = uint32_t;

// An IPv4 or IPv6 address in network byte order. A v4 address lives in the
// first 4 bytes; the other 12 are zero (parse and canonicalize guarantee it,
// so that == and <=> mean what they say).
struct IpAddress {
  uint8_t family = 4;  // 4 or 6
  std::array<uint8_t, 16> bytes{};

  static IpAddress v4(std::span<const uint8_t, 4> b) noexcept;
  static IpAddress v6(std::span<const uint8_t, 16> b) noexcept;

  // 32 for v4, 128 for v6, 0 for an invalid family.
  uint8_t max_bits() const noexcept { return family == 4 ? 32 : family == 6 ? 128 : 0; }

  friend auto operator<=>(const IpAddress&, const IpAddress&) = default;
};

// addr/cidr. Natural order: v4 before v6, then by address, then shorter cidr
// first; prefixes_of() returns prefixes in this order.
struct Prefix {
  IpAddress addr;
  uint8_t cidr = 0;

  friend auto operator<=>(const Prefix&, const Prefix&) = default;
};

// "10.8.1.7" or "fd00::1" (inet_pton rules, no zone id).
Result<IpAddress> parse_address(std::string_view text);

// "10.8.1.0/24", "fd00:1::/64"; a missing "/cidr" means a host prefix (/32 or
// /128), as wg(8) accepts. Host bits are kept as written: canonicalize() drops
// them. Rejects bad addresses and cidr > 32 / > 128.
Result<Prefix> parse_prefix(std::string_view text);

std::string format_address(const IpAddress& addr);
std::string format_prefix(const Prefix& prefix);  // "10.8.1.0/24"

// True when family is 4 or 6 and cidr fits it.
bool is_valid(const Prefix& prefix) noexcept;

// The prefix with host bits (and the unused tail of a v4 address) zeroed:
// 10.8.1.7/24 -> 10.8.1.0/24. Precondition: is_valid(prefix).
Prefix canonicalize(const Prefix& prefix) noexcept;

// True when the first `cidr` bits of `a` and `b` agree (same family assumed).
bool prefix_matches(const IpAddress& a, const IpAddress& b, uint8_t cidr) noexcept;

class AllowedIps {
 public:
  AllowedIps();
  ~AllowedIps();
  AllowedIps(AllowedIps&&) noexcept;
  AllowedIps& operator=(AllowedIps&&) noexcept;
  AllowedIps(const AllowedIps&) = delete;
  AllowedIps& operator=(const AllowedIps&) = delete;

  // Maps canonicalize(prefix) to `peer`. An exact prefix already owned by
  // another peer moves to `peer` (kernel semantics). kInvalidArgument when
  // !is_valid(prefix); nothing changes then.
  Result<void> insert(const Prefix& prefix, PeerId peer);

  // Removes canonicalize(prefix) only if `peer` owns it. Returns whether it did.
  bool remove(const Prefix& prefix, PeerId peer);

  // Removes every prefix of `peer`; returns how many.
  size_t remove_peer(PeerId peer);

  // `peer` ends owning exactly `prefixes` (canonicalised); any of them owned
  // by another peer moves to `peer`. All prefixes are validated first: on
  // kInvalidArgument the table is unchanged.
  Result<void> replace_peer(PeerId peer, std::span<const Prefix> prefixes);

  // Longest-prefix match within addr's family; /0 matches every address of
  // its family. nullopt when nothing matches or the family is invalid.
  std::optional<PeerId> lookup(const IpAddress& addr) const;

  // The peer's prefixes in Prefix's natural order.
  std::vector<Prefix> prefixes_of(PeerId peer) const;

  // Number of prefixes held (v4 + v6).
  size_t size() const noexcept { return size_; }

  // Trie nodes held, including the peer-less branch nodes path compression
  // creates. Exposed so tests can check removal compacts: node_count() <
  // 2 * size() + 1 always, and 0 when empty.
  size_t node_count() const noexcept;

  struct Node;  // one trie node; defined in the .cpp

 private:
  std::unique_ptr<Node> root4_;
  std::unique_ptr<Node> root6_;
  size_t size_ = 0;

  std::unique_ptr<Node>& root_for(uint8_t family) noexcept;
  const std::unique_ptr<Node>& root_for(uint8_t family) const noexcept;
};

}  // namespace wirespeed::controlplane::peers
