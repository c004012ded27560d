// The scalar values of the config schema (config/config.hpp): base64 keys and
// key files, interface addresses, gateways, endpoints, numbers and names.
// Internal to the config library; config.cpp owns the document's shape and
// these own what one field's text may say.
//
// Each parser returns "" on success or the message for the caller to place
// ("expected ..., got ..."). The loader needs messages built at run time, so
// this is not a Result<T>: it never runs on a hot path, only at start-up on
// the main thread. Messages about keys never contain key text.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace wirespeed::config::detail {

// A place in the YAML file, 1-based; line 0 means "no place".
struct Place {
  unsigned line = 0;
  unsigned column = 0;

  friend auto operator<=>(const Place&, const Place&) = default;
};

// `text` made safe to quote in a message: quotes, backslashes and control
// bytes escaped, cut to 60 characters with "...".
std::string printable(std::string_view text);

// A plain decimal number: digits only, no sign, no leading zero, at most 9
// digits. YAML 1.1 would read "0755" as octal and "0x10" as hex; we read
// neither, so what the operator sees is what the gateway gets.
std::optional<uint32_t> parse_decimal(std::string_view text);

// "error", "warning", "info" or "debug" (exactly, lower case) into `out`.
bool parse_log_level(std::string_view text, LogLevel& out);

// 1..15 characters of [A-Za-z0-9_=+.-] (the kernel's IFNAMSIZ, and what the
// UAPI socket name may hold).
bool is_interface_name(std::string_view name);

// A DPDK --file-prefix: 1..64 characters of the interface name alphabet, not
// "." or ".." (it becomes a directory name under /var/run/dpdk).
bool is_file_prefix(std::string_view prefix);

// An ethdev name: 1..63 printable characters without spaces (RTE_ETH_NAME_MAX_LEN).
bool is_port_name(std::string_view name);

// Decodes standard base64 (44 characters, one '=' of padding) of exactly 32
// bytes into `out`. Wipes its scratch copy.
std::string decode_key(std::string_view text, std::span<uint8_t, 32> out);

// `path` unchanged when absolute (or base_dir is empty), else base_dir/path.
std::string resolve_path(const std::string& base_dir, const std::string& path);

// Reads one base64 key from a file as `wg genkey` writes it (surrounding
// whitespace allowed). Refuses anything but a regular file of mode & 077 == 0,
// before reading a byte of it. Wipes its buffer.
std::string read_key_file(const std::string& path, std::span<uint8_t, 32> out);

// Reads a whole regular file of at most `max_bytes` into `out`; its
// permission bits into *mode when mode is not null.
std::string read_small_file(const std::string& path, size_t max_bytes, std::string& out,
                            unsigned* mode = nullptr);

// "192.0.2.1/24" or "2001:db8::1/64": an address of ours with its on-link
// prefix length. Refuses a missing length, /0, unspecified, multicast and
// reserved addresses, and the network (or IPv4 broadcast) address of the prefix.
std::string parse_interface_address(std::string_view text, InterfaceAddress& out);

// A next hop must be on the link of one of `addresses` (an IPv6 link-local
// gateway is on-link by definition) and not one of them.
std::string check_gateway(const IpAddress& gateway, const std::vector<InterfaceAddress>& addresses);

// "192.0.2.2:51820" or "[2001:db8::2]:51820"; no host names (the gateway does
// not resolve names at start-up, and a name that resolves differently
// tomorrow is not a configuration).
std::string parse_endpoint(std::string_view text, Endpoint& out);

// The outer port can send to `endpoint`: it has an address of the endpoint's
// family, and the endpoint is on-link or there is a gateway of that family.
std::string check_reachable(const Endpoint& endpoint, const PortConfig& outer);

}  // namespace wirespeed::config::detail
