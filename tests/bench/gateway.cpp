// The gateway under benchmark (gateway.hpp). Main lcore of wirespeed-bench.
#include "tests/bench/gateway.hpp"

#include <arpa/inet.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dataplane/base/clock.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/net/responder.hpp"
#include "tests/bench/bench.hpp"

namespace wirespeed::bench {

namespace {

namespace dp = wirespeed::dataplane;
using dp::net::IpAddr;
using dp::net::MacAddress;
using dp::shm::MessageKind;
using dp::shm::PortRole;

constexpr uint16_t kListenPort = 51820;
constexpr MacAddress kGatewayMac{{0x02, 0x00, 0x00, 0x00, 0x01, 0xfe}};  // outer next hop
constexpr MacAddress kHostMac{{0x02, 0x00, 0x00, 0x00, 0x02, 0x02}};     // LAN host

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "wirespeed-bench: %s\n", what.c_str());
  std::exit(1);
}

constexpr IpAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) { return IpAddr::v4(a, b, c, d); }

IpAddr peer_host(unsigned p) { return v4(10, static_cast<uint8_t>(64 + p / 256), static_cast<uint8_t>(p % 256), 5); }
IpAddr peer_endpoint(unsigned p) { return v4(198, 18, static_cast<uint8_t>(p / 256), static_cast<uint8_t>(1 + p % 250)); }
uint16_t peer_port(unsigned p) { return static_cast<uint16_t>(40000 + p); }
uint32_t peer_index(unsigned p) { return 0x1000u + p; }

// Ethernet + IPv4 + UDP around a zero payload, `ip_len` bytes of IP packet.
Bytes udp_frame(const MacAddress& dst_mac, const MacAddress& src_mac, const IpAddr& src,
                const IpAddr& dst, unsigned ip_len) {
  const size_t hdr = dp::net::outer_header_len(4);
  Bytes frame(14 + ip_len, 0);
  const unsigned payload = ip_len - 28;
  if (dp::net::write_outer_headers(frame.data(), src_mac, dst_mac, src, dst, 1234, 5678,
                                   frame.data() + hdr, static_cast<uint16_t>(payload), 0, true) != hdr) {
    die("could not build a frame of " + std::to_string(ip_len) + " bytes");
  }
  return frame;
}

}  // namespace

