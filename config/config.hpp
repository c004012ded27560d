// The gateway's configuration: the YAML schema of design-brief §5, loaded by
// one library that both processes use (wirespeed-dataplane and
// wirespeed-controlplane read the same file).
//
// Loading never touches a device: it parses, validates every field, reads
// the key files (refusing ones that group or others can read), and either
// returns a complete Config or one error that names file:line:column and
// what was expected. main() prints that error and exits 2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/crypto/blake2s.hpp"
#include "controlplane/crypto/x25519.hpp"
#include "controlplane/peers/allowed_ips.hpp"
#include "dataplane/base/result.hpp"

namespace wirespeed::config {

using controlplane::peers::IpAddress;
using controlplane::peers::Prefix;

// An address of the gateway's own on a port, with its on-link prefix
// (192.0.2.1/24 means address 192.0.2.1 on the link 192.0.2.0/24).
struct InterfaceAddress {
  IpAddress address;
  uint8_t prefix_length = 0;
};

struct Endpoint {
  IpAddress address;
  uint16_t port = 0;
};

struct PortConfig {
  std::string port;     // ethdev name: PCI address ("0000:3b:00.0") or vdev name ("net_tap0")
  uint16_t queues = 1;  // RSS queues, 1..16
  std::vector<InterfaceAddress> address;  // at least one
  std::optional<IpAddress> gateway;       // outer only: next hop for off-link endpoints
};

struct PeerConfig {
  std::string name;  // optional label; "" when absent
  controlplane::crypto::PublicKey public_key{};
  // From preshared_key or preshared_key_file; absent when neither is given.
  std::optional<controlplane::crypto::Key> preshared_key;
  std::optional<Endpoint> endpoint;
  std::vector<Prefix> allowed_ips;    // canonical (host bits cleared)
  uint16_t persistent_keepalive = 0;  // seconds, 0 = off
};

// How much the control plane logs (log.level: error | warning | info | debug).
enum class LogLevel : uint8_t { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

struct Config {
  std::string source_path;  // the file it was loaded from

  // interface:
  std::string name;  // 1..15 chars of [A-Za-z0-9_=+.-], the UAPI socket name
  controlplane::crypto::PrivateKey private_key;  // from private_key or private_key_file
  uint16_t listen_port = 51820;
  uint16_t mtu = 1420;  // inner MTU, 576..9000 (1280.. when any IPv6 is configured)

  // dataplane:
  std::string file_prefix;        // DPDK --file-prefix; default: interface name
  std::vector<std::string> eal;   // EAL arguments used when none are given on the command line
  std::vector<unsigned> workers;  // worker lcore ids, at least one, distinct
  PortConfig outer;
  PortConfig inner;

  // peers:
  std::vector<PeerConfig> peers;

  // metrics: (optional) the Prometheus text endpoint, http://127.0.0.1:PORT/metrics
  uint16_t metrics_port = 0;  // 0 = off

  // log: (optional)
  LogLevel log_level = LogLevel::kInfo;
};

// The error of a failed load: "FILE:LINE:COLUMN: message" when the problem has
// a place in the file (LINE and COLUMN are 1-based), "FILE: message" when it
// does not (an unreadable or empty file). A key file's problems (missing,
// readable by group or others, not a key) are placed at its key in the YAML.
struct LoadError {
  std::string file;
  unsigned line = 0;  // 0 when the error has no place
  unsigned column = 0;
  std::string message;  // what was expected / what is wrong; never contains key material

  std::string to_string() const;
};

struct LoadResult {
  std::optional<Config> config;  // set on success
  LoadError error;               // meaningful when config is empty
};

// Loads and validates `path`. Relative key file paths are resolved against the
// directory of `path`.
LoadResult load_config(const std::string& path);

// The same, from text already in memory; `name` stands in for the file name in
// errors and relative key paths are resolved against `base_dir`. `file_mode`
// is the permission bits of the file the text came from (-1: not a file);
// when group or others may access that file, an inline private_key or
// preshared_key in it is refused as a key file of that mode would be.
LoadResult load_config_text(const std::string& text, const std::string& name,
                            const std::string& base_dir, int file_mode = -1);

}  // namespace wirespeed::config
