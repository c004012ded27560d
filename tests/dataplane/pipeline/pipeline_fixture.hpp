// The dataplane under test, on hand-built mbufs: one EAL per test binary
// (--no-huge, two net_ring vdevs whose TX ring is also their RX ring, so what
// the pipeline transmits can be read back), and per test a fresh shared
// state, internal ring, RCU and Applier wired exactly as
// dataplane/app/dataplane_main.cpp wires them. Tests drive the pipeline
// functions (decap_burst, encap_burst, flush_tx, ...) directly on the test
// thread, and change state through ring commands the Applier applies, as
// the control plane would (a few tests also write what only workers write:
// a send counter near its limit, a packet staged in a race).
//
// Frames going in are built byte by byte (frames.cpp); data messages are
// sealed and opened with the protocol core's libsodium reference
// (controlplane/crypto/aead.hpp), never with the IPsec-MB code under test.
//
// Every test ends with its peers removed through the Applier, the ports and
// rings drained, every keypair slot free, and the mbuf pool's in-use count
// back where it started (TearDown checks all of it).
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "dataplane/control/applier.hpp"
#include "dataplane/crypto/chacha_poly.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/pipeline/context.hpp"
#include "dataplane/shm/abi.hpp"
#include "dataplane/shm/state.hpp"
#include "dataplane/tables/index_map.hpp"
#include "dataplane/tables/routes.hpp"

namespace wirespeed::dataplane::pipeline_test {

using Bytes = std::vector<uint8_t>;
using Key = std::array<uint8_t, 32>;
using net::IpAddr;
using net::MacAddress;
using shm::DropReason;
using shm::MessageKind;
using shm::PortRole;

// --- The test network ---------------------------------------------------
// outer port 192.0.2.1/24, 2001:db8::1/64 (no gateway); inner port
// 10.8.0.1/24, fd00:8::1/64. Peer 0 sits at 192.0.2.2 / 2001:db8::2 port
// 51821 and routes 10.8.1.0/24 and fd00:8:1::/64; the LAN host is 10.8.0.2 /
// fd00:8::2.

IpAddr ip(const char* text);  // inet_pton, either family; a test failure on junk

inline constexpr uint16_t kListenPort = 51820;
inline constexpr uint16_t kPeerPort = 51821;
inline constexpr uint16_t kMtu = 1420;
inline constexpr uint64_t kNow = 1000ULL * 1000 * 1000 * 1000;  // the fake clock: 1000 s

inline constexpr MacAddress kOuterMac{{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}};
inline constexpr MacAddress kInnerMac{{0x02, 0x00, 0x00, 0x00, 0x02, 0x01}};
inline constexpr MacAddress kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x01, 0x02}};   // peer's next hop
inline constexpr MacAddress kPeerMac6{{0x02, 0x00, 0x00, 0x00, 0x01, 0x06}};  // same, over v6
inline constexpr MacAddress kHostMac{{0x02, 0x00, 0x00, 0x00, 0x02, 0x02}};   // LAN host (v4)
inline constexpr MacAddress kHostMac6{{0x02, 0x00, 0x00, 0x00, 0x02, 0x06}};  // LAN host (v6)
inline constexpr MacAddress kRoamMac{{0x02, 0x00, 0x00, 0x00, 0x01, 0x09}};   // a new next hop

struct Net {
  IpAddr outer4 = ip("192.0.2.1");
  IpAddr outer6 = ip("2001:db8::1");
  IpAddr inner4 = ip("10.8.0.1");
  IpAddr inner6 = ip("fd00:8::1");
  IpAddr peer4 = ip("192.0.2.2");
  IpAddr peer6 = ip("2001:db8::2");
  IpAddr host4 = ip("10.8.0.2");
  IpAddr host6 = ip("fd00:8::2");
  IpAddr remote4 = ip("10.8.1.5");  // behind peer 0
  IpAddr remote6 = ip("fd00:8:1::5");
};
const Net& net();