BenchGateway::BenchGateway(unsigned peers, unsigned lcores) : peers_(peers) {
  if (peers == 0 || peers > dp::shm::kMaxPeers) die("peer count out of range");
  const int socket = static_cast<int>(rte_socket_id());
  pool_ = rte_pktmbuf_pool_create("bench_mbufs", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool_ == nullptr) die(std::string("mbuf pool: ") + rte_strerror(rte_errno) + " (hugepages reserved? scripts/setup.sh)");
  const auto tx_queues = static_cast<uint16_t>(lcores);
  auto outer = dp::port::Port::open({"net_null0", 1, tx_queues, 1500}, pool_);
  if (!outer) die(std::string("net_null0: ") + outer.error().context);
  outer_.emplace(std::move(*outer));
  auto inner = dp::port::Port::open({"net_null1", 1, tx_queues, 1500}, pool_);
  if (!inner) die(std::string("net_null1: ") + inner.error().context);
  inner_.emplace(std::move(*inner));

  auto state = dp::shm::SharedState::create(socket);
  if (!state) die(std::string("shared state: ") + state.error().context);
  state_.emplace(std::move(*state));
  auto routes = dp::tables::Routes::create("bench_routes", 65536, socket);
  if (!routes) die(std::string("routes: ") + routes.error().context);
  routes_.emplace(std::move(*routes));
  auto index = dp::tables::IndexMap::create("bench_index", dp::shm::kMaxKeypairs * 2, socket);
  if (!index) die(std::string("index: ") + index.error().context);
  index_.emplace(std::move(*index));
  internal_ = rte_ring_create_elem("bench_internal", sizeof(uint32_t), 1024, socket, RING_F_SC_DEQ);
  // No reader registers: the tables do not change while packets flow, and
  // every grace period the Applier waits for during set-up is then over.
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(1);
  rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("bench_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  if (internal_ == nullptr || rcu_ == nullptr || rte_rcu_qsbr_init(rcu_, 1) != 0) die("internal ring / RCU");

  const unsigned o = static_cast<unsigned>(PortRole::kOuter);
  const unsigned i = static_cast<unsigned>(PortRole::kInner);
  gw_.port_id[o] = outer_->id();
  gw_.port_id[i] = inner_->id();
  gw_.mac[o] = MacAddress{{0x02, 0x00, 0x00, 0x00, 0x01, 0x01}};
  gw_.mac[i] = MacAddress{{0x02, 0x00, 0x00, 0x00, 0x02, 0x01}};
  dp::pipeline::PortAddresses& oa = gw_.addresses[o];
  oa.v4[0] = v4(192, 0, 2, 1);
  oa.v4_prefix[0] = 24;
  oa.v4_count = 1;
  oa.gateway = v4(192, 0, 2, 254);
  oa.link_local_v6 = dp::net::link_local_from_mac(gw_.mac[o]);
  dp::pipeline::PortAddresses& ia = gw_.addresses[i];
  ia.v4[0] = v4(10, 8, 0, 1);
  ia.v4_prefix[0] = 24;
  ia.v4_count = 1;
  ia.link_local_v6 = dp::net::link_local_from_mac(gw_.mac[i]);
  gw_.listen_port = kListenPort;
  gw_.mtu = kMtu;

  dp::shm::StateZone& z = state_->zone();
  z.header.worker_count = lcores - 1;
  for (unsigned row = 0; row < lcores; ++row) {
    auto engine = dp::crypto::AeadEngine::create();
    if (!engine) die(std::string("IPsec-MB: ") + engine.error().context);
    engines_.push_back(std::move(*engine));
  }
  for (unsigned row = 0; row < lcores; ++row) {
    auto ctx = std::make_unique<dp::pipeline::LcoreContext>();
    ctx->row = row;
    ctx->tx_queue = static_cast<uint16_t>(row);
    ctx->gw = &gw_;
    ctx->zone = &z;
    ctx->punt = state_->punt();
    ctx->events = state_->events();
    ctx->internal = internal_;
    ctx->routes = &*routes_;
    ctx->index = &*index_;
    ctx->engine = &engines_[row];
    ctx->ipv4_id = static_cast<uint16_t>(row << 12);
    ctx->now_ns = monotonic_ns();
    contexts_.push_back(std::move(ctx));
  }
  share_ = std::make_unique<dp::pipeline::WorkShare>();
  share_->ring[o] = rte_ring_create("bench_share_o", 8 * dp::pipeline::kBurst, socket, 0);
  share_->ring[i] = rte_ring_create("bench_share_i", 8 * dp::pipeline::kBurst, socket, 0);
  if (share_->ring[o] == nullptr || share_->ring[i] == nullptr) die("work share rings");
  applier_ = std::make_unique<dp::control::Applier>(*state_, *routes_, *index_, rcu_, *contexts_[0], gw_,
                                                    pool_, internal_);

  // Neighbours: the outer gateway and the LAN host.
  const IpAddr hosts[2] = {oa.gateway, v4(10, 8, 0, 2)};
  const MacAddress macs[2] = {kGatewayMac, kHostMac};
  for (unsigned port = 0; port < 2; ++port) {
    dp::shm::CmdNeighbourSet nb{};
    nb.family = 4;
    std::memcpy(nb.mac, macs[port].bytes.data(), 6);
    std::memcpy(nb.addr, hosts[port].bytes.data(), 16);
    apply(MessageKind::kCmdNeighbourSet, dp::shm::kNoPeer, &nb, sizeof(nb),
          static_cast<uint8_t>(port == 0 ? o : i));
  }
  for (unsigned p = 0; p < peers; ++p) {
    dp::shm::CmdPeerSet set{};
    randombytes_buf(set.public_key, sizeof(set.public_key));
    set.endpoint.family = 4;
    set.endpoint.port = peer_port(p);
    std::memcpy(set.endpoint.addr, peer_endpoint(p).bytes.data(), 16);
    apply(MessageKind::kCmdPeerSet, p, &set, sizeof(set));
    dp::shm::CmdAllowedIp allowed{};
    allowed.family = 4;
    allowed.cidr = 24;
    IpAddr net = peer_host(p);
    net.bytes[3] = 0;
    std::memcpy(allowed.addr, net.bytes.data(), 16);
    apply(MessageKind::kCmdAllowedIpAdd, p, &allowed, sizeof(allowed));
    dp::shm::CmdKeypairInstall kp{};
    kp.local_index = kp.remote_index = peer_index(p);
    kp.birth_ns = monotonic_ns();
    kp.we_initiated = 1;
    randombytes_buf(kp.send_key, sizeof(kp.send_key));
    std::memcpy(kp.receive_key, kp.send_key, sizeof(kp.send_key));
    apply(MessageKind::kCmdKeypairInstall, p, &kp, sizeof(kp));
    sodium_memzero(&kp, sizeof(kp));
  }
  applier_->poll(monotonic_ns());  // routes go live
  for (unsigned p = 0; p < peers; ++p) {
    if (routes_->lookup(4, peer_host(p).bytes.data()) != p) die("route of peer " + std::to_string(p) + " missing after set-up");
    if (z.peers[p].current.load() < 0) die("keypair of peer " + std::to_string(p) + " missing after set-up");
  }
}

BenchGateway::~BenchGateway() {
  for (rte_ring* r : share_->ring) rte_ring_free(r);
  applier_.reset();
  contexts_.clear();
  engines_.clear();
  index_.reset();
  routes_.reset();
  state_.reset();
  rte_ring_free(internal_);
  rte_free(rcu_);
  inner_.reset();
  outer_.reset();
  rte_mempool_free(pool_);
}

void BenchGateway::apply(MessageKind kind, uint32_t peer, const void* body, uint16_t len,
                         uint8_t port) {
  alignas(8) dp::shm::RingMessage msg{};
  msg.kind = kind;
  msg.peer = peer;
  msg.port = port;
  msg.length = len;
  msg.timestamp_ns = monotonic_ns();
  std::memcpy(msg.body, body, len);
  applier_->apply(msg);
  sodium_memzero(&msg, sizeof(msg));
}

Bytes BenchGateway::lan_frame(unsigned peer, unsigned ip_len) const {
  const unsigned i = static_cast<unsigned>(PortRole::kInner);
  return udp_frame(gw_.mac[i], kHostMac, v4(10, 8, 0, 2), peer_host(peer), ip_len);
}

Bytes BenchGateway::sealed_from_peer(unsigned peer, unsigned ip_len) {
  const unsigned o = static_cast<unsigned>(PortRole::kOuter);
  dp::pipeline::LcoreContext& ctx = *contexts_[0];
  const Bytes inner = udp_frame(kHostMac, kGatewayMac, peer_host(peer), v4(10, 8, 0, 2), ip_len);
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) die("mbuf pool exhausted while making ciphertext");
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(ip_len)), inner.data() + 14, ip_len);
  ctx.now_ns = monotonic_ns();
  const unsigned before = ctx.tx[o].count;
  dp::pipeline::encap_to_peer(ctx, peer, &m, 1, false);
  if (ctx.tx[o].count != before + 1) die("encap refused a packet while making ciphertext: " + drop_summary({}));
  rte_mbuf* out = ctx.tx[o].pkts[--ctx.tx[o].count];
  const auto* data = rte_pktmbuf_mtod(out, const uint8_t*);
  Bytes frame(data, data + rte_pktmbuf_data_len(out));
  rte_pktmbuf_free(out);
  // Turn it around: swapping addresses and ports keeps both checksums valid.
  for (unsigned k = 0; k < 6; ++k) std::swap(frame[k], frame[6 + k]);
  for (unsigned k = 0; k < 4; ++k) std::swap(frame[14 + 12 + k], frame[14 + 16 + k]);
  for (unsigned k = 0; k < 2; ++k) std::swap(frame[34 + k], frame[36 + k]);
  return frame;
}

