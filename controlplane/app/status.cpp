// The --show output (see status.hpp). Reads counters other lcores write:
// each value is a relaxed 64-bit load, so the figures are each exact but not
// a single snapshot.
#include "controlplane/app/status.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dataplane/tables/neighbours.hpp"

namespace wirespeed::controlplane::app {

namespace shm = dataplane::shm;

using shm::endpoint_text;
using shm::key_base64;

namespace {

// The control plane's counters, in slot order: `fn(name, value)` for each.
// Names are those of `--show`; the Device's drops get a "handshake_drop_"
// prefix so that they do not read as the dataplane's `drop` records.
template <typename Fn>
void for_each_controlplane_counter(const device::DeviceStats& d, const AgentCounters& a, Fn fn) {
  fn("handshake_initiations_received", d.initiations_received);
  fn("handshake_responses_sent", d.responses_sent);
  fn("handshake_initiations_sent", d.initiations_sent);
  fn("handshake_responses_received", d.responses_received);
  fn("handshakes_as_responder", d.handshakes_as_responder);
  fn("handshakes_as_initiator", d.handshakes_as_initiator);
  fn("cookie_replies_sent", d.cookie_replies_sent);
  fn("cookie_replies_received", d.cookie_replies_received);
  fn("punt_messages", a.punt_messages);
  fn("punt_polls_under_load", a.punt_polls_under_load);
  fn("punt_frames_dropped", a.frames_dropped);
  fn("commands_dropped", a.commands_dropped);
  fn("neighbour_requests", a.neighbour_requests);
  fn("neighbour_requests_suppressed", a.neighbour_requests_suppressed);
  fn("neighbours_not_learnt", a.neighbours_not_learnt);
  static const std::vector<std::string> drop_names = [] {
    std::vector<std::string> names;
    for (unsigned i = 0; i < device::kDeviceDropCount; ++i) {
      names.push_back(std::string("handshake_drop_") +
                      device::device_drop_name(static_cast<device::DeviceDrop>(i)));
    }
    return names;
  }();
  for (unsigned i = 0; i < device::kDeviceDropCount; ++i) fn(drop_names[i].c_str(), d.drops[i]);
}

// The 15 named above and one per Device drop must fit the shared block.
static_assert(15 + device::kDeviceDropCount <= shm::kControlplaneCounterSlots);

}  // namespace

void publish_controlplane_counters(const device::DeviceStats& device, const AgentCounters& agent,
                                   shm::ControlplaneCounters& out) {
  unsigned slot = 0;
  for_each_controlplane_counter(device, agent, [&](const char*, uint64_t value) {
    if (slot < shm::kControlplaneCounterSlots) out.value[slot++].set(value);
  });
}

void print_status(std::FILE* out, const config::Config& cfg, const shm::StateZone& zone,
                  uint64_t now_ns) {
  const shm::StateHeader& h = zone.header;
  const crypto::PublicKey pub = crypto::public_key(cfg.private_key);
  std::fprintf(
      out,
      "interface %s listen_port %u public_key %s dataplane_pid %u controlplane_pid %u workers %u\n",
      cfg.name.c_str(), h.listen_port.load(), key_base64(pub.data()).c_str(), h.dataplane_pid,
      h.controlplane_pid.load(), h.worker_count);
  const unsigned rows = std::min<unsigned>(h.worker_count + 1, shm::kCounterRows);
  for (uint32_t i = 0; i < shm::kMaxPeers; ++i) {
    const shm::PeerSlot& p = zone.peers[i];
    if (p.state.load(std::memory_order_acquire) != shm::PeerState::kActive) continue;
    const shm::Endpoint e = shm::read_endpoint(p);
    uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0;
    for (unsigned r = 0; r < rows; ++r) {
      const shm::PeerCounters& c = zone.peer_counters[r][i];
      rx_packets += c.rx_packets.get();
      rx_bytes += c.rx_bytes.get();
      tx_packets += c.tx_packets.get();
      tx_bytes += c.tx_bytes.get();
    }
    const uint64_t last = p.last_handshake_ns.get();
    char ago[24] = "never";
    if (last != 0) std::snprintf(ago, sizeof(ago), "%lu", (now_ns - last) / 1000000);
    std::fprintf(out,
                 "peer %u public_key %s endpoint %s handshakes %lu last_handshake_ago_ms %s "
                 "rx_packets %lu rx_bytes %lu tx_packets %lu tx_bytes %lu\n",
                 i, key_base64(p.public_key).c_str(), endpoint_text(e).c_str(), p.handshakes.get(),
                 ago, rx_packets, rx_bytes, tx_packets, tx_bytes);
  }
  uint64_t decrypted = 0, encrypted = 0, punted = 0, staged = 0, keepalives = 0;
  uint64_t port_rx[shm::kPortCount] = {}, port_tx[shm::kPortCount] = {};
  uint64_t drops[shm::kDropReasonCount] = {};
  for (unsigned r = 0; r < rows; ++r) {
    const shm::LcoreCounters& c = zone.lcore_counters[r];
    decrypted += c.decrypted.get();
    encrypted += c.encrypted.get();
    punted += c.punted.get();
    staged += c.staged.get();
    keepalives += c.keepalives_received.get();
    for (unsigned p = 0; p < shm::kPortCount; ++p) {
      port_rx[p] += c.port[p].rx_packets.get();
      port_tx[p] += c.port[p].tx_packets.get();
    }
    for (unsigned d = 0; d < shm::kDropReasonCount; ++d) drops[d] += c.drops[d].get();
  }
  std::fprintf(out, "counter decrypted %lu\ncounter encrypted %lu\ncounter punted %lu\n", decrypted,
               encrypted, punted);
  std::fprintf(out, "counter staged %lu\ncounter keepalives_received %lu\n", staged, keepalives);
  std::fprintf(out, "counter outer_rx_packets %lu\ncounter outer_tx_packets %lu\n", port_rx[0],
               port_tx[0]);
  std::fprintf(out, "counter inner_rx_packets %lu\ncounter inner_tx_packets %lu\n", port_rx[1],
               port_tx[1]);
  // Neighbour entries in use per port: the table never forgets one, so what
  // fills it (e.g. answering forged sources) shows here.
  for (unsigned p = 0; p < shm::kPortCount; ++p) {
    std::fprintf(out, "counter %s_neighbours %u\n", p == 0 ? "outer" : "inner",
                 dataplane::tables::neighbour_count(zone.neighbours[p]));
  }
  unsigned slot = 0;
  for_each_controlplane_counter({}, {}, [&](const char* name, uint64_t) {
    if (slot < shm::kControlplaneCounterSlots) {
      std::fprintf(out, "counter %s %lu\n", name, zone.controlplane_counters.value[slot++].get());
    }
  });
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    std::fprintf(out, "drop %s %lu\n", shm::drop_reason_name(static_cast<shm::DropReason>(d)),
                 drops[d]);
  }
}

}  // namespace wirespeed::controlplane::app
