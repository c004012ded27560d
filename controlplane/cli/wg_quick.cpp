// The wg-quick INI reader (wg_quick.hpp). One pass over the lines; the first
// problem stops it. `wirespeed` process only.
#include "controlplane/cli/wg_quick.hpp"

#include <sodium.h>

#include <algorithm>
#include <cctype>

#include "controlplane/cli/keys.hpp"
#include "controlplane/peers/allowed_ips.hpp"

namespace wirespeed::controlplane::cli {

namespace {

namespace peers = controlplane::peers;

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A plain decimal number no larger than `max`.
std::optional<uint32_t> parse_number(std::string_view text, uint32_t max) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  uint32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

// A piece of a line with the 1-based column where it starts.
struct Field {
  std::string_view text;
  unsigned column = 0;
};

Field trim(std::string_view text, unsigned column) {
  size_t begin = 0;
  while (begin < text.size() && is_blank(text[begin])) ++begin;
  size_t end = text.size();
  while (end > begin && is_blank(text[end - 1])) --end;
  return Field{text.substr(begin, end - begin), column + static_cast<unsigned>(begin)};
}

// "a, b,c" -> its non-empty items with their columns.
std::vector<Field> split_list(const Field& value) {
  std::vector<Field> items;
  size_t start = 0;
  while (start <= value.text.size()) {
    size_t comma = value.text.find(',', start);
    if (comma == std::string_view::npos) comma = value.text.size();
    Field item =
        trim(value.text.substr(start, comma - start), value.column + static_cast<unsigned>(start));
    if (!item.text.empty()) items.push_back(item);
    start = comma + 1;
  }
  return items;
}

enum class Section { kNone, kInterface, kPeer };

class Parser {
 public:
  WgQuickResult run(std::string_view text) {
    WgQuickResult result;
    unsigned line_no = 0;
    size_t pos = 0;
    while (pos < text.size() && ok_) {
      size_t eol = text.find('\n', pos);
      if (eol == std::string_view::npos) eol = text.size();
      ++line_no;
      parse_line(text.substr(pos, eol - pos), line_no);
      pos = eol + 1;
    }
    if (ok_ && section_ == Section::kPeer) ok_ = finish_peer();
    if (ok_ && cfg_.interface_line == 0) fail(0, 0, "no [Interface] section: not a wg-quick file");
    if (ok_ && !saw_listen_port_) {
      note(cfg_.interface_line,
           "no ListenPort: wg picks a random port at each start; wirespeed listens on "
           "interface.listen_port, 51820 unless you set it");
    }
    std::stable_sort(cfg_.notes.begin(), cfg_.notes.end(),
                     [](const Note& a, const Note& b) { return a.line < b.line; });
    if (!ok_) {
      result.error = error_;
      return result;
    }
    result.config.emplace(std::move(cfg_));
    return result;
  }

 private:
  void fail(unsigned line, unsigned column, std::string message) {
    if (!ok_) return;
    ok_ = false;
    error_ = WgQuickError{line, column, std::move(message)};
  }

  void note(unsigned line, std::string text) { cfg_.notes.push_back(Note{line, std::move(text)}); }

  void parse_line(std::string_view raw, unsigned line) {
    line_ = line;
    const size_t hash = raw.find('#');
    const Field content = trim(raw.substr(0, hash), 1);
    if (content.text.empty()) return;
    if (content.text.front() == '[') {
      start_section(content);
      return;
    }
    const size_t eq = content.text.find('=');
    if (eq == std::string_view::npos) {
      fail(line, content.column, "expected [Interface], [Peer] or Key = Value");
      return;
    }
    const Field key = trim(content.text.substr(0, eq), content.column);
    const Field value =
        trim(content.text.substr(eq + 1), content.column + static_cast<unsigned>(eq) + 1);
    if (key.text.empty()) {
      fail(line, content.column, "expected a key before '='");
      return;
    }
    const std::string name = lower(key.text);
    switch (section_) {
      case Section::kNone:
        fail(line, key.column, "a key before any [Interface] or [Peer] section");
        return;
      case Section::kInterface:
        interface_key(name, key, value);
        return;
      case Section::kPeer:
        peer_key(name, key, value);
        return;
    }
  }

