// The config loader (config/config.hpp): walks the YAML tree of design brief
// §5, checks every field against the schema and builds a Config, or stops at
// the first problem with file:line:column and what was expected.
//
// Runs once at start-up, on the main thread of either process, before any
// device is touched. yaml-cpp reports syntax errors (and misuse) by throwing;
// every call into it sits under the one try block in load_config_text(), so
// nothing escapes. The scalar parsers (keys, key files, addresses, endpoints)
// live in config/values.cpp; this file owns the shape of the document.
#include "config/config.hpp"

#include <sodium.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <span>
#include <string_view>
#include <utility>

#include "config/values.hpp"
#include "config/yaml_nodes.hpp"

namespace wirespeed::config {
namespace {

using detail::describe;
using detail::index_path;
using detail::join_path;
using detail::list_names;
using detail::Place;
using detail::place_of;
using detail::syntax_hint;

constexpr std::string_view kTopKeys[] = {"interface", "dataplane", "peers", "metrics", "log"};
constexpr std::string_view kInterfaceKeys[] = {"name", "private_key", "private_key_file",
                                               "listen_port", "mtu"};
constexpr std::string_view kDataplaneKeys[] = {"file_prefix", "eal", "workers", "outer", "inner"};
constexpr std::string_view kOuterKeys[] = {"port", "queues", "address", "gateway"};
constexpr std::string_view kInnerKeys[] = {"port", "queues", "address"};
constexpr std::string_view kMetricsKeys[] = {"port"};
constexpr std::string_view kLogKeys[] = {"level"};
constexpr std::string_view kPeerKeys[] = {
    "name",     "public_key",  "preshared_key",       "preshared_key_file",
    "endpoint", "allowed_ips", "persistent_keepalive"};

constexpr unsigned kMaxLcore = 128;   // RTE_MAX_LCORE of Debian's DPDK 22.11 build
constexpr uint16_t kMinMtu = 576;     // the IPv4 minimum datagram every host must take
constexpr uint16_t kMinMtuV6 = 1280;  // RFC 8200 §5
constexpr uint16_t kMaxMtu = 9000;    // jumbo frames, less than any NIC's maximum
constexpr uint16_t kMaxQueues = 16;
// About a million peers at ~70 bytes each: far beyond any real gateway, yet a
// wrong path (a disk image, a log) fails at once instead of filling memory.
constexpr size_t kMaxConfigBytes = size_t{64} << 20;

// One node being read: the node, where it is, and its path for messages
// ("peers[0].allowed_ips[1]").
struct Value {
  YAML::Node node;
  Place place;
  std::string path;
};

// The keys of one mapping, already checked against the section's schema.
struct Section {
  struct Entry {
    std::string_view name;  // points into the schema's list
    Place key_place;
    Value value;
  };
  Value self;
  std::vector<Entry> entries;

  const Entry* find(std::string_view name) const {
    for (const Entry& e : entries) {
      if (e.name == name) return &e;
    }
    return nullptr;
  }
};

class Loader {
 public:
  Loader(std::string file, std::string base_dir, int file_mode)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), file_mode_(file_mode) {}

  bool load(const YAML::Node& root, Config& config);
  LoadError& error() { return error_; }

 private:
  bool fail(Place place, const std::string& path, const std::string& what);
  bool fail(const Value& v, const std::string& what) { return fail(v.place, v.path, what); }
  bool expected(const Value& v, const std::string& what) {
    return fail(v, "expected " + what + ", got " + describe(v.node));
  }

  bool open_section(const Value& v, std::span<const std::string_view> allowed, Section& out);
  bool require(const Section& s, std::string_view name);
  bool at_most_one(const Section& s, std::string_view a, std::string_view b);

