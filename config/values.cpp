// Scalar values of the config schema (config/values.hpp): keys and key
// files, addresses, endpoints, numbers and names. Start-up only, main thread
// of either process.
#include "config/values.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace wirespeed::config::detail {
namespace {

using controlplane::peers::format_address;
using controlplane::peers::parse_address;
using controlplane::peers::parse_prefix;
using controlplane::peers::prefix_matches;

constexpr const char* kKeyExpected =
    "expected a base64 key (44 characters, as wg genkey and wg pubkey print)";
constexpr const char* kAddressExpected =
    "expected an address with its prefix length like 192.0.2.1/24 or 2001:db8::1/64";
constexpr const char* kEndpointExpected =
    "expected an endpoint like 192.0.2.2:51820 or [2001:db8::2]:51820";

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '=' || c == '+' || c == '.' || c == '-';
}

// Appended piecewise: `"\"" + std::string` trips g++ 12's -Wrestrict false
// positive (GCC bug 105329) at -O3.
std::string quoted(std::string_view text) {
  std::string out(1, '"');
  out += printable(text);
  out += '"';
  return out;
}

// Bit i of an address, most significant first.
bool bit(const IpAddress& a, unsigned i) {
  return (a.bytes[i / 8] >> (7 - i % 8)) & 1;
}

// Whether every bit of `a` after `from` (up to the family's width) equals `value`.
bool host_bits_all(const IpAddress& a, unsigned from, bool value) {
  for (unsigned i = from; i < a.max_bits(); ++i) {
    if (bit(a, i) != value) return false;
  }
  return true;
}

// Unspecified, multicast or (IPv4) class E: never an address of a host.
const char* unusable(const IpAddress& a) {
  const bool zero = std::all_of(a.bytes.begin(), a.bytes.end(), [](uint8_t b) { return b == 0; });
  if (zero) return "the unspecified address";
  if (a.family == 4 && a.bytes[0] >= 224) {
    return a.bytes[0] < 240 ? "a multicast address" : "a reserved address";
  }
  if (a.family == 6 && a.bytes[0] == 0xff) return "a multicast address";
  return nullptr;
}

}  // namespace

std::string printable(std::string_view text) {
  constexpr size_t kMax = 60;
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == kMax) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof(hex), "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::optional<uint32_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n;
}

bool parse_log_level(std::string_view text, LogLevel& out) {
  static constexpr std::pair<std::string_view, LogLevel> kLevels[] = {
      {"error", LogLevel::kError},
      {"warning", LogLevel::kWarning},
      {"info", LogLevel::kInfo},
      {"debug", LogLevel::kDebug},
  };
  for (const auto& [name, level] : kLevels) {
    if (text == name) {
      out = level;
      return true;
    }
  }
  return false;
}

bool is_interface_name(std::string_view name) {
  return !name.empty() && name.size() <= 15 && std::all_of(name.begin(), name.end(), is_name_char);
}

bool is_file_prefix(std::string_view prefix) {
  return !prefix.empty() && prefix.size() <= 64 && prefix != "." && prefix != ".." &&
         std::all_of(prefix.begin(), prefix.end(), is_name_char);
}

bool is_port_name(std::string_view name) {
  return !name.empty() && name.size() <= 63 &&
         std::all_of(name.begin(), name.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

std::string decode_key(std::string_view text, std::span<uint8_t, 32> out) {
  if (text.empty()) return std::string(kKeyExpected) + ", got an empty string";
  std::vector<uint8_t> scratch(text.size() / 4 * 3 + 3);
  size_t len = 0;
  const char* end = nullptr;
  const int rc = sodium_base642bin(scratch.data(), scratch.size(), text.data(), text.size(),
                                   nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL);
  std::string problem;
  if (rc != 0 || end != text.data() + text.size()) {
    problem = std::string(kKeyExpected) + ", got " + std::to_string(text.size()) +
              " characters that are not valid base64";
  } else if (len != out.size()) {
    problem = "expected a base64 key of 32 bytes, got one of " + std::to_string(len) + " bytes";
  } else {
    std::memcpy(out.data(), scratch.data(), out.size());
  }
  sodium_memzero(scratch.data(), scratch.size());
  return problem;
}

std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || base_dir.empty()) return path;
  return base_dir.back() == '/' ? base_dir + path : base_dir + "/" + path;
}

std::string read_key_file(const std::string& path, std::span<uint8_t, 32> out) {
  // O_NONBLOCK: a FIFO named as a key file must be refused below, not block
  // open() until a writer appears (no effect on regular files).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::string("cannot open key file: ") + std::strerror(errno);
  // fstat on the open descriptor: the file checked is the file read.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return std::string("cannot stat key file: ") + std::strerror(err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return "key file is not a regular file";
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const char* what = (st.st_mode & 044) != 0 ? "readable by" : "open to";
    return std::string("key file is ") + what + " group or others (mode " + mode +
           "); chmod 600 it";
  }

  // A key is 44 characters; room for generous whitespace, and a file that
  // fills the buffer is not a key file.
  char buf[256];
  size_t used = 0;
  std::string problem;
  while (used < sizeof(buf)) {
    const ssize_t n = ::read(fd, buf + used, sizeof(buf) - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problem = std::string("cannot read key file: ") + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  if (problem.empty() && used == sizeof(buf)) {
    problem = "key file is too large to hold one key";
  }
  if (problem.empty()) {
    std::string_view text(buf, used);
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    if (text.empty()) {
      problem = "key file is empty";
    } else {
      const std::string bad = decode_key(text, out);
      if (!bad.empty()) problem = "key file content: " + bad;
    }
  }
  sodium_memzero(buf, sizeof(buf));
  return problem;
}

std::string read_small_file(const std::string& path, size_t max_bytes, std::string& out,
                            unsigned* mode) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return std::string("cannot open: ") + std::strerror(errno);
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = std::string("cannot stat: ") + std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    problem = "not a regular file";
  } else if (static_cast<size_t>(st.st_size) > max_bytes) {
    problem = "larger than " + std::to_string(max_bytes) + " bytes; not a configuration file";
  }
  if (problem.empty() && mode != nullptr) *mode = static_cast<unsigned>(st.st_mode & 07777);
  out.clear();
  char chunk[4096];
  while (problem.empty()) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) problem = std::string("cannot read: ") + std::strerror(errno);
    if (n <= 0) break;
    out.append(chunk, static_cast<size_t>(n));
    if (out.size() > max_bytes) problem = "grew past " + std::to_string(max_bytes) + " bytes";
  }
  ::close(fd);
  sodium_memzero(chunk, sizeof(chunk));
  return problem;
}

