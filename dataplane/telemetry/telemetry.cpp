// The /wirespeed/ telemetry commands and the pdump server (telemetry.hpp).
// Callbacks run on EAL's telemetry thread of wirespeed-dataplane; each takes
// one snapshot and formats part of it. DPDK 22.11 telemetry has no floats,
// so ratios are given as the raw TSC cycle pair and a whole percentage.
#include "dataplane/telemetry/telemetry.hpp"

#include "dataplane/shm/text.hpp"

#include <arpa/inet.h>
#include <rte_errno.h>
#include <rte_pdump.h>
#include <rte_telemetry.h>
#include <sodium.h>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "dataplane/base/clock.hpp"
#include "dataplane/shm/snapshot.hpp"

namespace wirespeed::dataplane::telemetry {

namespace {

// The zone the commands read, or null when no TelemetryCommands lives.
// Guarded by g_mutex so a request in progress finishes before the zone can
// go away (the destructor takes the mutex).
std::mutex g_mutex;
const shm::StateZone* g_zone = nullptr;
bool g_registered = false;  // rte_telemetry_register_cmd done (once per process)

constexpr unsigned kNsPerMs = 1000000;
// Peers per /wirespeed/peers answer: DPDK 22.11's telemetry output is one
// 16 KiB buffer and an array holds at most RTE_TEL_MAX_ARRAY_ENTRIES.
constexpr unsigned kMaxSlotsListed = 256;
static_assert(kMaxSlotsListed <= RTE_TEL_MAX_ARRAY_ENTRIES);

const char* port_name(unsigned p) {
  return p == 0 ? "outer" : "inner";
}


// A whole decimal number in `text` (the command's parameter), else false.
bool parse_index(const char* text, unsigned& out) {
  if (text == nullptr || *text == '\0') return false;
  const char* end = text + std::strlen(text);
  auto [ptr, ec] = std::from_chars(text, end, out);
  return ec == std::errc() && ptr == end;
}

bool has_param(const char* params) {
  return params != nullptr && *params != '\0';
}

uint64_t percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0 : (part * 100 + whole / 2) / whole;
}

// Runs `fill` on a fresh snapshot under the mutex; -ENODEV once the
// dataplane is shutting down.
template <typename F>
int with_snapshot(F&& fill) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_zone == nullptr) return -ENODEV;
  const shm::Snapshot s = shm::take_snapshot(*g_zone, monotonic_ns());
  return fill(s);
}

int cmd_info(const char*, const char* params, rte_tel_data* d) {
  if (has_param(params)) return -EINVAL;
  return with_snapshot([d](const shm::Snapshot& s) {
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_int(d, "abi_version", static_cast<int>(shm::kAbiVersion));
    rte_tel_data_add_dict_u64(d, "dataplane_pid", s.dataplane_pid);
    rte_tel_data_add_dict_u64(d, "controlplane_pid", s.controlplane_pid);
    rte_tel_data_add_dict_u64(d, "workers", s.worker_count);
    rte_tel_data_add_dict_u64(d, "listen_port", s.listen_port);
    rte_tel_data_add_dict_u64(d, "tsc_hz", s.tsc_hz);
    rte_tel_data_add_dict_u64(d, "uptime_ms", s.uptime_ns / kNsPerMs);
    rte_tel_data_add_dict_u64(d, "heartbeat_age_ms", s.heartbeat_age_ns / kNsPerMs);
    rte_tel_data_add_dict_u64(d, "peers", s.peers.size());
    for (const shm::RingSnapshot& r : s.rings) {
      rte_tel_data_add_dict_u64(d, (r.name + "_count").c_str(), r.count);
      rte_tel_data_add_dict_u64(d, (r.name + "_capacity").c_str(), r.capacity);
    }
    if (s.mempool) {
      rte_tel_data_add_dict_u64(d, "mbufs_size", s.mempool->size);
      rte_tel_data_add_dict_u64(d, "mbufs_in_use", s.mempool->in_use);
      rte_tel_data_add_dict_u64(d, "mbufs_available", s.mempool->available);
    }
    return 0;
  });
}

