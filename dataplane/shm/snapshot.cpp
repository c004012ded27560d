// One read of the dataplane's counters (see snapshot.hpp). summarise() reads
// the state zone only and is pure apart from the relaxed loads; take_snapshot()
// adds what only EAL can find by name (rings, the mbuf pool, ethdev names and
// NIC statistics). Any process attached to the zone, any thread: nothing here
// writes shared memory.
#include "dataplane/shm/snapshot.hpp"

#include <rte_ethdev.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <algorithm>

namespace wirespeed::dataplane::shm {

namespace {

// now - then, or 0 when `then` is in the future (a clock read on another
// lcore a moment after ours) or unset.
uint64_t age(uint64_t now_ns, uint64_t then_ns) noexcept {
  return then_ns == 0 || then_ns > now_ns ? 0 : now_ns - then_ns;
}

void add_keypair(const StateZone& zone, const char* role, int32_t slot, uint32_t peer,
                 uint64_t now_ns, std::vector<KeypairSnapshot>& out) {
  if (slot < 0 || static_cast<uint32_t>(slot) >= kMaxKeypairs) return;
  const KeypairSlot& k = zone.keypairs[slot];
  if (k.state.load(std::memory_order_acquire) != SlotState::kLive || k.peer != peer) return;
  KeypairSnapshot s;
  s.role = role;
  s.local_index = k.local_index;
  s.remote_index = k.remote_index;
  s.age_ns = age(now_ns, k.birth_ns);
  s.send_counter = k.send_counter.load(std::memory_order_relaxed);
  s.we_initiated = k.we_initiated != 0;
  out.push_back(s);
}

// The rows a reader may trust: the header's worker count, bounded by the ABI
// (a zone from a damaged header must not send us past the array).
unsigned counter_rows(const StateHeader& h) noexcept {
  return std::min<unsigned>(h.worker_count + 1, kCounterRows);
}

}  // namespace

Snapshot summarise(const StateZone& zone, uint64_t now_ns) {
  const StateHeader& h = zone.header;
  Snapshot s;
  s.taken_ns = now_ns;
  s.dataplane_pid = h.dataplane_pid;
  s.controlplane_pid = h.controlplane_pid.load(std::memory_order_relaxed);
  s.worker_count = h.worker_count;
  s.listen_port = static_cast<uint16_t>(h.listen_port.load(std::memory_order_relaxed));
  s.tsc_hz = h.tsc_hz;
  s.uptime_ns = age(now_ns, h.started_ns);
  s.heartbeat_age_ns = age(now_ns, h.heartbeat_ns.load(std::memory_order_acquire));

  for (unsigned p = 0; p < kPortCount; ++p) {
    PortSnapshot& ps = s.ports[p];
    ps.role = static_cast<PortRole>(p);
    ps.ethdev_port = h.ports[p].ethdev_port;
    ps.queues = h.ports[p].queues;
    ps.mtu = h.ports[p].mtu;
    std::copy(h.ports[p].mac, h.ports[p].mac + 6, ps.mac);
  }

  const unsigned rows = counter_rows(h);
  s.lcores.resize(rows);
  for (unsigned r = 0; r < rows; ++r) {
    const LcoreCounters& c = zone.lcore_counters[r];
    LcoreSnapshot& l = s.lcores[r];
    l.row = r;
    l.lcore_id = h.lcore_ids[r];
    for (unsigned p = 0; p < kPortCount; ++p) {
      l.rx_packets[p] = c.port[p].rx_packets.get();
      l.tx_packets[p] = c.port[p].tx_packets.get();
      PortSnapshot& ps = s.ports[p];
      ps.rx_packets += l.rx_packets[p];
      ps.rx_bytes += c.port[p].rx_bytes.get();
      ps.tx_packets += l.tx_packets[p];
      ps.tx_bytes += c.port[p].tx_bytes.get();
    }
    l.decrypted = c.decrypted.get();
    l.encrypted = c.encrypted.get();
    l.punted = c.punted.get();
    l.staged = c.staged.get();
    l.keepalives_received = c.keepalives_received.get();
    for (unsigned d = 0; d < kDropReasonCount; ++d) {
      l.drops[d] = c.drops[d].get();
      s.drops[d] += l.drops[d];
    }
    l.loops = c.loops.get();
    // total first: a busy figure read after it can only be larger, so a
    // ratio computed from a pair read this way may exceed 1 by one pass;
    // clamp it rather than report 101 %.
    l.total_tsc = c.total_tsc.get();
    l.busy_tsc = std::min(c.busy_tsc.get(), l.total_tsc);
  }

  for (uint32_t i = 0; i < kMaxPeers; ++i) {
    const PeerSlot& p = zone.peers[i];
    if (p.state.load(std::memory_order_acquire) != PeerState::kActive) continue;
    PeerSnapshot& ps = s.peers.emplace_back();
    ps.slot = i;
    std::copy(p.public_key, p.public_key + 32, ps.public_key);
    ps.endpoint = read_endpoint(p);
    for (unsigned r = 0; r < rows; ++r) {
      const PeerCounters& c = zone.peer_counters[r][i];
      ps.rx_packets += c.rx_packets.get();
      ps.rx_bytes += c.rx_bytes.get();
      ps.tx_packets += c.tx_packets.get();
      ps.tx_bytes += c.tx_bytes.get();
    }
    ps.handshakes = p.handshakes.get();
    const uint64_t last = p.last_handshake_ns.get();
    if (last != 0) ps.last_handshake_age_ns = age(now_ns, last);
    // Racy by design: the main lcore may be installing a keypair. The count
    // is a display figure; the staged mbufs themselves are never touched.
    ps.staged = std::min<uint32_t>(p.staged_count, kStageMax);
    add_keypair(zone, "current", p.current.load(std::memory_order_acquire), i, now_ns, ps.keypairs);
    add_keypair(zone, "previous", p.previous.load(std::memory_order_acquire), i, now_ns,
                ps.keypairs);
    add_keypair(zone, "next", p.next.load(std::memory_order_acquire), i, now_ns, ps.keypairs);
  }
  return s;
}

Snapshot take_snapshot(const StateZone& zone, uint64_t now_ns) {
  Snapshot s = summarise(zone, now_ns);

  for (const char* name : {kPuntRingName, kEventRingName, kCommandRingName}) {
    const rte_ring* ring = rte_ring_lookup(name);
    if (ring == nullptr) continue;
    s.rings.push_back(RingSnapshot{name, rte_ring_count(ring), rte_ring_get_capacity(ring)});
  }
  if (const rte_mempool* pool = rte_mempool_lookup("ws_mbufs")) {
    MempoolSnapshot m;
    m.name = pool->name;
    m.size = pool->size;
    m.in_use = rte_mempool_in_use_count(pool);
    m.available = rte_mempool_avail_count(pool);
    s.mempool = m;
  }

  for (PortSnapshot& p : s.ports) {
    // A secondary started with --no-pci has not probed the ports: the
    // ethdev is then not valid here, and the NIC figures stay zero.
    if (!rte_eth_dev_is_valid_port(p.ethdev_port)) continue;
    char name[RTE_ETH_NAME_MAX_LEN] = "";
    if (rte_eth_dev_get_name_by_port(p.ethdev_port, name) == 0) p.name = name;
    rte_eth_stats st{};
    if (rte_eth_stats_get(p.ethdev_port, &st) == 0) {
      p.hw_rx_packets = st.ipackets;
      p.hw_tx_packets = st.opackets;
      p.hw_rx_missed = st.imissed;
      p.hw_rx_errors = st.ierrors;
      p.hw_tx_errors = st.oerrors;
      p.hw_rx_nombuf = st.rx_nombuf;
    }
  }
  return s;
}

}  // namespace wirespeed::dataplane::shm