  bool read_string(const Value& v, std::string& out);
  bool read_uint(const Value& v, unsigned min, unsigned max, unsigned& out);
  bool read_u16(const Value& v, unsigned min, unsigned max, uint16_t& out);
  template <typename F>
  bool read_list(const Value& v, F&& item);
  bool read_key(const Value& v, std::span<uint8_t, 32> out);
  bool read_key_file(const Value& v, std::span<uint8_t, 32> out);
  bool read_key_choice(const Section& s, std::string_view inline_name, std::string_view file_name,
                       std::span<uint8_t, 32> out);

  bool read_interface(const Value& v, Config& c);
  bool read_dataplane(const Value& v, Config& c);
  bool read_port(const Value& v, bool outer, PortConfig& port, Place& port_place);
  bool read_peers(const Value& v, Config& c);
  bool read_peer(const Value& v, const Config& c, size_t index, PeerConfig& peer);
  bool check_mtu(const Config& c);
  bool read_metrics(const Value& v, Config& c);
  bool read_log(const Value& v, Config& c);

  void note_v6(const Value& v) {
    if (first_v6_.empty()) first_v6_ = v.path + " at line " + std::to_string(v.place.line);
  }

  std::string file_;
  std::string base_dir_;
  int file_mode_;  // of the YAML file; -1 when the text came from elsewhere
  LoadError error_;
  std::string first_v6_;  // the first IPv6 setting, for the MTU rule's message
  Place mtu_place_;
  controlplane::crypto::PublicKey own_public_{};
  // Maps (not scans) so that a config of thousands of peers loads in linear-log time.
  std::map<controlplane::crypto::PublicKey, std::string> keys_seen_;  // -> "peers[0] (line 21)"
  std::map<Prefix, std::string> allowed_seen_;  // -> "peers[0].allowed_ips[1] (line 24)"
};

bool Loader::fail(Place place, const std::string& path, const std::string& what) {
  error_.file = file_;
  error_.line = place.line;
  error_.column = place.column;
  error_.message = path.empty() ? what : path + ": " + what;
  return false;
}

bool Loader::open_section(const Value& v, std::span<const std::string_view> allowed, Section& out) {
  out.self = v;
  out.entries.clear();
  if (!v.node.IsMap()) return expected(v, "a mapping with keys " + list_names(allowed));
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const YAML::Node key = it->first;
    const Place key_place = place_of(key, v.place);
    if (!key.IsScalar()) {
      return fail(key_place, v.path, "expected a key name, got " + describe(key));
    }
    const std::string& name = key.Scalar();
    auto known = std::find(allowed.begin(), allowed.end(), std::string_view(name));
    if (known == allowed.end()) {
      const std::string where = v.path.empty() ? "unknown top-level key" : "unknown key";
      return fail(
          key_place, v.path,
          where + " \"" + detail::printable(name) + "\"; allowed keys are " + list_names(allowed));
    }
    if (const Section::Entry* first = out.find(name)) {
      return fail(key_place, v.path,
                  "key \"" + name + "\" appears twice (first at line " +
                      std::to_string(first->key_place.line) + ")");
    }
    out.entries.push_back(Section::Entry{
        *known, key_place,
        Value{it->second, place_of(it->second, key_place), join_path(v.path, name)}});
  }
  return true;
}

bool Loader::require(const Section& s, std::string_view name) {
  if (s.find(name) != nullptr) return true;
  return fail(s.self, "missing required key \"" + std::string(name) + "\"");
}

// Fails when both keys of an either/or pair are given, at the later of the two.
bool Loader::at_most_one(const Section& s, std::string_view a, std::string_view b) {
  const Section::Entry* ea = s.find(a);
  const Section::Entry* eb = s.find(b);
  if (ea == nullptr || eb == nullptr) return true;
  const Section::Entry* later = ea->key_place < eb->key_place ? eb : ea;
  return fail(later->key_place, s.self.path,
              "give either " + std::string(a) + " or " + std::string(b) + ", not both");
}

bool Loader::read_string(const Value& v, std::string& out) {
  if (!v.node.IsScalar()) return expected(v, "a string");
  out = v.node.Scalar();
  return true;
}