void add_port(rte_tel_data* d, const shm::PortSnapshot& p, const std::string& prefix) {
  auto u64 = [&](const char* name, uint64_t v) {
    rte_tel_data_add_dict_u64(d, (prefix + name).c_str(), v);
  };
  rte_tel_data_add_dict_string(d, (prefix + "name").c_str(), p.name.c_str());
  u64("ethdev_port", p.ethdev_port);
  u64("queues", p.queues);
  u64("mtu", p.mtu);
  u64("rx_packets", p.rx_packets);
  u64("rx_bytes", p.rx_bytes);
  u64("tx_packets", p.tx_packets);
  u64("tx_bytes", p.tx_bytes);
  u64("hw_rx_packets", p.hw_rx_packets);
  u64("hw_tx_packets", p.hw_tx_packets);
  u64("hw_rx_missed", p.hw_rx_missed);
  u64("hw_rx_errors", p.hw_rx_errors);
  u64("hw_tx_errors", p.hw_tx_errors);
  u64("hw_rx_nombuf", p.hw_rx_nombuf);
}

int cmd_ports(const char*, const char* params, rte_tel_data* d) {
  int only = -1;
  if (has_param(params)) {
    const std::string_view p(params);
    unsigned n = 0;
    if (p == "outer") {
      only = 0;
    } else if (p == "inner") {
      only = 1;
    } else if (parse_index(params, n) && n < shm::kPortCount) {
      only = static_cast<int>(n);
    } else {
      return -EINVAL;
    }
  }
  return with_snapshot([d, only](const shm::Snapshot& s) {
    rte_tel_data_start_dict(d);
    for (unsigned p = 0; p < shm::kPortCount; ++p) {
      if (only >= 0 && static_cast<unsigned>(only) != p) continue;
      add_port(d, s.ports[p], only >= 0 ? "" : std::string(port_name(p)) + "_");
    }
    return 0;
  });
}

void add_lcore(rte_tel_data* d, const shm::LcoreSnapshot& l) {
  rte_tel_data_add_dict_u64(d, "row", l.row);
  rte_tel_data_add_dict_u64(d, "lcore_id", l.lcore_id);
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    rte_tel_data_add_dict_u64(d, (std::string(port_name(p)) + "_rx_packets").c_str(),
                              l.rx_packets[p]);
    rte_tel_data_add_dict_u64(d, (std::string(port_name(p)) + "_tx_packets").c_str(),
                              l.tx_packets[p]);
  }
  rte_tel_data_add_dict_u64(d, "decrypted", l.decrypted);
  rte_tel_data_add_dict_u64(d, "encrypted", l.encrypted);
  rte_tel_data_add_dict_u64(d, "punted", l.punted);
  rte_tel_data_add_dict_u64(d, "staged", l.staged);
  rte_tel_data_add_dict_u64(d, "keepalives_received", l.keepalives_received);
  rte_tel_data_add_dict_u64(d, "loops", l.loops);
  rte_tel_data_add_dict_u64(d, "busy_tsc", l.busy_tsc);
  rte_tel_data_add_dict_u64(d, "total_tsc", l.total_tsc);
  rte_tel_data_add_dict_u64(d, "busy_percent", percent(l.busy_tsc, l.total_tsc));
  uint64_t drops = 0;
  for (uint64_t v : l.drops) drops += v;
  rte_tel_data_add_dict_u64(d, "drops", drops);
}

// One u64 array per field, indexed by counter row.
template <typename F>
void add_column(rte_tel_data* d, const shm::Snapshot& s, const char* name, F&& field) {
  rte_tel_data* a = rte_tel_data_alloc();
  if (a == nullptr) return;
  rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
  for (const shm::LcoreSnapshot& l : s.lcores) rte_tel_data_add_array_u64(a, field(l));
  if (rte_tel_data_add_dict_container(d, name, a, 0) != 0) rte_tel_data_free(a);
}