// --- One session's keys, from both sides ----------------------------------
struct TestKeypair {
  uint32_t local_index = 0;   // receiver index the peer puts in messages to us
  uint32_t remote_index = 0;  // receiver index we put in messages to the peer
  Key send_key{};             // gateway -> peer: the peer opens with it
  Key receive_key{};          // peer -> gateway: the peer seals with it
  uint64_t birth_ns = kNow;
  bool we_initiated = true;
};
// Distinct keys and indices per seed.
TestKeypair make_keypair(uint8_t seed, bool we_initiated = true);

shm::Endpoint endpoint(const IpAddr& addr, uint16_t port);

// --- Frame builders ---------------------------------------------------------
// An IP packet (v4 or v6 by the family of src) carrying UDP 1234 -> 5678 with
// payload_len bytes of a pattern that depends on `tag`.
Bytes ip_packet(const IpAddr& src, const IpAddr& dst, size_t payload_len, uint8_t tag = 0);
// An IP packet of exactly total_len bytes (>= 28 for v4, >= 48 for v6).
Bytes ip_packet_of_length(const IpAddr& src, const IpAddr& dst, size_t total_len, uint8_t tag = 0);
Bytes ethernet(const MacAddress& dst, const MacAddress& src, uint16_t ether_type,
               const Bytes& payload);
// A frame from the LAN host to the gateway's inner MAC (EtherType by IP version).
Bytes lan_frame(const Bytes& ip_packet, const MacAddress& src = kHostMac);
// Ethernet + IP + UDP (checksummed) around `payload`.
Bytes udp_frame(const MacAddress& dst_mac, const MacAddress& src_mac, const IpAddr& src,
                const IpAddr& dst, uint16_t src_port, uint16_t dst_port, const Bytes& payload);
// A datagram from peer 0's endpoint (family 4 or 6) to our listen port.
Bytes from_peer(const Bytes& wg_message, uint8_t family = 4, uint16_t src_port = kPeerPort,
                const MacAddress& src_mac = kPeerMac);
// Zero padding to a multiple of 16, as a sender pads (no MTU cap needed here).
Bytes padded(const Bytes& packet);
// A handshake initiation of the right type and size (contents 0x11, not
// valid): what the data path punts without looking further.
Bytes initiation();
// A transport data message sealed by the libsodium reference.
Bytes data_message(uint32_t receiver, uint64_t counter, const Key& key, const Bytes& plaintext);
// The libsodium reference open of ciphertext||tag; nullopt when it fails.
std::optional<Bytes> reference_open(const Key& key, uint64_t counter, const Bytes& sealed);
// Ethernet/IPv4 ARP (op 1 request, 2 reply), broadcast for requests.
Bytes arp_frame(uint16_t op, const MacAddress& sender_mac, const IpAddr& sender,
                const IpAddr& target, const MacAddress& eth_dst = MacAddress::broadcast());
// ICMPv4 echo request (type 8) or ICMPv6 message of `type` with `body_len` bytes.
Bytes icmp_frame(const MacAddress& dst_mac, const MacAddress& src_mac, const IpAddr& src,
                 const IpAddr& dst, uint8_t type, size_t body_len);

// Frames copied into mbufs of test_pool() (a test failure for one that does
// not fit, or when the pool is empty).
std::vector<rte_mbuf*> make_mbufs(const std::vector<Bytes>& frames);

// --- What came out of the pipeline ------------------------------------------
struct SentDatagram {
  net::FrameView view;
  Bytes frame;
  Bytes message() const;  // the UDP payload: the WireGuard message
};

// --- Process-wide pieces (pipeline_fixture.cpp's EAL environment) ---
// The mbuf pool every test's mbufs come from.
rte_mempool* test_pool();
// The tables every test shares (the fixture's Applier writes them).
tables::Routes& test_routes();
tables::IndexMap& test_index();
// The ports' ethdev ids and their rings (TX and RX are one ring on a
// net_ring vdev: what the pipeline sent is read back from it).
uint16_t port_id(PortRole port);
rte_ring* port_ring(PortRole port);

// Per-test fixture. Public members: the drop table's rows are free functions.
class PipelineTest : public ::testing::Test {
 public:
  void SetUp() override;
  void TearDown() override;

