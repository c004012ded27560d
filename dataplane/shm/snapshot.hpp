// One read of everything the dataplane counts, as plain values: the common
// source of `wirespeed show`, the DPDK telemetry commands (/wirespeed/...) and
// the control plane's Prometheus endpoint, so that the three never disagree
// on what a figure means.
//
// Runs in any process attached to the state zone (the dataplane's telemetry
// thread, wirespeed-controlplane, `wirespeed show`). Every figure is a relaxed
// 64-bit load of a counter one lcore writes: each is exact, the set is not an
// atomic snapshot. take_snapshot() needs EAL (rings, mempool, ethdev stats by
// name); summarise() is pure and is what the unit tests exercise.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::shm {

struct PortSnapshot {
  PortRole role = PortRole::kOuter;
  std::string name;  // ethdev name ("" when EAL is not available)
  uint16_t ethdev_port = 0;
  uint16_t queues = 0;
  uint16_t mtu = 0;
  uint8_t mac[6] = {};
  // Our counters (summed over lcore rows): frames the pipelines took / sent.
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  // The NIC's own (rte_eth_stats_get); zero when unavailable.
  uint64_t hw_rx_packets = 0, hw_tx_packets = 0, hw_rx_missed = 0, hw_rx_errors = 0,
           hw_tx_errors = 0, hw_rx_nombuf = 0;
};

struct LcoreSnapshot {
  unsigned row = 0;  // 0 = main lcore, 1.. = workers
  unsigned lcore_id = 0;
  uint64_t rx_packets[kPortCount] = {};
  uint64_t tx_packets[kPortCount] = {};
  uint64_t decrypted = 0, encrypted = 0, punted = 0, staged = 0, keepalives_received = 0;
  uint64_t drops[kDropReasonCount] = {};
  uint64_t loops = 0;
  uint64_t busy_tsc = 0, total_tsc = 0;

  // busy_tsc / total_tsc since the dataplane started; 0 when nothing counted.
  double busy_ratio() const noexcept {
    return total_tsc == 0 ? 0.0 : static_cast<double>(busy_tsc) / static_cast<double>(total_tsc);
  }
};

struct KeypairSnapshot {
  const char* role = "";  // "current", "previous" or "next"
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
  uint64_t age_ns = 0;  // now - birth
  uint64_t send_counter = 0;
  bool we_initiated = false;
};

struct PeerSnapshot {
  uint32_t slot = 0;
  uint8_t public_key[32] = {};
  Endpoint endpoint;  // family 0 = none
  uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
  uint64_t handshakes = 0;
  std::optional<uint64_t> last_handshake_age_ns;  // empty = never
  uint32_t staged = 0;
  std::vector<KeypairSnapshot> keypairs;  // current, previous, next, those present
};

struct RingSnapshot {
  std::string name;
  unsigned count = 0;
  unsigned capacity = 0;
};

struct MempoolSnapshot {
  std::string name;
  unsigned size = 0;
  unsigned in_use = 0;
  unsigned available = 0;
};

struct Snapshot {
  uint64_t taken_ns = 0;  // CLOCK_MONOTONIC
  uint32_t dataplane_pid = 0;
  uint32_t controlplane_pid = 0;
  uint32_t worker_count = 0;
  uint16_t listen_port = 0;
  uint64_t tsc_hz = 0;
  uint64_t uptime_ns = 0;          // now - started_ns
  uint64_t heartbeat_age_ns = 0;   // now - heartbeat
  PortSnapshot ports[kPortCount];  // indexed by PortRole
  std::vector<LcoreSnapshot> lcores;  // worker_count + 1 rows
  std::vector<PeerSnapshot> peers;    // active slots only, by slot
  uint64_t drops[kDropReasonCount] = {};  // summed over lcores
  std::vector<RingSnapshot> rings;        // punt, events, commands (those found)
  std::optional<MempoolSnapshot> mempool; // "ws_mbufs" when found
};

// Everything that is in the state zone itself (no EAL calls): header, ports'
// info and counters, lcores, peers with keypairs, drop totals.
Snapshot summarise(const StateZone& zone, uint64_t now_ns);

// summarise() plus ring and mempool occupancy and the ethdev names and NIC
// statistics, looked up by name through EAL (any process of this prefix).
Snapshot take_snapshot(const StateZone& zone, uint64_t now_ns);

}  // namespace wirespeed::dataplane::shm