void BenchGateway::refresh_keypairs() {
  dp::shm::StateZone& z = state_->zone();
  const uint64_t now = monotonic_ns();
  for (unsigned p = 0; p < peers_; ++p) {
    const int32_t slot = z.peers[p].current.load();
    if (slot < 0) continue;
    dp::shm::KeypairSlot& kp = z.keypairs[slot];
    kp.replay = dp::replay::ReplayWindow{};
    kp.birth_ns = now;
  }
}

uint64_t BenchGateway::encrypted() const {
  uint64_t n = 0;
  for (const auto& row : state_->zone().lcore_counters) n += row.encrypted.get();
  return n;
}

uint64_t BenchGateway::decrypted() const {
  uint64_t n = 0;
  for (const auto& row : state_->zone().lcore_counters) n += row.decrypted.get();
  return n;
}

std::vector<uint64_t> BenchGateway::drops() const {
  std::vector<uint64_t> n(dp::shm::kDropReasonCount, 0);
  for (const auto& row : state_->zone().lcore_counters)
    for (unsigned r = 0; r < dp::shm::kDropReasonCount; ++r) n[r] += row.drops[r].get();
  return n;
}

std::string BenchGateway::drop_summary(const std::vector<uint64_t>& before) const {
  const std::vector<uint64_t> now = drops();
  std::string out;
  for (unsigned r = 0; r < dp::shm::kDropReasonCount; ++r) {
    const uint64_t n = now[r] - (r < before.size() ? before[r] : 0);
    if (n == 0) continue;
    if (!out.empty()) out += ' ';
    out += std::string(dp::shm::drop_reason_name(static_cast<dp::shm::DropReason>(r))) + "=" + std::to_string(n);
  }
  return out.empty() ? "none" : out;
}

}  // namespace wirespeed::bench