int cmd_lcores(const char*, const char* params, rte_tel_data* d) {
  unsigned row = 0;
  const bool one = has_param(params);
  if (one && (!parse_index(params, row) || row >= shm::kCounterRows)) return -EINVAL;
  return with_snapshot([d, one, row](const shm::Snapshot& s) {
    rte_tel_data_start_dict(d);
    if (one) {
      if (row >= s.lcores.size()) return -EINVAL;
      add_lcore(d, s.lcores[row]);
      return 0;
    }
    using L = shm::LcoreSnapshot;
    add_column(d, s, "lcore_id", [](const L& l) -> uint64_t { return l.lcore_id; });
    add_column(d, s, "busy_percent", [](const L& l) { return percent(l.busy_tsc, l.total_tsc); });
    add_column(d, s, "busy_tsc", [](const L& l) { return l.busy_tsc; });
    add_column(d, s, "total_tsc", [](const L& l) { return l.total_tsc; });
    add_column(d, s, "loops", [](const L& l) { return l.loops; });
    add_column(d, s, "outer_rx_packets", [](const L& l) { return l.rx_packets[0]; });
    add_column(d, s, "inner_rx_packets", [](const L& l) { return l.rx_packets[1]; });
    add_column(d, s, "decrypted", [](const L& l) { return l.decrypted; });
    add_column(d, s, "encrypted", [](const L& l) { return l.encrypted; });
    add_column(d, s, "punted", [](const L& l) { return l.punted; });
    return 0;
  });
}

void add_peer(rte_tel_data* d, const shm::PeerSnapshot& p) {
  rte_tel_data_add_dict_u64(d, "slot", p.slot);
  // Public: the peer's public key, never anything secret.
  rte_tel_data_add_dict_string(d, "public_key", shm::key_base64(p.public_key).c_str());
  rte_tel_data_add_dict_string(d, "endpoint", shm::endpoint_text(p.endpoint).c_str());
  rte_tel_data_add_dict_u64(d, "rx_packets", p.rx_packets);
  rte_tel_data_add_dict_u64(d, "rx_bytes", p.rx_bytes);
  rte_tel_data_add_dict_u64(d, "tx_packets", p.tx_packets);
  rte_tel_data_add_dict_u64(d, "tx_bytes", p.tx_bytes);
  rte_tel_data_add_dict_u64(d, "handshakes", p.handshakes);
  if (p.last_handshake_age_ns) {
    rte_tel_data_add_dict_u64(d, "last_handshake_age_ms", *p.last_handshake_age_ns / kNsPerMs);
  } else {
    rte_tel_data_add_dict_string(d, "last_handshake_age_ms", "never");
  }
  rte_tel_data_add_dict_u64(d, "staged", p.staged);
  for (const shm::KeypairSnapshot& k : p.keypairs) {
    const std::string role(k.role);
    rte_tel_data_add_dict_u64(d, (role + "_keypair_age_ms").c_str(), k.age_ns / kNsPerMs);
    rte_tel_data_add_dict_u64(d, (role + "_keypair_send_counter").c_str(), k.send_counter);
    rte_tel_data_add_dict_u64(d, (role + "_keypair_local_index").c_str(), k.local_index);
  }
}

