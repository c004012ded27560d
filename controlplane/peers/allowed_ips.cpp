// Allowed IPs: a path-compressed binary trie per address family, after the
// kernel's allowedips.c. Control plane only (main thread); allocation is fine.
//
// Shape of the trie. Every node holds a canonical prefix (key, cidr). A node's
// children hold longer prefixes that extend it, on the side given by bit
// number `cidr` of their key (bit 0 is the most significant bit of byte 0).
// A node with a peer is a stored prefix; a node without one is a branch point
// that path compression needs, and exists only while it has two children.
// So a trie of n prefixes has at most n - 1 branch nodes.
#include "controlplane/peers/allowed_ips.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace wirespeed::controlplane::peers {

struct AllowedIps::Node {
  std::array<uint8_t, 16> key{};  // canonical: bits past `cidr` are zero
  uint8_t cidr = 0;
  std::optional<PeerId> peer;     // nullopt: a branch node
  std::unique_ptr<Node> child[2];
};

namespace {

using Node = AllowedIps::Node;
using Bytes = std::array<uint8_t, 16>;

// Bit `i` of `key`, MSB first. Precondition: i < 128.
int bit_at(const Bytes& key, unsigned i) noexcept {
  return (key[i / 8] >> (7 - i % 8)) & 1;
}

bool bits_match(const Bytes& a, const Bytes& b, unsigned cidr) noexcept {
  const unsigned full = cidr / 8;
  if (std::memcmp(a.data(), b.data(), full) != 0) return false;
  const unsigned rest = cidr % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff00u >> rest);
  return ((a[full] ^ b[full]) & mask) == 0;
}

// Number of leading bits `a` and `b` share, at most `limit`.
unsigned common_bits(const Bytes& a, const Bytes& b, unsigned limit) noexcept {
  unsigned n = 0;
  while (n < limit && bit_at(a, n) == bit_at(b, n)) ++n;
  return n;
}

Bytes masked(const Bytes& key, unsigned cidr) noexcept {
  Bytes out{};
  const unsigned full = cidr / 8;
  std::memcpy(out.data(), key.data(), full);
  if (cidr % 8 != 0) out[full] = key[full] & static_cast<uint8_t>(0xff00u >> (cidr % 8));
  return out;
}

std::unique_ptr<Node> make_node(const Bytes& key, uint8_t cidr, std::optional<PeerId> peer) {
  auto node = std::make_unique<Node>();
  node->key = key;
  node->cidr = cidr;
  node->peer = peer;
  return node;
}

bool node_contains(const Node& node, const Bytes& key, unsigned cidr) noexcept {
  return node.cidr <= cidr && bits_match(node.key, key, node.cidr);
}

// Restores the invariant at `slot` after its peer or a child went away: a
// branch node with fewer than two children is spliced out.
void compact(std::unique_ptr<Node>& slot) {
  Node* node = slot.get();
  if (node == nullptr || node->peer.has_value()) return;
  if (node->child[0] && node->child[1]) return;
  std::unique_ptr<Node> only = std::move(node->child[0] ? node->child[0] : node->child[1]);
  slot = std::move(only);  // frees `node`, or empties the slot
}

// Returns whether `peer` newly owns the prefix (false: it moved or was
// already `peer`'s, so the count is unchanged).
bool trie_insert(std::unique_ptr<Node>& root, const Bytes& key, uint8_t cidr, PeerId peer) {
  // Deepest node whose prefix contains key/cidr: the new prefix goes at or
  // below it.
  std::unique_ptr<Node>* slot = &root;
  while (*slot && node_contains(**slot, key, cidr)) {
    Node* node = slot->get();
    if (node->cidr == cidr) {
      const bool fresh = !node->peer.has_value();  // a branch node becomes a prefix
      node->peer = peer;
      return fresh;
    }
    slot = &node->child[bit_at(key, node->cidr)];
  }
  if (!*slot) {
    *slot = make_node(key, cidr, peer);
    return true;
  }
  // *slot holds a subtree that does not contain key/cidr. Either the new
  // prefix contains it (it becomes the new node's child) or the two diverge
  // (a branch node at their common length takes both).
  std::unique_ptr<Node> existing = std::move(*slot);
  const unsigned common = common_bits(existing->key, key, std::min(cidr, existing->cidr));
  auto fresh = make_node(key, cidr, peer);
  if (common == cidr) {
    fresh->child[bit_at(existing->key, cidr)] = std::move(existing);
    *slot = std::move(fresh);
    return true;
  }
  auto branch = make_node(masked(key, common), static_cast<uint8_t>(common), std::nullopt);
  const int existing_side = bit_at(existing->key, common);
  branch->child[existing_side] = std::move(existing);
  branch->child[1 - existing_side] = std::move(fresh);
  *slot = std::move(branch);
  return true;
}

