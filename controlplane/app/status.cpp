// The --show output (see status.hpp). Reads counters other lcores write:
// each value is a relaxed 64-bit load, so the figures are each exact but not
// a single snapshot.
#include "controlplane/app/status.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <algorithm>
#include <string>

namespace wirespeed::controlplane::app {

namespace shm = dataplane::shm;

using shm::endpoint_text;
using shm::key_base64;

void print_status(std::FILE* out, const config::Config& cfg, const shm::StateZone& zone,
                  uint64_t now_ns) {
  const shm::StateHeader& h = zone.header;
  const crypto::PublicKey pub = crypto::public_key(cfg.private_key);
  std::fprintf(out, "interface %s listen_port %u public_key %s dataplane_pid %u controlplane_pid %u workers %u\n",
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
  std::fprintf(out, "counter outer_rx_packets %lu\ncounter outer_tx_packets %lu\n", port_rx[0], port_tx[0]);
  std::fprintf(out, "counter inner_rx_packets %lu\ncounter inner_tx_packets %lu\n", port_rx[1], port_tx[1]);
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    std::fprintf(out, "drop %s %lu\n", shm::drop_reason_name(static_cast<shm::DropReason>(d)), drops[d]);
  }
}

}  // namespace wirespeed::controlplane::app
