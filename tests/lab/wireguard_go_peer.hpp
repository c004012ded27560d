// Lab harness: a real WireGuard peer (Debian's wireguard-go, configured with
// `wg`) inside a network namespace the test creates and removes.
//
// The test process can enter the namespace (enter()) to open sockets there,
// so all traffic stays on that namespace's loopback. Every prerequisite that
// is missing (root, /dev/net/tun, wireguard-go, wg, ip) is an error whose
// message names it: lab tests fail, they never skip.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace wirespeed::test::lab {

// Runs argv (no shell), waits, returns the exit status; output goes to `out`.
int run_command(const std::vector<std::string>& argv, std::string* out = nullptr);

// Empty when the lab can run here, else what is missing.
std::string missing_prerequisites();

struct PeerConfig {
  std::string private_key_b64;       // wireguard-go's own key
  uint16_t listen_port = 51820;
  std::string tunnel_cidr;           // e.g. "10.77.0.1/24" on its interface
  std::string peer_public_key_b64;   // our side
  std::string peer_allowed_ips;      // e.g. "10.77.0.2/32"
  std::string peer_endpoint;         // "127.0.0.1:51821", empty for none
  std::string preshared_key_b64;     // empty for none
};

class WireguardGoPeer {
 public:
  WireguardGoPeer() = default;
  ~WireguardGoPeer();
  WireguardGoPeer(const WireguardGoPeer&) = delete;
  WireguardGoPeer& operator=(const WireguardGoPeer&) = delete;

  // Creates namespace `ws-<tag>-<pid>`, starts wireguard-go in it, applies
  // `config` with `wg set`. On failure returns false and fills `error`.
  bool start(const std::string& tag, const PeerConfig& config, std::string* error);

  // Moves the calling thread into the namespace / back to the original one.
  bool enter(std::string* error);
  void leave();

  // Runs a command inside the namespace (`ip netns exec`).
  int exec_in_namespace(const std::vector<std::string>& argv, std::string* out = nullptr);
  // Starts one in the background; returns its pid (reaped by wait_background).
  pid_t spawn_in_namespace(const std::vector<std::string>& argv);
  static int wait_background(pid_t pid, int timeout_ms);

  const std::string& netns() const { return netns_; }
  const std::string& interface() const { return interface_; }

 private:
  void stop();

  std::string netns_;
  std::string interface_;
  std::string key_dir_;
  pid_t wg_pid_ = -1;
  int original_netns_fd_ = -1;
};

}  // namespace wirespeed::test::lab
