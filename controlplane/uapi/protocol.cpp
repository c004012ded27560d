// The UAPI text protocol (see protocol.hpp): parsing a request whole before
// anything is applied, and formatting replies exactly as `wg` (wireguard-tools
// ipc-uapi.h) and wireguard-go read and write them. Control-plane main thread.
#include "controlplane/uapi/protocol.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "controlplane/peers/allowed_ips.hpp"
#include "dataplane/shm/text.hpp"

namespace wirespeed::controlplane::uapi {

namespace {

// Bounds on what one request may carry. wg writes lines far shorter than
// kMaxLine (the longest is an allowed_ip of a full IPv6 address); the counts
// are generous for any gateway of kMaxPeers peers and keep a hostile request
// from making the control plane allocate without bound.
constexpr size_t kMaxLine = 256;
constexpr size_t kMaxPeerChanges = 4 * dataplane::shm::kMaxPeers;
constexpr size_t kMaxAllowedIpsPerRequest = 65536;  // the dataplane's route table

constexpr size_t kKeyHexLen = 64;

struct Failure {
  int error = EINVAL;
  std::string message;
};

// Exactly 64 hex digits (either case) into 32 bytes. libsodium's decoder is
// constant-time in the digits, which matters for private and preshared keys.
bool parse_key(std::string_view text, uint8_t out[32]) {
  if (text.size() != kKeyHexLen) return false;
  size_t bin_len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out, 32, text.data(), text.size(), nullptr, &bin_len, &end) != 0) return false;
  return bin_len == 32 && end == text.data() + text.size();
}

// A decimal number without sign, leading '+' or spaces, at most `max`.
bool parse_number(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > max) return false;
  *out = value;
  return true;
}

bool parse_bool_true(std::string_view text, bool* out) {
  if (text == "true") {
    *out = true;
    return true;
  }
  if (text == "false") {
    *out = false;
    return true;
  }
  return false;
}

// "192.0.2.2:51820" or "[2001:db8::2]:51820": numeric only (wg resolves
// names before it sends), no zone id, port 1..65535.
bool parse_endpoint(std::string_view text, config::Endpoint* out) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return false;  // brackets are for IPv6
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return false;  // bare IPv6 needs brackets
  }
  uint64_t number = 0;
  if (!parse_number(port, 65535, &number) || number == 0) return false;
  auto address = peers::parse_address(host);
  if (!address) return false;
  out->address = *address;
  out->port = static_cast<uint16_t>(number);
  return true;
}

// "10.8.1.0/24": the length is required (wg always sends it), host bits are
// dropped as the kernel does.
bool parse_allowed_ip(std::string_view text, config::Prefix* out) {
  if (text.find('/') == std::string_view::npos) return false;
  auto prefix = peers::parse_prefix(text);
  if (!prefix || !peers::is_valid(*prefix)) return false;
  *out = peers::canonicalize(*prefix);
  return true;
}