bool Loader::read_uint(const Value& v, unsigned min, unsigned max, unsigned& out) {
  const std::string range =
      "a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v.node.IsScalar()) return expected(v, range);
  auto n = detail::parse_decimal(v.node.Scalar());
  if (!n || *n < min || *n > max) return expected(v, range);
  out = static_cast<unsigned>(*n);
  return true;
}

bool Loader::read_u16(const Value& v, unsigned min, unsigned max, uint16_t& out) {
  unsigned n = 0;
  if (!read_uint(v, min, max, n)) return false;
  out = static_cast<uint16_t>(n);
  return true;
}

// Calls item(Value) for each element of a list; a null (an empty "key:") is
// an empty list.
template <typename F>
bool Loader::read_list(const Value& v, F&& item) {
  if (v.node.IsNull()) return true;
  if (!v.node.IsSequence()) return expected(v, "a list");
  size_t i = 0;
  for (auto it = v.node.begin(); it != v.node.end(); ++it, ++i) {
    if (!item(Value{*it, place_of(*it, v.place), index_path(v.path, i)})) return false;
  }
  return true;
}

bool Loader::read_key(const Value& v, std::span<uint8_t, 32> out) {
  // Never describe() a key's scalar: the message would carry key material.
  if (!v.node.IsScalar()) return expected(v, "a base64 key");
  const std::string problem = detail::decode_key(v.node.Scalar(), out);
  if (!problem.empty()) return fail(v, problem);
  return true;
}

bool Loader::read_key_file(const Value& v, std::span<uint8_t, 32> out) {
  std::string path;
  if (!read_string(v, path)) return false;
  if (path.empty()) return expected(v, "the path of a key file");
  const std::string resolved = detail::resolve_path(base_dir_, path);
  const std::string problem = detail::read_key_file(resolved, out);
  if (!problem.empty()) return fail(v, resolved + ": " + problem);
  return true;
}

bool Loader::read_key_choice(const Section& s, std::string_view inline_name,
                             std::string_view file_name, std::span<uint8_t, 32> out) {
  if (const Section::Entry* e = s.find(inline_name)) {
    // An inline secret is as readable as the YAML: the key file rule applies.
    if (file_mode_ >= 0 && (file_mode_ & 077) != 0) {
      char mode[16];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(file_mode_) & 07777U);
      return fail(e->value, std::string("an inline key in a file ") +
                                ((file_mode_ & 044) != 0 ? "readable by" : "open to") +
                                " group or others (mode " + mode + "); chmod 600 " + file_ +
                                ", or use " + std::string(file_name));
    }
    return read_key(e->value, out);
  }
  if (const Section::Entry* e = s.find(file_name)) return read_key_file(e->value, out);
  return true;
}

bool Loader::read_interface(const Value& v, Config& c) {
  Section s;
  if (!open_section(v, kInterfaceKeys, s) || !require(s, "name")) return false;
  if (!at_most_one(s, "private_key", "private_key_file")) return false;
  if (s.find("private_key") == nullptr && s.find("private_key_file") == nullptr) {
    return fail(s.self, "missing required key \"private_key_file\" (or \"private_key\")");
  }
  const Value& name = s.find("name")->value;
  if (!read_string(name, c.name)) return false;
  if (!detail::is_interface_name(c.name)) {
    return expected(name, "a name of 1 to 15 characters from A-Z a-z 0-9 _ = + . -");
  }
  if (!read_key_choice(s, "private_key", "private_key_file", c.private_key.writable())) {
    return false;
  }
  if (c.private_key.is_zero()) {
    const Section::Entry* e = s.find("private_key");
    if (e == nullptr) e = s.find("private_key_file");
    return fail(e->value, "the private key is all zeros; generate one with wg genkey");
  }
  own_public_ = controlplane::crypto::public_key(c.private_key);
  if (const Section::Entry* e = s.find("listen_port")) {
    if (!read_u16(e->value, 1, 65535, c.listen_port)) return false;
  }
  if (const Section::Entry* e = s.find("mtu")) {
    if (!read_u16(e->value, kMinMtu, kMaxMtu, c.mtu)) return false;
    mtu_place_ = e->value.place;
  }
  return true;
}

