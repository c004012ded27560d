// The control plane's main loop (wirespeed-controlplane, DPDK secondary, one
// thread). It turns what the dataplane hands over into protocol work and
// back into commands:
//   punt ring   handshake messages -> Device; ARP, ND, echo -> answers
//               (net/responder) and learnt neighbours
//   event ring  needs-handshake, keypair confirmed, roaming -> Device;
//               neighbour misses -> ARP/ND requests
//   counters    per-peer traffic, polled every 100 ms -> Device timers
//   commands    everything the Device and the responder want done
//   UAPI        `wg` requests on /var/run/wireguard/<name>.sock -> Device
//               runtime configuration (agent_runtime.cpp)
//   metrics     the Prometheus endpoint, when configured
//   SIGHUP      reload(): the YAML re-read and synced like `wg syncconf`
// It also watches the dataplane's heartbeat and exits when it stops.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "controlplane/app/heartbeat.hpp"
#include "controlplane/app/metrics.hpp"
#include "controlplane/app/status.hpp"
#include "controlplane/device/device.hpp"
#include "controlplane/uapi/protocol.hpp"
#include "controlplane/uapi/server.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/shm/state.hpp"

namespace wirespeed::controlplane::app {

class Agent final : public uapi::Backend {
 public:
  // Builds the Device from `cfg` and opens the UAPI socket (and the metrics
  // port when configured). Fails with a message when another control plane
  // serves the socket or a port cannot be bound. `uapi_options`: where the
  // socket goes (tests use a temporary directory).
  static Result<std::unique_ptr<Agent>> create(config::Config cfg,
                                               dataplane::shm::SharedState& state,
                                               const uapi::ServerOptions& uapi_options = {});
  ~Agent() override;

  // Installs the configured peers, or adopts what a running dataplane
  // already holds (a restarted control plane). Returns how many peers had a
  // live session to adopt.
  unsigned start(uint64_t now_ns);

  // One pass of the loop. False when the dataplane is gone (`why` says how).
  bool poll(uint64_t now_ns, const char** why);

  void force_rekey_all(uint64_t now_ns);

  // Re-reads the YAML the agent was started with and applies the difference
  // (Device::sync, listen port, metrics port, log level). An invalid file, or
  // one that changes what only a dataplane restart can change, is rejected
  // whole and logged; the running state stays. True when applied.
  bool reload(uint64_t now_ns);

  // uapi::Backend: `wg show` / `wg set` against the running gateway.
  uapi::DeviceInfo get() override;
  int set(const uapi::SetRequest& request) override;

  const config::Config& config() const noexcept { return cfg_; }
  const std::string& uapi_path() const noexcept;

 private:
  Agent(config::Config cfg, dataplane::shm::SharedState& state);
  struct PortState {
    dataplane::net::MacAddress mac;
    std::vector<dataplane::net::IpAddr> addresses;
    dataplane::net::IpAddr gateway;  // outer only; family 0 = none
    std::vector<std::pair<dataplane::net::IpAddr, uint8_t>> prefixes;
  };

  // under_load: the punt ring was deep, so initiations must carry a cookie
  // (design-brief §4).
  void handle_punt(const dataplane::shm::RingMessage& msg, bool under_load, uint64_t now_ns);
  // Cookie replies the Device produced from outbox_[first] on, turned into
  // whole frames back to the link-layer source of the frame that asked.
  void answer_cookie_replies(size_t first, const dataplane::net::FrameView& asked, uint64_t now_ns);
  void handle_event(const dataplane::shm::RingMessage& msg, uint64_t now_ns);
  void poll_traffic(uint64_t now_ns);
  void resolve(unsigned port, const dataplane::net::IpAddr& ip, uint64_t now_ns);
  void transmit_frame(unsigned port, const uint8_t* frame, size_t len, uint64_t now_ns);
  void learn(unsigned port, const dataplane::net::Neighbor& n);
  void set_neighbour(unsigned port, const dataplane::net::IpAddr& ip,
                     const dataplane::net::MacAddress& mac);
  // The next hop towards an endpoint: itself when on-link, else the gateway.
  dataplane::net::IpAddr next_hop(const dataplane::shm::Endpoint& endpoint) const;
  bool on_link(unsigned port, const dataplane::net::IpAddr& ip) const;
  void learn_from_handshake(const device::Outbox& produced, size_t first,
                            const dataplane::net::MacAddress& src_mac);
  void send_commands();

  // --- agent_runtime.cpp --------------------------------------------------
  static void on_device_event(void* ctx, const device::DeviceEvent& event);
  std::string label(uint32_t peer) const;
  void refresh_labels();
  device::PeerTraffic traffic(uint32_t peer) const;
  uint64_t peer_bytes(uint32_t peer, bool rx) const;
  // `since_ns`: when a slot that changed occupant got it (0 at start: every
  // event then is the configured peer's).
  void rebase_new_peers(uint64_t since_ns);
  int apply_peer(const uapi::PeerChange& change, bool reset, uint64_t now_ns);
  void set_listen_port(uint16_t port, uint64_t now_ns);
  Result<void> open_metrics(uint16_t port);
  std::string render_metrics(uint64_t now_ns);

  config::Config cfg_;
  dataplane::shm::SharedState& state_;
  std::unique_ptr<device::Device> device_;
  PortState ports_[dataplane::shm::kPortCount];
  device::Outbox outbox_;
  std::deque<dataplane::shm::RingMessage> backlog_;  // commands the ring had no room for
  std::unordered_map<dataplane::net::IpAddr, uint64_t, dataplane::net::IpAddrHash> resolving_[2];
  // Entries in use in each port's neighbour table: counted every
  // kLivenessInterval, plus what learn() added since (its budget).
  uint32_t neighbours_used_[dataplane::shm::kPortCount] = {};
  ratelimit::UnderLoad under_load_;  // punt ring depth, with the kernel's one-second hold
  AgentCounters counters_;           // published to --show with the Device's stats
  uint64_t next_traffic_poll_ns_ = 0;
  uint64_t next_resolve_ns_ = 0;
  uint64_t next_liveness_ns_ = 0;  // poll(): is the dataplane still there?
  HeartbeatJudge heartbeat_;       // poll(): is its main lcore hung, or only starved?
  uint16_t listen_port_ = 0;       // current: the config's until UAPI or reload changes it
  std::unique_ptr<uapi::Server> uapi_;
  std::unique_ptr<MetricsServer> metrics_;
  BusyTracker busy_;
  std::vector<std::string> labels_;  // by slot, for log lines about peers already gone
  // Per slot: the dataplane's byte counters when the slot's peer appeared
  // (UAPI transfer figures count from there).
  // Events carry the slot, not the peer: one raised (timestamp_ns) before
  // the slot's current peer arrived (since_ns) was about the previous one.
  struct SlotBase {
    bool known = false;
    crypto::PublicKey public_key{};
    uint64_t rx_bytes = 0, tx_bytes = 0;
    uint64_t since_ns = 0;
  };
  std::vector<SlotBase> bases_;
};

}  // namespace wirespeed::controlplane::app
