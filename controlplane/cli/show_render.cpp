// The text and JSON forms of `wirespeed show` (show_render.hpp).
#include "controlplane/cli/show_render.hpp"

#include "dataplane/shm/text.hpp"

#include <arpa/inet.h>

#include <cstdio>

#include "controlplane/cli/json_writer.hpp"
#include "controlplane/cli/keys.hpp"

namespace wirespeed::controlplane::cli {

namespace shm = dataplane::shm;

namespace {

constexpr uint64_t kNsPerMs = 1000000;

const char* role_name(unsigned port) {
  return port == 0 ? "outer" : "inner";
}


std::string mac_text(const uint8_t mac[6]) {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                mac[4], mac[5]);
  return buf;
}

std::string port_name(const shm::Snapshot& s, const ShowContext& ctx, unsigned p) {
  return s.ports[p].name.empty() ? ctx.port_names[p] : s.ports[p].name;
}

std::string peer_name(const ShowContext& ctx, const std::string& key) {
  auto it = ctx.peer_names.find(key);
  return it == ctx.peer_names.end() ? "" : it->second;
}

std::string hex32(uint32_t v) {
  char buf[12];
  std::snprintf(buf, sizeof(buf), "0x%08x", v);
  return buf;
}

// printf into a std::string, for the aligned columns of the text form.
template <typename... Args>
void put(std::string& out, const char* format, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), format, args...);
  out += buf;
}

using ull = unsigned long long;

}  // namespace

std::string format_age(uint64_t ns) {
  const uint64_t ms = ns / kNsPerMs;
  char buf[48];
  if (ms < 1000) {
    std::snprintf(buf, sizeof(buf), "%llums", static_cast<ull>(ms));
  } else if (ms < 60 * 1000) {
    std::snprintf(buf, sizeof(buf), "%llu.%llus", static_cast<ull>(ms / 1000),
                  static_cast<ull>(ms % 1000 / 100));
  } else {
    const uint64_t s = ms / 1000;
    if (s < 3600) {
      std::snprintf(buf, sizeof(buf), "%llum%02llus", static_cast<ull>(s / 60),
                    static_cast<ull>(s % 60));
    } else {
      std::snprintf(buf, sizeof(buf), "%lluh%02llum%02llus", static_cast<ull>(s / 3600),
                    static_cast<ull>(s / 60 % 60), static_cast<ull>(s % 60));
    }
  }
  return buf;
}