bool Loader::read_port(const Value& v, bool outer, PortConfig& port, Place& port_place) {
  if (!outer && v.node.IsMap()) {
    // Before the generic unknown-key check, to say why rather than just "unknown".
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == "gateway") {
        return fail(place_of(it->first, v.place), v.path,
                    "gateway belongs under dataplane.outer only (the inner side needs no next "
                    "hop: peers are reached through the tunnel)");
      }
    }
  }
  Section s;
  const std::span<const std::string_view> keys =
      outer ? std::span<const std::string_view>(kOuterKeys)
            : std::span<const std::string_view>(kInnerKeys);
  if (!open_section(v, keys, s)) return false;
  if (!require(s, "port") || !require(s, "address")) return false;

  const Value& name = s.find("port")->value;
  port_place = name.place;
  if (!read_string(name, port.port)) return false;
  if (!detail::is_port_name(port.port)) {
    return expected(name, "an ethdev name such as 0000:3b:00.0 or net_tap0");
  }
  if (const Section::Entry* e = s.find("queues")) {
    if (!read_u16(e->value, 1, kMaxQueues, port.queues)) return false;
  }

  const Value& address = s.find("address")->value;
  bool ok = read_list(address, [&](const Value& item) {
    if (!item.node.IsScalar()) return expected(item, "an address with its prefix length");
    InterfaceAddress a;
    const std::string problem = detail::parse_interface_address(item.node.Scalar(), a);
    if (!problem.empty()) return fail(item, problem);
    for (const InterfaceAddress& other : port.address) {
      if (other.address == a.address) return fail(item, "address listed twice");
    }
    if (a.address.family == 6) note_v6(item);
    port.address.push_back(a);
    return true;
  });
  if (!ok) return false;
  if (port.address.empty()) {
    return expected(address, "a non-empty list of addresses like 192.0.2.1/24 or 2001:db8::1/64");
  }

  if (const Section::Entry* e = s.find("gateway")) {
    const Value& g = e->value;
    if (!g.node.IsScalar()) return expected(g, "an IP address");
    auto gw = controlplane::peers::parse_address(g.node.Scalar());
    if (!gw) return expected(g, "an IP address like 192.0.2.254 or fe80::1");
    const std::string problem = detail::check_gateway(*gw, port.address);
    if (!problem.empty()) return fail(g, problem);
    if (gw->family == 6) note_v6(g);
    port.gateway = *gw;
  }
  return true;
}

bool Loader::read_dataplane(const Value& v, Config& c) {
  Section s;
  if (!open_section(v, kDataplaneKeys, s)) return false;
  if (!require(s, "workers") || !require(s, "outer") || !require(s, "inner")) return false;

  c.file_prefix = c.name;
  if (const Section::Entry* e = s.find("file_prefix")) {
    if (!read_string(e->value, c.file_prefix)) return false;
    if (!detail::is_file_prefix(c.file_prefix)) {
      return expected(e->value, "1 to 64 characters from A-Z a-z 0-9 _ = + . -");
    }
  }
  if (const Section::Entry* e = s.find("eal")) {
    bool ok = read_list(e->value, [&](const Value& item) {
      std::string arg;
      if (!read_string(item, arg)) return false;
      c.eal.push_back(std::move(arg));
      return true;
    });
    if (!ok) return false;
  }

  const Value& workers = s.find("workers")->value;
  bool ok = read_list(workers, [&](const Value& item) {
    unsigned lcore = 0;
    if (!read_uint(item, 0, kMaxLcore - 1, lcore)) return false;
    if (std::find(c.workers.begin(), c.workers.end(), lcore) != c.workers.end()) {
      return fail(item, "lcore " + std::to_string(lcore) + " is listed twice");
    }
    c.workers.push_back(lcore);
    return true;
  });
  if (!ok) return false;
  if (c.workers.empty()) return expected(workers, "a non-empty list of worker lcore ids");

  Place outer_place;
  Place inner_place;
  if (!read_port(s.find("outer")->value, true, c.outer, outer_place)) return false;
  if (!read_port(s.find("inner")->value, false, c.inner, inner_place)) return false;
  if (c.inner.port == c.outer.port) {
    return fail(inner_place, "dataplane.inner.port",
                "the inner port must differ from the outer port (line " +
                    std::to_string(outer_place.line) + ")");
  }
  return true;
}

