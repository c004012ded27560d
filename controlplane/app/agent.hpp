// The control plane's main loop (wirespeed-controlplane, DPDK secondary, one
// thread). It turns what the dataplane hands over into protocol work and
// back into commands:
//   punt ring   handshake messages -> Device; ARP, ND, echo -> answers
//               (net/responder) and learnt neighbours
//   event ring  needs-handshake, keypair confirmed, roaming -> Device;
//               neighbour misses -> ARP/ND requests
//   counters    per-peer traffic, polled every 100 ms -> Device timers
//   commands    everything the Device and the responder want done
// It also watches the dataplane's heartbeat and exits when it stops.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "controlplane/device/device.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/shm/state.hpp"

namespace wirespeed::controlplane::app {

class Agent {
 public:
  Agent(const config::Config& cfg, dataplane::shm::SharedState& state,
        std::unique_ptr<device::Device> device);

  // Installs the configured peers, or adopts what a running dataplane
  // already holds (a restarted control plane). Returns how many peers had a
  // live session to adopt.
  unsigned start(uint64_t now_ns);

  // One pass of the loop. False when the dataplane is gone (`why` says how).
  bool poll(uint64_t now_ns, const char** why);

  void force_rekey_all(uint64_t now_ns);

 private:
  struct PortState {
    dataplane::net::MacAddress mac;
    std::vector<dataplane::net::IpAddr> addresses;
    dataplane::net::IpAddr gateway;  // outer only; family 0 = none
    std::vector<std::pair<dataplane::net::IpAddr, uint8_t>> prefixes;
  };

  // under_load: the punt ring was deep, so initiations must carry a cookie
  // (design-brief §4).
  void handle_punt(const dataplane::shm::RingMessage& msg, bool under_load, uint64_t now_ns);
  void handle_event(const dataplane::shm::RingMessage& msg, uint64_t now_ns);
  void poll_traffic(uint64_t now_ns);
  void resolve(unsigned port, const dataplane::net::IpAddr& ip, uint64_t now_ns);
  void transmit_frame(unsigned port, const uint8_t* frame, size_t len, uint64_t now_ns);
  void set_neighbour(unsigned port, const dataplane::net::IpAddr& ip,
                     const dataplane::net::MacAddress& mac);
  // The next hop towards an endpoint: itself when on-link, else the gateway.
  dataplane::net::IpAddr next_hop(const dataplane::shm::Endpoint& endpoint) const;
  bool on_link(unsigned port, const dataplane::net::IpAddr& ip) const;
  void learn_from_handshake(const device::Outbox& produced, size_t first,
                            const dataplane::net::MacAddress& src_mac);
  void send_commands();

  const config::Config& cfg_;
  dataplane::shm::SharedState& state_;
  std::unique_ptr<device::Device> device_;
  PortState ports_[dataplane::shm::kPortCount];
  device::Outbox outbox_;
  std::deque<dataplane::shm::RingMessage> backlog_;  // commands the ring had no room for
  std::unordered_map<dataplane::net::IpAddr, uint64_t, dataplane::net::IpAddrHash> resolving_[2];
  uint64_t next_traffic_poll_ns_ = 0;
  uint64_t next_resolve_ns_ = 0;
};

}  // namespace wirespeed::controlplane::app
