// Per-lcore state of the data path: what a worker (or the main lcore, which
// runs encap for staged packets and keepalives) binds once at start-up and
// then passes down every burst. Cache-aligned, owned by one lcore; the tables
// it points at are shared and read-only to workers (see dataplane/shm/abi.hpp).
#pragma once

#include <rte_mbuf.h>
#include <rte_ring.h>

#include <array>
#include <atomic>
#include <cstdint>

#include "dataplane/crypto/chacha_poly.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/shm/abi.hpp"
#include "dataplane/tables/index_map.hpp"
#include "dataplane/tables/routes.hpp"

namespace wirespeed::dataplane::pipeline {

inline constexpr unsigned kBurst = 32;
inline constexpr unsigned kMaxOwnAddresses = 4;  // per port and family

// The gateway's own addresses on one port.
struct PortAddresses {
  net::IpAddr v4[kMaxOwnAddresses];
  uint8_t v4_prefix[kMaxOwnAddresses] = {};
  unsigned v4_count = 0;
  net::IpAddr v6[kMaxOwnAddresses];
  uint8_t v6_prefix[kMaxOwnAddresses] = {};
  unsigned v6_count = 0;
  net::IpAddr link_local_v6;  // fe80::EUI-64 of the port MAC
  net::IpAddr gateway;        // family 0: none (outer only)

  bool is_own(const net::IpAddr& a) const noexcept;
  // Our source address for a datagram to `dst` (first of that family), or
  // nullptr when we have none of that family.
  const net::IpAddr* source_for(const net::IpAddr& dst) const noexcept;
  // True when `a` is inside one of our on-link prefixes of its family.
  bool on_link(const net::IpAddr& a) const noexcept;
};

// What the lcores share about the gateway. Everything but listen_port stays
// the same for the life of the gateway. listen_port changes at run time
// (`wg set NAME listen-port`): only the main lcore stores it (Applier, on
// kCmdListenPortSet), workers load it relaxed once per burst. A burst that
// straddles the change uses the old port for all its packets, which is what
// the kernel's socket swap amounts to as well.
struct GatewayConfig {
  uint16_t port_id[shm::kPortCount] = {};
  net::MacAddress mac[shm::kPortCount];
  PortAddresses addresses[shm::kPortCount];
  std::atomic<uint16_t> listen_port{51820};
  uint16_t mtu = 1420;  // inner MTU: largest inner IP packet we encapsulate
};

// Packets waiting for transmission on one port/queue of one lcore.
struct TxBuffer {
  rte_mbuf* pkts[kBurst * 2];
  unsigned count = 0;
};

struct alignas(64) LcoreContext {
  unsigned row = 0;        // counter row: 0 main lcore, 1.. workers
  uint16_t tx_queue = 0;   // this lcore's TX queue on both ports
  const GatewayConfig* gw = nullptr;
  shm::StateZone* zone = nullptr;
  rte_ring* punt = nullptr;      // to the control plane (copies of frames)
  rte_ring* events = nullptr;    // to the control plane
  rte_ring* internal = nullptr;  // to the main lcore: keypair confirmations (uint32 slot)
  const tables::Routes* routes = nullptr;
  const tables::IndexMap* index = nullptr;
  crypto::AeadEngine* engine = nullptr;
  uint16_t ipv4_id = 0;
  uint64_t now_ns = 0;  // read once per burst
  uint64_t last_miss_event_ns = 0;
  unsigned miss_events_in_window = 0;
  TxBuffer tx[shm::kPortCount];

  shm::LcoreCounters& counters() const noexcept { return zone->lcore_counters[row]; }
  shm::PeerCounters& peer_counters(uint32_t peer) const noexcept {
    return zone->peer_counters[row][peer];
  }
  void drop(rte_mbuf* m, shm::DropReason reason) noexcept {
    counters().drops[static_cast<unsigned>(reason)].add(1);
    rte_pktmbuf_free(m);
  }
  void count_drop(shm::DropReason reason, uint64_t n = 1) noexcept {
    counters().drops[static_cast<unsigned>(reason)].add(n);
  }
};

// Counts one received mbuf on its port. Frames are parsed in place, so a
// segmented one (RX scatter is off; it cannot happen on our ports) is
// dropped as malformed: false, and the mbuf is gone.
inline bool accept_rx(LcoreContext& ctx, shm::PortCounters& rx, rte_mbuf* m) noexcept {
  rx.rx_packets.add(1);
  rx.rx_bytes.add(rte_pktmbuf_pkt_len(m));
  if (m->nb_segs != 1) [[unlikely]] {
    ctx.drop(m, shm::DropReason::kMalformed);
    return false;
  }
  return true;
}

// Decap: a burst from an outer RX queue. Takes ownership of every mbuf: each
// ends transmitted on the inner port (buffered in ctx.tx), punted (copied,
// then freed) or dropped and counted. Worker lcores; RCU read side.
void decap_burst(LcoreContext& ctx, rte_mbuf** pkts, unsigned n) noexcept;

// Encap: a burst from an inner RX queue (Ethernet frames). Same ownership
// rule; packets without a usable keypair are staged on their peer. Worker
// lcores, and the main lcore for staged packets; RCU read side.
void encap_burst(LcoreContext& ctx, rte_mbuf** pkts, unsigned n) noexcept;

// Encrypts and sends IP packets (Ethernet header already stripped: each mbuf
// starts at its IP header) to one peer with its current keypair; the main
// lcore's way to flush staged packets and send keepalives (encap_burst does
// the same per peer, but seals all peers of a burst in one call).
// Packets that cannot go now are staged again (stage == true) or dropped.
void encap_to_peer(LcoreContext& ctx, uint32_t peer, rte_mbuf** pkts, unsigned n,
                   bool stage) noexcept;

// Sends one keepalive (an empty data message) to `peer` if it has a usable
// current keypair. Main lcore.
bool send_keepalive(LcoreContext& ctx, uint32_t peer, rte_mempool* pool) noexcept;

// Frames that are not WireGuard but that the control plane answers on either
// port: ARP for our addresses, Neighbor Solicitation/Advertisement, echo
// requests to us.
bool wanted_by_control_plane(const net::FrameView& v, const PortAddresses& own) noexcept;

// The drop reason of a frame neither port's pipeline takes or punts: the
// parser's defect (truncated, bad_ip_header, vlan, ...) for kMalformed and
// kUnsupported views, fragment for a fragment (only decap drops those), else
// not_for_us. Drop branches only: it parses the frame again. Borrows m.
shm::DropReason frame_drop_reason(const rte_mbuf* m, const net::FrameView& v) noexcept;

// Hands buffered packets to the NIC; what it refuses is freed and counted.
void flush_tx(LcoreContext& ctx) noexcept;

// Copy of a frame to the control plane. Frees nothing (the caller does).
// False (counted) when the ring is full or the frame is too big.
bool punt_copy(LcoreContext& ctx, const rte_mbuf* m, shm::PortRole port) noexcept;

// A next hop without a MAC: tell the control plane, at most 64 times a
// second per lcore so a flood of misses cannot fill the event ring.
void report_neighbour_miss(LcoreContext& ctx, shm::PortRole port, const net::IpAddr& ip) noexcept;

// Raises an event (counted as ring_full when it cannot).
void raise_event(LcoreContext& ctx, shm::MessageKind kind, uint32_t peer, const void* body,
                 uint16_t body_len) noexcept;

}  // namespace wirespeed::dataplane::pipeline