bool Loader::read_peer(const Value& v, const Config& c, size_t index, PeerConfig& peer) {
  Section s;
  if (!open_section(v, kPeerKeys, s) || !require(s, "public_key")) return false;
  if (!at_most_one(s, "preshared_key", "preshared_key_file")) return false;

  if (const Section::Entry* e = s.find("name")) {
    if (!read_string(e->value, peer.name)) return false;
  }
  const Value& pub = s.find("public_key")->value;
  if (!read_key(pub, peer.public_key)) return false;
  if (sodium_memcmp(own_public_.data(), peer.public_key.data(), own_public_.size()) == 0) {
    return fail(pub, "this is the gateway's own public key (of interface.private_key)");
  }
  const std::string here =
      "peers[" + std::to_string(index) + "] (line " + std::to_string(pub.place.line) + ")";
  if (auto [it, fresh] = keys_seen_.emplace(peer.public_key, here); !fresh) {
    return fail(pub, "the same public key as " + it->second);
  }

  if (s.find("preshared_key") != nullptr || s.find("preshared_key_file") != nullptr) {
    peer.preshared_key.emplace();
    if (!read_key_choice(s, "preshared_key", "preshared_key_file",
                         peer.preshared_key->writable())) {
      return false;
    }
  }

  if (const Section::Entry* e = s.find("endpoint")) {
    const Value& ev = e->value;
    if (!ev.node.IsScalar()) return expected(ev, "an endpoint like 192.0.2.2:51820");
    Endpoint ep;
    const std::string problem = detail::parse_endpoint(ev.node.Scalar(), ep);
    if (!problem.empty()) return fail(ev, problem);
    const std::string unreachable = detail::check_reachable(ep, c.outer);
    if (!unreachable.empty()) return fail(ev, unreachable);
    if (ep.address.family == 6) note_v6(ev);
    peer.endpoint = ep;
  }

  if (const Section::Entry* e = s.find("allowed_ips")) {
    bool ok = read_list(e->value, [&](const Value& item) {
      const std::string example = "an IP prefix like 10.8.1.0/24 or fd00::/64";
      if (!item.node.IsScalar()) return expected(item, example);
      auto p = controlplane::peers::parse_prefix(item.node.Scalar());
      if (!p) return expected(item, example);
      const Prefix prefix = controlplane::peers::canonicalize(*p);
      const std::string here = item.path + " (line " + std::to_string(item.place.line) + ")";
      if (auto [it, fresh] = allowed_seen_.emplace(prefix, here); !fresh) {
        return fail(item, controlplane::peers::format_prefix(prefix) + " is already allowed for " +
                              it->second + "; a prefix has one owner");
      }
      if (prefix.addr.family == 6) note_v6(item);
      peer.allowed_ips.push_back(prefix);
      return true;
    });
    if (!ok) return false;
  }

  if (const Section::Entry* e = s.find("persistent_keepalive")) {
    if (!read_u16(e->value, 0, 65535, peer.persistent_keepalive)) return false;
  }
  return true;
}

