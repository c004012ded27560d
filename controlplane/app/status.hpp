// `wirespeed-controlplane --config FILE --show`: the gateway's state read
// straight from shared memory, one `key value...` record per line (stable,
// for scripts and the lab tests):
//   interface NAME listen_port N public_key B64 dataplane_pid N controlplane_pid N workers N
//   peer SLOT public_key B64 endpoint ADDR:PORT|none handshakes N last_handshake_ago_ms N|never
//        rx_packets N rx_bytes N tx_packets N tx_bytes N      (one line)
//   counter NAME N          (the dataplane's, the neighbour entries in use per
//                            port, then the control plane's: see
//                            publish_controlplane_counters)
//   drop REASON N
#pragma once

#include <cstdio>
#include <string>

#include "config/config.hpp"
#include "controlplane/device/device.hpp"
#include "dataplane/shm/abi.hpp"
#include "dataplane/shm/text.hpp"

namespace wirespeed::controlplane::app {

// Text forms of endpoints and keys: one definition for every view.
using dataplane::shm::endpoint_text;
using dataplane::shm::key_base64;

// What the Agent counts itself about punted traffic and the commands it
// sends (flood handling); the Device counts the handshake messages.
struct AgentCounters {
  uint64_t punt_messages = 0;          // dequeued from the punt ring
  uint64_t punt_polls_under_load = 0;  // polls that found the punt ring deep (or within the hold)
  // Best-effort frames (cookie replies, ARP, echo) the full command ring had no room for.
  uint64_t frames_dropped = 0;
  uint64_t commands_dropped = 0;               // commands lost to a full backlog (should stay 0)
  uint64_t neighbour_requests = 0;             // ARP/ND requests sent
  uint64_t neighbour_requests_suppressed = 0;  // not sent: too many pending already
  // ARP/ND from a sender we did not ask about, not learnt: its port's table
  // was half full (Agent::learn).
  uint64_t neighbours_not_learnt = 0;
};

// Writes the control plane's counters into the shared block read by
// print_status: `counter NAME N` records after the dataplane's. Values are
// absolute since this control plane started (a restarted one starts again
// from 0). Control-plane main thread, once per loop; relaxed stores.
void publish_controlplane_counters(const device::DeviceStats& device, const AgentCounters& agent,
                                   dataplane::shm::ControlplaneCounters& out);

void print_status(std::FILE* out, const config::Config& cfg, const dataplane::shm::StateZone& zone,
                  uint64_t now_ns);

}  // namespace wirespeed::controlplane::app
