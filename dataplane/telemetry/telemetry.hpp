// What operators use to see inside a running dataplane without stopping it:
// DPDK telemetry commands under /wirespeed/ (read with dpdk-telemetry.py on
// the gateway's file prefix) and packet capture with dpdk-dumpcap (the pdump
// server). Both run in wirespeed-dataplane, the primary.
//
//   /wirespeed/info            pids, workers, listen port, uptime, heartbeat age,
//                              peer count, ring and mbuf pool occupancy
//   /wirespeed/ports[,P]       per port (P = outer|inner|0|1): our counters and
//                              the NIC's; without P both, keys prefixed outer_/inner_
//   /wirespeed/lcores[,ROW]    per counter row (0 = main lcore, 1.. workers):
//                              without ROW, arrays indexed by row; with it, one dict
//   /wirespeed/peers[,SLOT]    without SLOT the active slots and the count; with
//                              it, one peer's counters, endpoint and keypairs
//   /wirespeed/drops           every drop reason by name, summed over lcores
//
// The callbacks run on EAL's telemetry thread. They read the state zone
// through shm::take_snapshot() (the figures `wirespeed show` and the
// metrics page print) and never write shared memory.
#pragma once

#include "dataplane/base/result.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::telemetry {

// Owns the registration of the /wirespeed/ commands: while it lives they
// answer from `zone`; once it is destroyed they answer with an error (DPDK
// 22.11 cannot unregister a command, so a request racing shutdown must find
// no zone rather than a freed one). One at a time per process.
class TelemetryCommands {
 public:
  // Main lcore, after rte_eal_init and after the zone's header is filled.
  static Result<TelemetryCommands> register_commands(const shm::StateZone& zone);

  TelemetryCommands(TelemetryCommands&& other) noexcept : active_(other.active_) {
    other.active_ = false;
  }
  TelemetryCommands& operator=(TelemetryCommands&&) = delete;
  TelemetryCommands(const TelemetryCommands&) = delete;
  ~TelemetryCommands();

 private:
  TelemetryCommands() noexcept : active_(true) {}
  bool active_;
};

// The pdump server dpdk-dumpcap (a secondary on the same --file-prefix)
// asks to copy a port's RX/TX to its ring. Its callbacks run on the lcore
// that receives or sends, only while a capture is on.
class PacketCapture {
 public:
  static Result<PacketCapture> enable();

  PacketCapture(PacketCapture&& other) noexcept : active_(other.active_) { other.active_ = false; }
  PacketCapture& operator=(PacketCapture&&) = delete;
  PacketCapture(const PacketCapture&) = delete;
  ~PacketCapture();

 private:
  PacketCapture() noexcept : active_(true) {}
  bool active_;
};

}  // namespace wirespeed::dataplane::telemetry