std::string render_text(const shm::Snapshot& s, const ShowContext& ctx) {
  std::string o;
  put(o, "interface: %s\n", ctx.interface_name.c_str());
  if (!ctx.public_key.empty()) put(o, "  public key: %s\n", ctx.public_key.c_str());
  put(o, "  listening port: %u\n", s.listen_port);
  put(o, "  dataplane: pid %u, up %s, heartbeat %s ago, %u worker(s)\n", s.dataplane_pid,
      format_age(s.uptime_ns).c_str(), format_age(s.heartbeat_age_ns).c_str(), s.worker_count);
  if (s.controlplane_pid != 0) {
    put(o, "  controlplane: pid %u\n", s.controlplane_pid);
  } else {
    o += "  controlplane: not attached\n";
  }

  o += "\nports:\n";
  put(o, "  %-6s %-16s %5s %6s %5s %-17s %12s %14s %12s %14s\n", "role", "name", "port", "queues",
      "mtu", "mac", "rx_packets", "rx_bytes", "tx_packets", "tx_bytes");
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    const shm::PortSnapshot& ps = s.ports[p];
    put(o, "  %-6s %-16s %5u %6u %5u %-17s %12llu %14llu %12llu %14llu\n", role_name(p),
        port_name(s, ctx, p).c_str(), ps.ethdev_port, ps.queues, ps.mtu, mac_text(ps.mac).c_str(),
        static_cast<ull>(ps.rx_packets), static_cast<ull>(ps.rx_bytes),
        static_cast<ull>(ps.tx_packets), static_cast<ull>(ps.tx_bytes));
  }
  o += "  nic:\n";
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    const shm::PortSnapshot& ps = s.ports[p];
    put(o,
        "  %-6s rx_packets %llu tx_packets %llu rx_missed %llu rx_errors %llu tx_errors %llu "
        "rx_nombuf %llu\n",
        role_name(p), static_cast<ull>(ps.hw_rx_packets), static_cast<ull>(ps.hw_tx_packets),
        static_cast<ull>(ps.hw_rx_missed), static_cast<ull>(ps.hw_rx_errors),
        static_cast<ull>(ps.hw_tx_errors), static_cast<ull>(ps.hw_rx_nombuf));
  }

  o += "\nlcores:\n";
  put(o, "  %-6s %5s %6s %12s %12s %12s %12s %12s %12s %9s %9s %10s %10s\n", "row", "lcore", "busy",
      "outer_rx", "outer_tx", "inner_rx", "inner_tx", "decrypted", "encrypted", "punted", "staged",
      "keepalives", "drops");
  for (const shm::LcoreSnapshot& l : s.lcores) {
    uint64_t drops = 0;
    for (unsigned d = 0; d < shm::kDropReasonCount; ++d) drops += l.drops[d];
    char row[16];
    std::snprintf(row, sizeof(row), l.row == 0 ? "main" : "w%u", l.row);
    put(o,
        "  %-6s %5u %5.1f%% %12llu %12llu %12llu %12llu %12llu %12llu %9llu %9llu %10llu %10llu\n",
        row, l.lcore_id, l.busy_ratio() * 100.0, static_cast<ull>(l.rx_packets[0]),
        static_cast<ull>(l.tx_packets[0]), static_cast<ull>(l.rx_packets[1]),
        static_cast<ull>(l.tx_packets[1]), static_cast<ull>(l.decrypted),
        static_cast<ull>(l.encrypted), static_cast<ull>(l.punted), static_cast<ull>(l.staged),
        static_cast<ull>(l.keepalives_received), static_cast<ull>(drops));
  }

  for (const shm::PeerSnapshot& p : s.peers) {
    const std::string key = key_to_base64(std::span<const uint8_t, 32>(p.public_key, 32));
    const std::string name = peer_name(ctx, key);
    put(o, "\npeer: %s%s%s%s\n", key.c_str(), name.empty() ? "" : " (", name.c_str(),
        name.empty() ? "" : ")");
    put(o, "  slot: %u\n", p.slot);
    const std::string ep = shm::endpoint_text(p.endpoint, "");
    put(o, "  endpoint: %s\n", ep.empty() ? "(none)" : ep.c_str());
    if (p.last_handshake_age_ns) {
      put(o, "  latest handshake: %s ago (%llu handshake(s))\n",
          format_age(*p.last_handshake_age_ns).c_str(), static_cast<ull>(p.handshakes));
    } else {
      o += "  latest handshake: never\n";
    }
    put(o, "  transfer: %llu B received (%llu packets), %llu B sent (%llu packets)\n",
        static_cast<ull>(p.rx_bytes), static_cast<ull>(p.rx_packets), static_cast<ull>(p.tx_bytes),
        static_cast<ull>(p.tx_packets));
    put(o, "  staged: %u packet(s)\n", p.staged);
    for (const shm::KeypairSnapshot& k : p.keypairs) {
      put(o, "  keypair %-8s age %s, local index %s, remote index %s, sent %llu, %s\n", k.role,
          format_age(k.age_ns).c_str(), hex32(k.local_index).c_str(), hex32(k.remote_index).c_str(),
          static_cast<ull>(k.send_counter), k.we_initiated ? "we initiated" : "they initiated");
    }
  }

  o += "\ndrops:\n";
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    put(o, "  %-24s %llu\n", shm::drop_reason_name(static_cast<shm::DropReason>(d)),
        static_cast<ull>(s.drops[d]));
  }

  o += "\nrings:\n";
  if (s.rings.empty()) o += "  (not found)\n";
  for (const shm::RingSnapshot& r : s.rings) {
    put(o, "  %-12s %6u of %u in use\n", r.name.c_str(), r.count, r.capacity);
  }
  o += "\nmempool:\n";
  if (s.mempool) {
    put(o, "  %-12s %6u of %u in use, %u available\n", s.mempool->name.c_str(), s.mempool->in_use,
        s.mempool->size, s.mempool->available);
  } else {
    o += "  (not found)\n";
  }
  return o;
}

