// The gateway under benchmark: the dataplane's own pieces wired the way
// dataplane/app/dataplane_main.cpp wires them — shared state, routes
// (DIR-24-8 LPM), receiver-index hash, the Applier as single writer, one
// IPsec-MB engine and one LcoreContext per lcore — on two net_null ports
// (TX frees, so what leaves the pipeline costs what a NIC's TX burst costs),
// with a hugepage-backed mbuf pool.
//
// Peers, routes, neighbours and keypairs are installed as the control plane
// would: commands applied by the Applier. Each peer gets a "loopback"
// keypair (send key = receive key, local index = remote index), so a data
// message our encap seals is one our decap opens: decap is fed real
// ciphertext made by our own encap, never replayed counters.
//
// Network: outer 192.0.2.1/24 with gateway 192.0.2.254 (every peer's
// endpoint 198.18.x.y is behind it: one neighbour entry); inner 10.8.0.1/24,
// the LAN host 10.8.0.2; peer p routes 10.(64+p/256).(p%256).0/24.
//
// Main lcore only, except the contexts, which each belong to one lcore.
#pragma once

#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>

#include <memory>
#include <optional>
#include <vector>

#include "dataplane/control/applier.hpp"
#include "dataplane/crypto/chacha_poly.hpp"
#include "dataplane/pipeline/context.hpp"
#include "dataplane/pipeline/worker.hpp"
#include "dataplane/port/port.hpp"
#include "dataplane/shm/state.hpp"
#include "dataplane/tables/index_map.hpp"
#include "dataplane/tables/routes.hpp"

namespace wirespeed::bench {

using Bytes = std::vector<uint8_t>;

class BenchGateway {
 public:
  // `lcores` contexts: row 0 (main lcore, TX queue 0) and workers 1..n-1.
  // Exits the process with a message when a resource is missing.
  BenchGateway(unsigned peers, unsigned lcores);
  ~BenchGateway();

  unsigned peers() const { return peers_; }
  rte_mempool* pool() const { return pool_; }
  dataplane::pipeline::LcoreContext& ctx(unsigned row) { return *contexts_[row]; }
  dataplane::shm::StateZone& zone() { return state_->zone(); }
  // The workers' share (two rings), as dataplane_main makes it.
  dataplane::pipeline::WorkShare& share() { return *share_; }

  // An Ethernet frame from the LAN host to peer p's network: IPv4/UDP,
  // `ip_len` bytes of IP packet.
  Bytes lan_frame(unsigned peer, unsigned ip_len) const;
  // A WireGuard data message from peer p carrying `ip_len` bytes of IP
  // packet to the LAN host, as it arrives at our outer port: sealed by our
  // own encap (the next counter of p's keypair), then turned around
  // (addresses, ports and MACs swapped) so that it is addressed to us.
  Bytes sealed_from_peer(unsigned peer, unsigned ip_len);

  // Before a run: every keypair's replay window forgotten (so a template set
  // can be replayed in a later pass), birth set to now (runs span longer
  // than REJECT_AFTER_TIME in total), send counters kept. Not timed.
  void refresh_keypairs();

  // Sums over counter rows.
  uint64_t encrypted() const;
  uint64_t decrypted() const;
  // Drops by reason, summed over rows; and "bad_mac=3 replay=1" of the
  // reasons that grew since `before` ("none" when none did).
  std::vector<uint64_t> drops() const;
  std::string drop_summary(const std::vector<uint64_t>& before) const;

 private:
  void apply(dataplane::shm::MessageKind kind, uint32_t peer, const void* body, uint16_t len,
             uint8_t port = 0);

  unsigned peers_;
  rte_mempool* pool_ = nullptr;
  std::optional<dataplane::port::Port> outer_, inner_;
  std::optional<dataplane::shm::SharedState> state_;
  std::optional<dataplane::tables::Routes> routes_;
  std::optional<dataplane::tables::IndexMap> index_;
  rte_ring* internal_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  dataplane::pipeline::GatewayConfig gw_;
  std::vector<dataplane::crypto::AeadEngine> engines_;
  std::vector<std::unique_ptr<dataplane::pipeline::LcoreContext>> contexts_;
  std::unique_ptr<dataplane::control::Applier> applier_;
  std::unique_ptr<dataplane::pipeline::WorkShare> share_;
};

}  // namespace wirespeed::bench