// Removes key/cidr if `peer` owns it, compacting on the way back up.
bool trie_remove(std::unique_ptr<Node>& slot, const Bytes& key, uint8_t cidr, PeerId peer) {
  Node* node = slot.get();
  if (node == nullptr || !node_contains(*node, key, cidr)) return false;
  if (node->cidr == cidr) {
    if (node->peer != peer) return false;
    node->peer.reset();
    compact(slot);
    return true;
  }
  if (!trie_remove(node->child[bit_at(key, node->cidr)], key, cidr, peer)) return false;
  compact(slot);
  return true;
}

size_t trie_remove_peer(std::unique_ptr<Node>& slot, PeerId peer) {
  Node* node = slot.get();
  if (node == nullptr) return 0;
  size_t removed = trie_remove_peer(node->child[0], peer) + trie_remove_peer(node->child[1], peer);
  if (node->peer == peer) {
    node->peer.reset();
    ++removed;
  }
  compact(slot);
  return removed;
}

// Pre-order, child 0 before child 1: ascending address, shorter cidr first.
void trie_collect(const Node* node, uint8_t family, PeerId peer, std::vector<Prefix>& out) {
  if (node == nullptr) return;
  if (node->peer == peer) out.push_back(Prefix{IpAddress{family, node->key}, node->cidr});
  trie_collect(node->child[0].get(), family, peer, out);
  trie_collect(node->child[1].get(), family, peer, out);
}

size_t trie_count(const Node* node) noexcept {
  if (node == nullptr) return 0;
  return 1 + trie_count(node->child[0].get()) + trie_count(node->child[1].get());
}

}  // namespace

IpAddress IpAddress::v4(std::span<const uint8_t, 4> b) noexcept {
  IpAddress addr{4, {}};
  std::copy(b.begin(), b.end(), addr.bytes.begin());
  return addr;
}

IpAddress IpAddress::v6(std::span<const uint8_t, 16> b) noexcept {
  IpAddress addr{6, {}};
  std::copy(b.begin(), b.end(), addr.bytes.begin());
  return addr;
}

Result<IpAddress> parse_address(std::string_view text) {
  // inet_pton wants a NUL-terminated string; the longest valid text is
  // INET6_ADDRSTRLEN - 1 characters. A NUL inside `text` would end the
  // string early and let whatever follows it through (found by fuzzing:
  // `wirespeed import` then copied the bytes into its YAML).
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof(buf) || text.find('\0') != std::string_view::npos) {
    return make_error(Errc::kInvalidArgument, "parse_address: bad length");
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress addr{};
  const bool is_v6 = text.find(':') != std::string_view::npos;
  addr.family = is_v6 ? 6 : 4;
  if (inet_pton(is_v6 ? AF_INET6 : AF_INET, buf, addr.bytes.data()) != 1) {
    return make_error(Errc::kInvalidArgument, "parse_address: not an IP address");
  }
  return addr;
}

Result<Prefix> parse_prefix(std::string_view text) {
  const size_t slash = text.find('/');
  auto addr = parse_address(text.substr(0, slash));
  if (!addr) return addr.error();
  Prefix prefix{*addr, addr->max_bits()};
  if (slash == std::string_view::npos) return prefix;

  // Digits only: from_chars alone would not reject "", "+8" or "8 ".
  const std::string_view digits = text.substr(slash + 1);
  if (digits.empty() || digits.size() > 3 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return make_error(Errc::kInvalidArgument, "parse_prefix: bad cidr");
  }
  unsigned cidr = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), cidr);
  if (cidr > prefix.addr.max_bits()) {
    return make_error(Errc::kInvalidArgument, "parse_prefix: cidr too long for family");
  }
  prefix.cidr = static_cast<uint8_t>(cidr);
  return prefix;
}