  void start_section(const Field& content) {
    if (section_ == Section::kPeer && !finish_peer()) return;
    const std::string name = lower(content.text);
    if (name == "[interface]") {
      if (cfg_.interface_line != 0) {
        fail(line_, content.column,
             "a second [Interface] section (the first is at line " +
                 std::to_string(cfg_.interface_line) + ")");
        return;
      }
      cfg_.interface_line = line_;
      section_ = Section::kInterface;
    } else if (name == "[peer]") {
      peer_ = WgQuickPeer{};
      peer_.line = line_;
      have_public_key_ = false;
      section_ = Section::kPeer;
    } else {
      fail(line_, content.column,
           "expected [Interface] or [Peer], got " + std::string(content.text));
    }
  }

  bool finish_peer() {
    if (!have_public_key_) {
      fail(peer_.line, 1, "this [Peer] has no PublicKey");
      return false;
    }
    cfg_.peers.push_back(std::move(peer_));
    peer_ = WgQuickPeer{};
    return true;
  }

  // A key of 32 bytes in wg's base64 into `out`; the message never quotes it.
  bool read_key(const Field& key, const Field& value, std::span<uint8_t, kKeyLen> out) {
    if (!key_from_base64(value.text, out)) {
      sodium_memzero(out.data(), out.size());
      fail(line_, value.column,
           std::string(key.text) +
               ": expected a base64 key of 32 bytes (44 characters) as wg genkey prints");
      return false;
    }
    return true;
  }

  std::optional<uint32_t> read_number(const Field& key, const Field& value, uint32_t max) {
    auto n = parse_number(value.text, max);
    if (!n) {
      fail(line_, value.column,
           std::string(key.text) + ": expected a number from 0 to " + std::to_string(max) +
               ", got \"" + std::string(value.text.substr(0, 40)) + "\"");
    }
    return n;
  }

  // Prefixes (Address, AllowedIPs) as written; a bare address gets the host
  // length, as wg and `ip address add` read it.
  void read_prefixes(const Field& key, const Field& value, std::vector<std::string>& out) {
    for (const Field& item : split_list(value)) {
      auto prefix = peers::parse_prefix(item.text);
      if (!prefix) {
        fail(line_, item.column,
             std::string(key.text) +
                 ": expected an address or prefix like 10.8.0.1/24 or fd00::1/64, got \"" +
                 std::string(item.text.substr(0, 50)) + "\"");
        return;
      }
      std::string text(item.text);
      if (text.find('/') == std::string::npos) text += prefix->addr.family == 4 ? "/32" : "/128";
      out.push_back(std::move(text));
    }
  }

  void not_carried(const Field& key, const std::string& why, bool quote_value, const Field& value) {
    std::string text = std::string(key.text);
    if (quote_value) text += " = " + std::string(value.text.substr(0, 80));
    note(line_, text + ": not carried over: " + why);
  }