  // --- Commands, through the command ring and Applier::poll ---
  void command_bytes(MessageKind kind, uint32_t peer, const void* body, uint16_t len,
                     uint8_t port = 0);
  void command(MessageKind kind, uint32_t peer) { command_bytes(kind, peer, nullptr, 0); }
  template <typename Body>
  void command(MessageKind kind, uint32_t peer, const Body& body, uint8_t port = 0) {
    static_assert(std::is_trivially_copyable_v<Body> && !std::is_pointer_v<Body>);
    command_bytes(kind, peer, &body, sizeof(body), port);
  }
  unsigned poll();  // Applier::poll(now_)
  void add_peer(uint32_t peer, const std::optional<shm::Endpoint>& ep, uint8_t key_seed = 0);
  void allow(uint32_t peer, const IpAddr& prefix, uint8_t cidr, bool add = true);
  void install(uint32_t peer, const TestKeypair& kp);
  void neighbour(PortRole port, const IpAddr& addr, const MacAddress& mac);
  void remove_peer(uint32_t peer);
  // Peer 0 as the data path tests want it: endpoint (of endpoint_family) set,
  // 10.8.1.0/24 and fd00:8:1::/64 allowed, every neighbour known, and
  // keypair kp0_ installed as initiator (unless with_keypair is false).
  void standard_setup(uint8_t endpoint_family = 4, bool with_keypair = true);

  // --- Data path, on the worker context (row 1) ---
  void decap(const std::vector<Bytes>& frames);
  void decap(const Bytes& frame) { decap(std::vector<Bytes>{frame}); }
  void encap(const std::vector<Bytes>& frames);
  void encap(const Bytes& frame) { encap(std::vector<Bytes>{frame}); }
  void decap_mbufs(std::vector<rte_mbuf*> mbufs);

  // Flushes both contexts' TX buffers and reads back what each port sent.
  std::vector<Bytes> take_tx(PortRole port);
  std::vector<SentDatagram> take_outer();  // parsed, each expected to be UDP
  std::vector<shm::RingMessage> take_ring(rte_ring* ring);
  std::vector<shm::RingMessage> take_events() { return take_ring(state().events()); }
  std::vector<shm::RingMessage> take_punts() { return take_ring(state().punt()); }

  // A data message from peer 0 under kp (its receive key), wrapped for the outer port.
  Bytes peer_data(const TestKeypair& kp, uint64_t counter, const Bytes& inner_packet,
                  uint8_t family = 4, uint16_t src_port = kPeerPort);

  // --- Counters, summed over every counter row ---
  using DropCounts = std::array<uint64_t, shm::kDropReasonCount>;
  DropCounts drop_counts() const;
  uint64_t drops(DropReason reason) const { return drop_counts()[static_cast<unsigned>(reason)]; }
  uint64_t total_drops() const;
  template <typename Field>
  uint64_t sum_rows(Field field) const {
    uint64_t total = 0;
    for (unsigned r = 0; r < shm::kCounterRows; ++r)
      total += (zone().lcore_counters[r].*field).get();
    return total;
  }
  uint64_t peer_rx_packets(uint32_t peer) const;
  uint64_t peer_tx_packets(uint32_t peer) const;

  const shm::SharedState& state() const { return *state_; }
  shm::StateZone& zone() const { return state_->zone(); }
  shm::PeerSlot& peer(uint32_t p) const { return zone().peers[p]; }
  // The keypair slot installed with this local index (nullptr if none is live).
  shm::KeypairSlot* live_keypair(uint32_t local_index) const;
  int32_t index_lookup(uint32_t local_index) const;
  uint32_t route(const IpAddr& a) const;
  control::Applier& applier() { return *applier_; }

  pipeline::GatewayConfig gw_;
  pipeline::LcoreContext main_ctx_;    // row 0, as the main lcore's
  pipeline::LcoreContext worker_ctx_;  // row 1, as a worker's
  rte_ring* internal_ = nullptr;
  rte_rcu_qsbr* rcu_ = nullptr;
  std::optional<shm::SharedState> state_;
  std::unique_ptr<control::Applier> applier_;
  uint64_t now_ = kNow;
  TestKeypair kp0_ = make_keypair(1);
  std::vector<uint32_t> indices_used_;  // local indices installed: checked clean at the end
  unsigned in_use_at_start_ = 0;
};

}  // namespace wirespeed::dataplane::pipeline_test