std::string render_json(const shm::Snapshot& s, const ShowContext& ctx, bool pretty) {
  JsonWriter j(pretty);
  j.begin_object();
  j.key("interface");
  j.begin_object();
  j.field("name", ctx.interface_name);
  j.key("public_key");
  if (ctx.public_key.empty()) {
    j.null();
  } else {
    j.value(ctx.public_key);
  }
  j.field("listen_port", unsigned{s.listen_port});
  j.field("dataplane_pid", unsigned{s.dataplane_pid});
  j.key("controlplane_pid");
  if (s.controlplane_pid == 0) {
    j.null();
  } else {
    j.value(unsigned{s.controlplane_pid});
  }
  j.field("workers", unsigned{s.worker_count});
  j.field("tsc_hz", s.tsc_hz);
  j.field("uptime_ms", s.uptime_ns / kNsPerMs);
  j.field("heartbeat_age_ms", s.heartbeat_age_ns / kNsPerMs);
  j.end_object();

  j.key("ports");
  j.begin_array();
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    const shm::PortSnapshot& ps = s.ports[p];
    j.begin_object();
    j.field("role", role_name(p));
    j.field("name", port_name(s, ctx, p));
    j.field("ethdev_port", unsigned{ps.ethdev_port});
    j.field("queues", unsigned{ps.queues});
    j.field("mtu", unsigned{ps.mtu});
    j.field("mac", mac_text(ps.mac));
    j.field("rx_packets", ps.rx_packets);
    j.field("rx_bytes", ps.rx_bytes);
    j.field("tx_packets", ps.tx_packets);
    j.field("tx_bytes", ps.tx_bytes);
    j.key("nic");
    j.begin_object();
    j.field("rx_packets", ps.hw_rx_packets);
    j.field("tx_packets", ps.hw_tx_packets);
    j.field("rx_missed", ps.hw_rx_missed);
    j.field("rx_errors", ps.hw_rx_errors);
    j.field("tx_errors", ps.hw_tx_errors);
    j.field("rx_nombuf", ps.hw_rx_nombuf);
    j.end_object();
    j.end_object();
  }
  j.end_array();

  j.key("lcores");
  j.begin_array();
  for (const shm::LcoreSnapshot& l : s.lcores) {
    j.begin_object();
    j.field("row", l.row);
    j.field("role", l.row == 0 ? "main" : "worker");
    j.field("lcore_id", l.lcore_id);
    j.field("busy_ratio", l.busy_ratio());
    j.field("busy_tsc", l.busy_tsc);
    j.field("total_tsc", l.total_tsc);
    j.field("loops", l.loops);
    for (unsigned p = 0; p < shm::kPortCount; ++p) {
      j.field(std::string(role_name(p)) + "_rx_packets", l.rx_packets[p]);
      j.field(std::string(role_name(p)) + "_tx_packets", l.tx_packets[p]);
    }
    j.field("decrypted", l.decrypted);
    j.field("encrypted", l.encrypted);
    j.field("punted", l.punted);
    j.field("staged", l.staged);
    j.field("keepalives_received", l.keepalives_received);
    j.key("drops");
    j.begin_object();
    for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
      j.field(shm::drop_reason_name(static_cast<shm::DropReason>(d)), l.drops[d]);
    }
    j.end_object();
    j.end_object();
  }
  j.end_array();

  j.key("peers");
  j.begin_array();
  for (const shm::PeerSnapshot& p : s.peers) {
    const std::string key = key_to_base64(std::span<const uint8_t, 32>(p.public_key, 32));
    const std::string name = peer_name(ctx, key);
    const std::string ep = shm::endpoint_text(p.endpoint, "");
    j.begin_object();
    j.field("slot", p.slot);
    j.field("public_key", key);
    j.key("name");
    if (name.empty()) {
      j.null();
    } else {
      j.value(name);
    }
    j.key("endpoint");
    if (ep.empty()) {
      j.null();
    } else {
      j.value(ep);
    }
    j.field("rx_packets", p.rx_packets);
    j.field("rx_bytes", p.rx_bytes);
    j.field("tx_packets", p.tx_packets);
    j.field("tx_bytes", p.tx_bytes);
    j.field("handshakes", p.handshakes);
    j.key("latest_handshake_age_ms");
    if (p.last_handshake_age_ns) {
      j.value(*p.last_handshake_age_ns / kNsPerMs);
    } else {
      j.null();
    }
    j.field("staged", unsigned{p.staged});
    j.key("keypairs");
    j.begin_array();
    for (const shm::KeypairSnapshot& k : p.keypairs) {
      j.begin_object();
      j.field("role", k.role);
      j.field("age_ms", k.age_ns / kNsPerMs);
      j.field("local_index", unsigned{k.local_index});
      j.field("remote_index", unsigned{k.remote_index});
      j.field("send_counter", k.send_counter);
      j.field("we_initiated", k.we_initiated);
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }
  j.end_array();

  j.key("drops");
  j.begin_object();
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    j.field(shm::drop_reason_name(static_cast<shm::DropReason>(d)), s.drops[d]);
  }
  j.end_object();

  j.key("rings");
  j.begin_array();
  for (const shm::RingSnapshot& r : s.rings) {
    j.begin_object();
    j.field("name", r.name);
    j.field("count", r.count);
    j.field("capacity", r.capacity);
    j.end_object();
  }
  j.end_array();

  j.key("mempool");
  if (s.mempool) {
    j.begin_object();
    j.field("name", s.mempool->name);
    j.field("size", s.mempool->size);
    j.field("in_use", s.mempool->in_use);
    j.field("available", s.mempool->available);
    j.end_object();
  } else {
    j.null();
  }
  j.end_object();
  std::string out = j.text();
  out += '\n';
  return out;
}

}  // namespace wirespeed::controlplane::cli