// Parses the lines of a set request (after "set=1"). Fills `set`; on failure
// says which line and why, never echoing a key's value.
bool parse_set(std::string_view body, SetRequest* set, Failure* failure) {
  size_t allowed_ips = 0;
  unsigned line_number = 1;
  PeerChange* peer = nullptr;
  while (!body.empty()) {
    ++line_number;
    const size_t newline = body.find('\n');
    const std::string_view line = body.substr(0, newline);
    body.remove_prefix(newline == std::string_view::npos ? body.size() : newline + 1);
    const auto fail = [&](const char* why, std::string_view key, int error = EINVAL) {
      failure->error = error;
      failure->message = "set line " + std::to_string(line_number);
      if (!key.empty()) failure->message += " (" + std::string(key) + ")";
      failure->message += ": ";
      failure->message += why;
      return false;
    };
    if (line.size() > kMaxLine) return fail("line too long", {});
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) return fail("expected key=value", {});
    const std::string_view key = line.substr(0, eq);
    const std::string_view value = line.substr(eq + 1);
    // Printable keys only in messages: the key may be garbage.
    for (char c : key) {
      if (!((c >= 'a' && c <= 'z') || c == '_')) return fail("unknown key", {});
    }

    if (key == "public_key") {
      if (set->peers.size() >= kMaxPeerChanges)
        return fail("too many peers in one request", key, E2BIG);
      PeerChange& change = set->peers.emplace_back();
      if (!parse_key(value, change.public_key.data())) return fail("expected 64 hex digits", key);
      peer = &change;
      continue;
    }
    if (peer == nullptr) {
      uint64_t number = 0;
      if (key == "private_key") {
        crypto::PrivateKey k;
        if (!parse_key(value, k.data())) return fail("expected 64 hex digits", key);
        // A gateway without an identity cannot serve anyone: refused rather
        // than taken as "remove the key" (what the kernel would do).
        if (k.is_zero()) return fail("an all-zero private key is not accepted", key);
        set->private_key = std::move(k);
      } else if (key == "listen_port") {
        if (!parse_number(value, 65535, &number)) return fail("expected a port number", key);
        // The gateway's port is fixed by its operator; there is no random port.
        if (number == 0) return fail("0 (a random port) is not supported", key);
        set->listen_port = static_cast<uint16_t>(number);
      } else if (key == "fwmark") {
        // Packets never touch the kernel here, so a mark has nothing to mark:
        // 0 (what `wg setconf` sends for "FwMark = off") is the only value.
        if (!parse_number(value, 0xffffffffULL, &number)) return fail("expected a number", key);
        if (number != 0) return fail("fwmark is not supported by this gateway", key, EOPNOTSUPP);
      } else if (key == "replace_peers") {
        if (!parse_bool_true(value, &set->replace_peers))
          return fail("expected true or false", key);
      } else {
        return fail("unknown device key", key);
      }
      continue;
    }
    if (key == "remove") {
      if (!parse_bool_true(value, &peer->remove)) return fail("expected true or false", key);
    } else if (key == "update_only") {
      if (!parse_bool_true(value, &peer->update_only)) return fail("expected true or false", key);
    } else if (key == "preshared_key") {
      crypto::Key k;
      if (!parse_key(value, k.data())) return fail("expected 64 hex digits", key);
      peer->preshared_key = std::move(k);
    } else if (key == "endpoint") {
      config::Endpoint e;
      if (!parse_endpoint(value, &e)) return fail("expected IP:PORT or [IPv6]:PORT", key);
      peer->endpoint = e;
    } else if (key == "persistent_keepalive_interval") {
      uint64_t number = 0;
      if (!parse_number(value, 65535, &number)) return fail("expected seconds, 0 to 65535", key);
      peer->persistent_keepalive = static_cast<uint16_t>(number);
    } else if (key == "replace_allowed_ips") {
      if (!parse_bool_true(value, &peer->replace_allowed_ips)) {
        return fail("expected true or false", key);
      }
    } else if (key == "allowed_ip") {
      if (++allowed_ips > kMaxAllowedIpsPerRequest) return fail("too many allowed IPs", key, E2BIG);
      config::Prefix p;
      if (!parse_allowed_ip(value, &p)) return fail("expected ADDRESS/LENGTH", key);
      peer->allowed_ips.push_back(p);
    } else if (key == "protocol_version") {
      uint64_t number = 0;
      if (!parse_number(value, 0xffffffffULL, &number) || number != 1) {
        return fail("only protocol version 1 exists", key);
      }
    } else {
      return fail("unknown peer key", key);
    }
  }
  return true;
}

void append_line(SecretString& out, const char* key, std::string_view value) {
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

// KEY=<64 hex digits>, straight into `out`: the only other copy of the hex
// is on the stack here, and wiped.
void append_key_line(SecretString& out, const char* key, const uint8_t bytes[32]) {
  char text[kKeyHexLen + 1];
  sodium_bin2hex(text, sizeof(text), bytes, 32);
  append_line(out, key, std::string_view(text, kKeyHexLen));
  sodium_memzero(text, sizeof(text));
}

}  // namespace