std::string parse_interface_address(std::string_view text, InterfaceAddress& out) {
  const std::string got = ", got " + quoted(text);
  if (text.find('/') == std::string_view::npos) {
    return kAddressExpected + got + " (the prefix length is missing)";
  }
  auto prefix = parse_prefix(text);
  if (!prefix) return kAddressExpected + got;
  const IpAddress& a = prefix->addr;
  if (const char* why = unusable(a)) return kAddressExpected + got + " (" + why + ")";
  if (prefix->cidr == 0) return kAddressExpected + got + " (a /0 link is the whole Internet)";
  // With at least two host bits, all-zero host bits name the network itself
  // (the usual slip: the subnet written where our address belongs), and in
  // IPv4 all-ones is the broadcast address.
  const unsigned cidr = prefix->cidr;
  if (a.max_bits() - cidr >= 2) {
    if (host_bits_all(a, cidr, false)) {
      IpAddress first = a;
      first.bytes[a.max_bits() / 8 - 1] |= 1;
      return kAddressExpected + got +
             " (that is the network itself; write an address in it, e.g. " + format_address(first) +
             "/" + std::to_string(cidr) + ")";
    }
    if (a.family == 4 && host_bits_all(a, cidr, true)) {
      return kAddressExpected + got + " (that is the broadcast address of the network)";
    }
  }
  out.address = a;
  out.prefix_length = prefix->cidr;
  return "";
}

std::string check_gateway(const IpAddress& gateway,
                          const std::vector<InterfaceAddress>& addresses) {
  const std::string family = gateway.family == 6 ? "IPv6" : "IPv4";
  if (const char* why = unusable(gateway)) {
    return "expected the address of the next-hop router, got " + std::string(why);
  }
  bool have_family = false;
  for (const InterfaceAddress& a : addresses) {
    if (a.address.family != gateway.family) continue;
    have_family = true;
    if (a.address == gateway) return "the gateway is one of this port's own addresses";
    if (prefix_matches(a.address, gateway, a.prefix_length)) return "";
  }
  if (!have_family) return "an " + family + " gateway, but this port has no " + family + " address";
  const bool link_local =
      gateway.family == 6 && gateway.bytes[0] == 0xfe && (gateway.bytes[1] & 0xc0) == 0x80;
  if (link_local) return "";
  return format_address(gateway) +
         " is not on the link of any address of this port; a next hop must be on-link";
}

std::string parse_endpoint(std::string_view text, Endpoint& out) {
  const std::string got = ", got " + quoted(text);
  std::string_view host;
  std::string_view rest;  // ":port"
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return kEndpointExpected + got + " (no closing ']')";
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (host.find(':') == std::string_view::npos) {
      return kEndpointExpected + got + " (brackets are for IPv6 addresses only)";
    }
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return kEndpointExpected + got + " (the port is missing)";
    host = text.substr(0, colon);
    rest = text.substr(colon);
    if (host.find(':') != std::string_view::npos) {
      return kEndpointExpected + got + " (an IPv6 address needs brackets: [address]:port)";
    }
  }
  if (rest.empty() || rest.front() != ':') {
    return kEndpointExpected + got + " (the port is missing)";
  }
  auto port = parse_decimal(rest.substr(1));
  if (!port || *port < 1 || *port > 65535) {
    return kEndpointExpected + got + " (the port must be 1 to 65535)";
  }
  auto address = parse_address(host);
  if (!address) {
    const bool name = std::any_of(host.begin(), host.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    return kEndpointExpected + got +
           (name ? " (host names are not resolved: give an IP address)" : " (not an IP address)");
  }
  if (const char* why = unusable(*address)) return kEndpointExpected + got + " (" + why + ")";
  out.address = *address;
  out.port = static_cast<uint16_t>(*port);
  return "";
}

std::string check_reachable(const Endpoint& endpoint, const PortConfig& outer) {
  const IpAddress& a = endpoint.address;
  const std::string family = a.family == 6 ? "IPv6" : "IPv4";
  bool have_family = false;
  for (const InterfaceAddress& own : outer.address) {
    if (own.address.family != a.family) continue;
    have_family = true;
    if (prefix_matches(own.address, a, own.prefix_length)) return "";
  }
  if (!have_family) {
    return "an " + family + " endpoint, but dataplane.outer has no " + family + " address";
  }
  if (outer.gateway && outer.gateway->family == a.family) return "";
  return format_address(a) + " is not on the link of dataplane.outer, and there is no " + family +
         " gateway to reach it through";
}

}  // namespace wirespeed::config::detail