int cmd_peers(const char*, const char* params, rte_tel_data* d) {
  unsigned slot = 0;
  const bool one = has_param(params);
  if (one && (!parse_index(params, slot) || slot >= shm::kMaxPeers)) return -EINVAL;
  return with_snapshot([d, one, slot](const shm::Snapshot& s) {
    rte_tel_data_start_dict(d);
    if (one) {
      for (const shm::PeerSnapshot& p : s.peers) {
        if (p.slot != slot) continue;
        add_peer(d, p);
        return 0;
      }
      return -ENOENT;  // not an active slot
    }
    rte_tel_data_add_dict_u64(d, "count", s.peers.size());
    rte_tel_data* slots = rte_tel_data_alloc();
    rte_tel_data* rx = rte_tel_data_alloc();
    rte_tel_data* tx = rte_tel_data_alloc();
    if (slots == nullptr || rx == nullptr || tx == nullptr) {
      rte_tel_data_free(slots);
      rte_tel_data_free(rx);
      rte_tel_data_free(tx);
      return -ENOMEM;
    }
    rte_tel_data_start_array(slots, RTE_TEL_U64_VAL);
    rte_tel_data_start_array(rx, RTE_TEL_U64_VAL);
    rte_tel_data_start_array(tx, RTE_TEL_U64_VAL);
    unsigned listed = 0;
    for (const shm::PeerSnapshot& p : s.peers) {
      if (listed++ == kMaxSlotsListed) break;
      rte_tel_data_add_array_u64(slots, p.slot);
      rte_tel_data_add_array_u64(rx, p.rx_bytes);
      rte_tel_data_add_array_u64(tx, p.tx_bytes);
    }
    rte_tel_data_add_dict_container(d, "slots", slots, 0);
    rte_tel_data_add_dict_container(d, "rx_bytes", rx, 0);
    rte_tel_data_add_dict_container(d, "tx_bytes", tx, 0);
    rte_tel_data_add_dict_u64(d, "listed", std::min<size_t>(s.peers.size(), kMaxSlotsListed));
    return 0;
  });
}

int cmd_drops(const char*, const char* params, rte_tel_data* d) {
  if (has_param(params)) return -EINVAL;
  return with_snapshot([d](const shm::Snapshot& s) {
    rte_tel_data_start_dict(d);
    for (unsigned r = 0; r < shm::kDropReasonCount; ++r) {
      rte_tel_data_add_dict_u64(d, shm::drop_reason_name(static_cast<shm::DropReason>(r)),
                                s.drops[r]);
    }
    return 0;
  });
}

struct Command {
  const char* path;
  telemetry_cb fn;
  const char* help;
};

constexpr Command kCommands[] = {
    {"/wirespeed/info", cmd_info,
     "wirespeed: pids, workers, listen port, uptime, heartbeat, rings, mbufs. No parameters."},
    {"/wirespeed/ports", cmd_ports,
     "wirespeed: port counters, ours and the NIC's. Optional parameter: outer|inner|0|1."},
    {"/wirespeed/lcores", cmd_lcores,
     "wirespeed: per-lcore counters and busy ratio (arrays by row). Optional parameter: row."},
    {"/wirespeed/peers", cmd_peers,
     "wirespeed: active peer slots with bytes. Optional parameter: slot for one peer's details."},
    {"/wirespeed/drops", cmd_drops,
     "wirespeed: drops by reason, summed over lcores. No parameters."},
};

}  // namespace

Result<TelemetryCommands> TelemetryCommands::register_commands(const shm::StateZone& zone) {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_zone != nullptr)
    return make_error(Errc::kBadState, "telemetry commands already registered");
  if (!g_registered) {
    for (const Command& c : kCommands) {
      const int rc = rte_telemetry_register_cmd(c.path, c.fn, c.help);
      if (rc != 0) return make_error(Errc::kSystem, "rte_telemetry_register_cmd", -rc);
    }
    g_registered = true;
  }
  g_zone = &zone;
  return TelemetryCommands();
}

TelemetryCommands::~TelemetryCommands() {
  if (!active_) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_zone = nullptr;
}

Result<PacketCapture> PacketCapture::enable() {
  if (rte_pdump_init() != 0) return make_error(Errc::kSystem, "rte_pdump_init", rte_errno);
  return PacketCapture();
}

PacketCapture::~PacketCapture() {
  if (active_) rte_pdump_uninit();
}

}  // namespace wirespeed::dataplane::telemetry