  void interface_key(const std::string& name, const Field& key, const Field& value) {
    if (name == "privatekey") {
      crypto::PrivateKey k;
      if (read_key(key, value, k.writable())) cfg_.private_key.emplace(std::move(k));
    } else if (name == "listenport") {
      saw_listen_port_ = true;
      auto n = read_number(key, value, 65535);
      if (!n) return;
      if (*n == 0) {
        not_carried(key, "0 asks wg for a random port; wirespeed needs a fixed one and uses 51820",
                    true, value);
      } else {
        cfg_.listen_port = static_cast<uint16_t>(*n);
      }
    } else if (name == "mtu") {
      auto n = read_number(key, value, 65535);
      if (n) cfg_.mtu = static_cast<uint16_t>(*n);
    } else if (name == "address") {
      read_prefixes(key, value, cfg_.addresses);
    } else if (name == "dns") {
      not_carried(key, "wirespeed does not configure the host's resolver", true, value);
    } else if (name == "table") {
      not_carried(key,
                  "wirespeed installs no kernel routes; route the peers' allowed IPs to the inner "
                  "port's address on your LAN",
                  true, value);
    } else if (name == "preup" || name == "postup" || name == "predown" || name == "postdown") {
      // The command is not repeated here: hooks often hold paths or secrets.
      not_carried(key,
                  "wirespeed runs no hook commands; use systemd units (ExecStartPre/Post) instead",
                  false, value);
    } else if (name == "saveconfig") {
      not_carried(key, "wirespeed never rewrites its YAML; edit it and run `wirespeed reload`",
                  true, value);
    } else if (name == "fwmark") {
      not_carried(key, "wirespeed's packets bypass the kernel, so there is nothing to mark", true,
                  value);
    } else {
      not_carried(key, "unknown [Interface] key", false, value);
    }
  }

  void peer_key(const std::string& name, const Field& key, const Field& value) {
    if (name == "publickey") {
      have_public_key_ = read_key(key, value, peer_.public_key);
    } else if (name == "presharedkey") {
      crypto::Key k;
      if (read_key(key, value, k.writable())) peer_.preshared_key.emplace(std::move(k));
    } else if (name == "endpoint") {
      read_endpoint(key, value);
    } else if (name == "allowedips") {
      read_prefixes(key, value, peer_.allowed_ips);
    } else if (name == "persistentkeepalive") {
      if (lower(value.text) == "off") {
        peer_.persistent_keepalive = 0;
        return;
      }
      auto n = read_number(key, value, 65535);
      if (n) peer_.persistent_keepalive = static_cast<uint16_t>(*n);
    } else {
      not_carried(key, "unknown [Peer] key", false, value);
    }
  }

  // "192.0.2.2:51820", "[2001:db8::2]:51820" or "host.example:51820".
  void read_endpoint(const Field& key, const Field& value) {
    const std::string_view v = value.text;
    std::string_view host, port;
    if (!v.empty() && v.front() == '[') {
      const size_t close = v.find("]:");
      if (close == std::string_view::npos) {
        fail(line_, value.column, "Endpoint: expected [IPv6]:PORT");
        return;
      }
      host = v.substr(1, close - 1);
      port = v.substr(close + 2);
    } else {
      const size_t colon = v.rfind(':');
      if (colon == std::string_view::npos || v.find(':') != colon) {
        fail(line_, value.column, "Endpoint: expected HOST:PORT, or [IPv6]:PORT for IPv6");
        return;
      }
      host = v.substr(0, colon);
      port = v.substr(colon + 1);
    }
    auto n = parse_number(port, 65535);
    if (!n || *n == 0 || host.empty()) {
      fail(line_, value.column, "Endpoint: expected HOST:PORT with a port from 1 to 65535");
      return;
    }
    auto address = peers::parse_address(host);
    if (!address) {
      not_carried(key,
                  "wirespeed takes IP addresses only; resolve the name and write the address, or "
                  "leave the endpoint out and let the peer connect",
                  true, value);
      return;
    }
    const std::string text = peers::format_address(*address);
    peer_.endpoint_family = address->family;
    peer_.endpoint = address->family == 6 ? "[" + text + "]:" + std::to_string(*n)
                                          : text + ":" + std::to_string(*n);
  }

  WgQuickConfig cfg_;
  WgQuickPeer peer_;
  bool have_public_key_ = false;
  bool saw_listen_port_ = false;
  Section section_ = Section::kNone;
  unsigned line_ = 0;
  bool ok_ = true;
  WgQuickError error_;
};

}  // namespace

WgQuickResult parse_wg_quick(std::string_view text) {
  return Parser().run(text);
}

}  // namespace wirespeed::controlplane::cli
