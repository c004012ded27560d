// The main lcore of wirespeed-dataplane: the single writer of every table
// the workers read (design-brief §1 "One writer"). It applies the control
// plane's commands, rotates keypairs when a worker reports the first packet
// under a responder's new keypair, sends staged packets once a keypair
// exists, transmits what the control plane asks it to, reclaims retired
// keypairs after an RCU grace period, and beats the heartbeat the control
// plane watches. Nothing here runs per data packet.
#pragma once

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "dataplane/pipeline/context.hpp"
#include "dataplane/shm/state.hpp"
#include "dataplane/tables/index_map.hpp"
#include "dataplane/tables/routes.hpp"

namespace wirespeed::dataplane::control {

class Applier {
 public:
  // `main_ctx` is the main lcore's own pipeline context (TX queue 0, counter
  // row 0); `gw` is the GatewayConfig every context points at (the Applier
  // is the one writer of its listen_port); `internal` carries uint32
  // keypair slots from workers.
  Applier(shm::SharedState& state, tables::Routes& routes, tables::IndexMap& index,
          rte_rcu_qsbr* rcu, pipeline::LcoreContext& main_ctx, pipeline::GatewayConfig& gw,
          rte_mempool* pool, rte_ring* internal) noexcept;

  // One pass over everything pending. Returns how many items it handled, so
  // the caller can idle when there was nothing to do.
  unsigned poll(uint64_t now_ns) noexcept;

  // Applies one command (exposed for tests). Takes nothing from the message.
  void apply(const shm::RingMessage& cmd) noexcept;

  // Releases everything still staged (shutdown).
  void drop_all_staged() noexcept;

 private:
  // A control-plane datagram whose next hop had no MAC yet: sent as soon as
  // a neighbour command names the hop, or dropped after kHoldTime.
  struct Held {
    uint8_t family;
    uint8_t addr[16];
    uint64_t expires_ns;
    uint16_t len;
    uint8_t frame[128 + sizeof(shm::CmdTransmitUdp::payload)];
  };

  struct Retired {
    int32_t slot;
    int32_t hash_position;
    uint64_t token;
  };

  void peer_set(uint32_t peer, const shm::CmdPeerSet& body) noexcept;
  void peer_remove(uint32_t peer) noexcept;
  void allowed_ip(uint32_t peer, const shm::CmdAllowedIp& body, bool add) noexcept;
  void keypair_install(uint32_t peer, const shm::CmdKeypairInstall& body) noexcept;
  void keypairs_clear(uint32_t peer) noexcept;
  void endpoint_set(uint32_t peer, const shm::Endpoint& endpoint) noexcept;
  void listen_port_set(const shm::CmdListenPort& body) noexcept;
  void transmit_frame(uint8_t port, const uint8_t* frame, uint16_t len) noexcept;
  void transmit_udp(uint32_t peer, const shm::CmdTransmitUdp& body) noexcept;
  void release_held(uint8_t family, const uint8_t addr[16]) noexcept;
  void confirm(int32_t slot) noexcept;  // a worker saw the first packet under `next`
  void flush_staged(uint32_t peer, bool send) noexcept;
  void sweep_staged() noexcept;  // flush peers that have staged packets and a keypair

  int32_t free_keypair_slot(uint32_t peer) noexcept;
  void retire(int32_t slot) noexcept;
  void reclaim(bool wait) noexcept;
  void flush_routes() noexcept;
  bool valid_peer(uint32_t peer) const noexcept;

  shm::SharedState& state_;
  shm::StateZone& zone_;
  tables::Routes& routes_;
  tables::IndexMap& index_;
  rte_rcu_qsbr* rcu_;
  pipeline::LcoreContext& ctx_;
  pipeline::GatewayConfig& gw_;
  rte_mempool* pool_;
  rte_ring* internal_;
  uint64_t next_stage_sweep_ns_ = 0;
  std::vector<Retired> retired_;
  std::vector<Held> held_;
  std::vector<tables::RouteChange> pending_routes_;
  std::vector<std::vector<tables::RouteChange>> peer_routes_;  // per peer: what it owns
  // Which peer owns each prefix (family, cidr, address): moving a prefix to
  // another peer finds the old owner without scanning every peer (10,000
  // peers' start-up was quadratic).
  std::map<std::array<uint8_t, 18>, uint32_t> route_owner_;
};

}  // namespace wirespeed::dataplane::control