ParseResult parse_request(std::string_view text) {
  ParseResult result;
  const auto fail = [&](int error, std::string message) {
    result.error = error;
    result.message = std::move(message);
    return std::move(result);
  };
  // The request ends with its one blank line, and nothing follows it.
  if (text.size() < 2 || text.substr(text.size() - 2) != "\n\n") {
    return fail(EPROTO, "request does not end with a blank line");
  }
  const std::string_view body = text.substr(0, text.size() - 1);  // each line ends '\n'
  if (body.find("\n\n") != std::string_view::npos) return fail(EPROTO, "more than one request");
  const size_t first_end = body.find('\n');
  const std::string_view first = body.substr(0, first_end);
  std::string_view rest = body.substr(first_end + 1);
  if (first == "get=1") {
    if (!rest.empty()) return fail(EINVAL, "get=1 takes no keys");
    result.request.emplace();
    result.request->kind = RequestKind::kGet;
    return result;
  }
  if (first != "set=1") return fail(EINVAL, "expected get=1 or set=1 as the first line");
  Request request;
  request.kind = RequestKind::kSet;
  Failure failure;
  if (!parse_set(rest, &request.set, &failure))
    return fail(failure.error, std::move(failure.message));
  result.request.emplace(std::move(request));
  return result;
}

// Negative on the wire, as wireguard-go writes it (ipc.IpcErrorInvalid is
// -EINVAL): `wg` turns "errno=-22" into "Invalid argument", whereas a
// positive number would reach the operator as "Unknown error -22".
std::string format_errno(int error) {
  return "errno=" + std::to_string(error > 0 ? -error : error) + "\n\n";
}

// The order is wireguard-go's (device/uapi.go), which `wg` reads; values it
// does not know (protocol_version) it ignores.
SecretString format_get(const DeviceInfo& info) {
  SecretString out;
  out.reserve(128 + info.peers.size() * 320);
  if (info.private_key != nullptr && !info.private_key->is_zero()) {
    append_key_line(out, "private_key", info.private_key->data());
  }
  if (info.listen_port != 0) append_line(out, "listen_port", std::to_string(info.listen_port));
  for (const PeerInfo& p : info.peers) {
    append_key_line(out, "public_key", p.public_key.data());
    // All zero means none, as wireguard-go writes it.
    const uint8_t zero[32] = {};
    append_key_line(out, "preshared_key", p.preshared_key ? p.preshared_key->data() : zero);
    append_line(out, "protocol_version", "1");
    if (p.endpoint.family == 4 || p.endpoint.family == 6) {
      append_line(out, "endpoint", dataplane::shm::endpoint_text(p.endpoint));
    }
    append_line(out, "last_handshake_time_sec",
                std::to_string(p.last_handshake_unix_ns / 1000000000ULL));
    append_line(out, "last_handshake_time_nsec",
                std::to_string(p.last_handshake_unix_ns % 1000000000ULL));
    append_line(out, "tx_bytes", std::to_string(p.tx_bytes));
    append_line(out, "rx_bytes", std::to_string(p.rx_bytes));
    append_line(out, "persistent_keepalive_interval", std::to_string(p.persistent_keepalive));
    for (const config::Prefix& prefix : p.allowed_ips) {
      append_line(out, "allowed_ip", peers::format_prefix(prefix));
    }
  }
  out += format_errno(0);
  return out;
}

SecretString handle_request(std::string_view text, Backend& backend, std::string* message) {
  const auto reply = [](int error) {
    const std::string e = format_errno(error);
    return SecretString(e.begin(), e.end());
  };
  ParseResult parsed = parse_request(text);
  if (!parsed.request) {
    if (message != nullptr) *message = parsed.message;
    return reply(parsed.error);
  }
  if (parsed.request->kind == RequestKind::kGet) return format_get(backend.get());
  const int error = backend.set(parsed.request->set);
  if (error != 0 && message != nullptr) {
    *message = "set refused: " + std::string(std::strerror(error));
  }
  return reply(error);
}

}  // namespace wirespeed::controlplane::uapi