bool Loader::read_peers(const Value& v, Config& c) {
  return read_list(v, [&](const Value& item) {
    PeerConfig peer;
    if (!read_peer(item, c, c.peers.size(), peer)) return false;
    c.peers.push_back(std::move(peer));
    return true;
  });
}

// metrics: {port: N}: the Prometheus endpoint on 127.0.0.1:N. The section
// present means on, so it must name its port.
bool Loader::read_metrics(const Value& v, Config& c) {
  Section s;
  if (!open_section(v, kMetricsKeys, s) || !require(s, "port")) return false;
  return read_u16(s.find("port")->value, 1, 65535, c.metrics_port);
}

bool Loader::read_log(const Value& v, Config& c) {
  Section s;
  if (!open_section(v, kLogKeys, s)) return false;
  if (const Section::Entry* e = s.find("level")) {
    const Value& level = e->value;
    if (!level.node.IsScalar() || !detail::parse_log_level(level.node.Scalar(), c.log_level)) {
      return expected(level, "one of error, warning, info, debug");
    }
  }
  return true;
}

bool Loader::check_mtu(const Config& c) {
  if (first_v6_.empty() || c.mtu >= kMinMtuV6) return true;
  return fail(mtu_place_, "interface.mtu",
              "expected " + std::to_string(kMinMtuV6) + " to " + std::to_string(kMaxMtu) +
                  " because IPv6 is configured (" + first_v6_ + "), got " + std::to_string(c.mtu));
}

bool Loader::load(const YAML::Node& root, Config& c) {
  Section s;
  if (!open_section(Value{root, place_of(root, Place{}), ""}, kTopKeys, s)) return false;
  if (!require(s, "interface") || !require(s, "dataplane")) return false;
  if (!read_interface(s.find("interface")->value, c)) return false;
  if (!read_dataplane(s.find("dataplane")->value, c)) return false;
  if (const Section::Entry* e = s.find("peers")) {
    if (!read_peers(e->value, c)) return false;
  }
  if (const Section::Entry* e = s.find("metrics")) {
    if (!read_metrics(e->value, c)) return false;
  }
  if (const Section::Entry* e = s.find("log")) {
    if (!read_log(e->value, c)) return false;
  }
  return check_mtu(c);
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string LoadError::to_string() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

LoadResult load_config_text(const std::string& text, const std::string& name,
                            const std::string& base_dir, int file_mode) {
  LoadResult result;
  Loader loader(name, base_dir, file_mode);
  Config config;
  config.source_path = name;
  bool ok = false;
  try {
    const YAML::Node root = YAML::Load(text);
    ok = loader.load(root, config);
  } catch (const YAML::Exception& e) {
    // ParserException and friends: the mark is 0-based, or -1 without a place.
    const Place place = e.mark.line < 0 ? Place{}
                                        : Place{static_cast<unsigned>(e.mark.line) + 1,
                                                static_cast<unsigned>(e.mark.column) + 1};
    loader.error() = LoadError{name, place.line, place.column,
                               "YAML syntax error: " + e.msg + syntax_hint(text, e.mark.line)};
  } catch (const std::exception& e) {
    loader.error() = LoadError{name, 0, 0, std::string("cannot parse: ") + e.what()};
  } catch (...) {
    loader.error() = LoadError{name, 0, 0, "cannot parse: unknown error"};
  }
  if (ok) {
    result.config = std::move(config);
  } else {
    result.error = std::move(loader.error());
  }
  return result;
}

LoadResult load_config(const std::string& path) {
  LoadResult result;
  std::string text;
  unsigned mode = 0;
  const std::string problem = detail::read_small_file(path, kMaxConfigBytes, text, &mode);
  if (!problem.empty()) {
    result.error = LoadError{path, 0, 0, problem};
    return result;
  }
  result = load_config_text(text, path, dir_of(path), static_cast<int>(mode));
  // The text may hold an inline private key.
  sodium_memzero(text.data(), text.size());
  return result;
}

}  // namespace wirespeed::config