std::string format_address(const IpAddress& addr) {
  char buf[INET6_ADDRSTRLEN] = {};
  const int af = addr.family == 6 ? AF_INET6 : AF_INET;
  if (inet_ntop(af, addr.bytes.data(), buf, sizeof(buf)) == nullptr) return "?";
  return buf;
}

std::string format_prefix(const Prefix& prefix) {
  return format_address(prefix.addr) + "/" + std::to_string(prefix.cidr);
}

bool is_valid(const Prefix& prefix) noexcept {
  const uint8_t max = prefix.addr.max_bits();
  return max != 0 && prefix.cidr <= max;
}

Prefix canonicalize(const Prefix& prefix) noexcept {
  return Prefix{IpAddress{prefix.addr.family, masked(prefix.addr.bytes, prefix.cidr)},
                prefix.cidr};
}

bool prefix_matches(const IpAddress& a, const IpAddress& b, uint8_t cidr) noexcept {
  return bits_match(a.bytes, b.bytes, cidr);
}

AllowedIps::AllowedIps() = default;
AllowedIps::~AllowedIps() = default;
AllowedIps::AllowedIps(AllowedIps&&) noexcept = default;
AllowedIps& AllowedIps::operator=(AllowedIps&&) noexcept = default;

std::unique_ptr<AllowedIps::Node>& AllowedIps::root_for(uint8_t family) noexcept {
  return family == 6 ? root6_ : root4_;
}

const std::unique_ptr<AllowedIps::Node>& AllowedIps::root_for(uint8_t family) const noexcept {
  return family == 6 ? root6_ : root4_;
}

Result<void> AllowedIps::insert(const Prefix& prefix, PeerId peer) {
  if (!is_valid(prefix)) return make_error(Errc::kInvalidArgument, "allowed_ips: bad prefix");
  const Prefix p = canonicalize(prefix);
  if (trie_insert(root_for(p.addr.family), p.addr.bytes, p.cidr, peer)) ++size_;
  return ok_result();
}

bool AllowedIps::remove(const Prefix& prefix, PeerId peer) {
  if (!is_valid(prefix)) return false;
  const Prefix p = canonicalize(prefix);
  if (!trie_remove(root_for(p.addr.family), p.addr.bytes, p.cidr, peer)) return false;
  --size_;
  return true;
}

size_t AllowedIps::remove_peer(PeerId peer) {
  const size_t removed = trie_remove_peer(root4_, peer) + trie_remove_peer(root6_, peer);
  size_ -= removed;
  return removed;
}

Result<void> AllowedIps::replace_peer(PeerId peer, std::span<const Prefix> prefixes) {
  for (const Prefix& p : prefixes) {
    if (!is_valid(p)) return make_error(Errc::kInvalidArgument, "allowed_ips: bad prefix");
  }
  remove_peer(peer);
  for (const Prefix& p : prefixes) (void)insert(p, peer);  // validated above: cannot fail
  return ok_result();
}

std::optional<PeerId> AllowedIps::lookup(const IpAddress& addr) const {
  const uint8_t max = addr.max_bits();
  if (max == 0) return std::nullopt;
  std::optional<PeerId> found;
  const Node* node = root_for(addr.family).get();
  while (node != nullptr && bits_match(node->key, addr.bytes, node->cidr)) {
    if (node->peer) found = node->peer;  // deeper matches are longer: last one wins
    if (node->cidr == max) break;
    node = node->child[bit_at(addr.bytes, node->cidr)].get();
  }
  return found;
}

std::vector<Prefix> AllowedIps::prefixes_of(PeerId peer) const {
  std::vector<Prefix> out;
  trie_collect(root4_.get(), 4, peer, out);
  trie_collect(root6_.get(), 6, peer, out);
  return out;
}

size_t AllowedIps::node_count() const noexcept {
  return trie_count(root4_.get()) + trie_count(root6_.get());
}

}  // namespace wirespeed::controlplane::peers
