// The EAL environment and the per-test fixture of the pipeline tests (see
// pipeline_fixture.hpp); the frame builders are in frames.cpp.
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "controlplane/crypto/aead.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/port/port.hpp"

namespace wirespeed::dataplane::pipeline_test {

namespace {

namespace ref = wirespeed::controlplane::crypto;

// What lives for the whole binary. The LPM tables alone take ~300 MB (two
// copies of rte_lpm's and rte_lpm6's 2^24-entry first levels), too much to
// create per test, so Routes and IndexMap are shared and every test must
// leave them empty (TearDown checks the prefixes and indices it used).
struct Process {
  rte_mempool* pool = nullptr;
  std::optional<port::Port> outer;
  std::optional<port::Port> inner;
  std::optional<tables::Routes> routes;
  std::optional<tables::IndexMap> index;
  std::optional<crypto::AeadEngine> engine;
  rte_ring* rings[shm::kPortCount] = {};
  std::string failure;  // empty when everything came up
};

Process g_process;

// rte_eal_init once per process. --no-huge: anonymous memory, no hugepages
// needed, which forces legacy memory and so rules out --in-memory;
// --no-shconf keeps the run from leaving /var/run/dpdk files. Two net_ring
// vdevs without arguments: each makes rings "ETH_RXTX<q>_<name>" that are both
// the TX and the RX queue q, a loopback.
class EalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    std::vector<std::string> args = {"pipeline_test",
                                     "--no-huge",
                                     "-m",
                                     "1024",
                                     "--no-pci",
                                     "--no-shconf",
                                     "--no-telemetry",
                                     "--vdev=net_ring0",
                                     "--vdev=net_ring1",
                                     "-l",
                                     "0",
                                     "--log-level=error",
                                     "--file-prefix=wsut" + std::to_string(getpid())};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      fail(std::string("rte_eal_init: ") + rte_strerror(rte_errno));
      return;
    }
    eal_up_ = true;
    Process& g = g_process;
    g.pool = rte_pktmbuf_pool_create("dpt_mbufs", 4095, 32, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    if (g.pool == nullptr) return fail(std::string("mbuf pool: ") + rte_strerror(rte_errno));
    auto outer = port::Port::open({"net_ring0", 1, 1, 1500}, g.pool);
    if (!outer) return fail(std::string("net_ring0: ") + outer.error().context);
    g.outer.emplace(std::move(*outer));
    auto inner = port::Port::open({"net_ring1", 1, 1, 1500}, g.pool);
    if (!inner) return fail(std::string("net_ring1: ") + inner.error().context);
    g.inner.emplace(std::move(*inner));
    g.rings[0] = rte_ring_lookup("ETH_RXTX0_net_ring0");
    g.rings[1] = rte_ring_lookup("ETH_RXTX0_net_ring1");
    if (g.rings[0] == nullptr || g.rings[1] == nullptr) return fail("net_ring rings not found");
    auto routes = tables::Routes::create("dpt_routes", 1024, 0);
    if (!routes) return fail(std::string("routes: ") + routes.error().context);
    g.routes.emplace(std::move(*routes));
    auto index = tables::IndexMap::create("dpt_index", shm::kMaxKeypairs * 2, 0);
    if (!index) return fail(std::string("index: ") + index.error().context);
    g.index.emplace(std::move(*index));
    auto engine = crypto::AeadEngine::create();
    if (!engine) return fail(std::string("AeadEngine: ") + engine.error().context);
    g.engine.emplace(std::move(*engine));
    if (!ref::init_sodium().ok()) return fail("libsodium");
  }

  void TearDown() override {
    Process& g = g_process;
    g.engine.reset();
    g.index.reset();
    g.routes.reset();
    g.inner.reset();
    g.outer.reset();
    if (g.pool != nullptr) rte_mempool_free(g.pool);
    g.pool = nullptr;
    if (!eal_up_) return;
    // --no-shconf writes no files, but EAL still makes its runtime directory
    // (/var/run/dpdk/<prefix>); an empty one is all that is left to remove.
    const std::string runtime_dir = rte_eal_get_runtime_dir();
    rte_eal_cleanup();
    ::rmdir(runtime_dir.c_str());
  }

 private:
  void fail(const std::string& why) {
    g_process.failure = why;
    ADD_FAILURE() << "pipeline test environment: " << why;
  }
  bool eal_up_ = false;
};

[[maybe_unused]] ::testing::Environment* const kEal =
    ::testing::AddGlobalTestEnvironment(new EalEnvironment);

}  // namespace

rte_mempool* test_pool() {
  return g_process.pool;
}
tables::Routes& test_routes() {
  return *g_process.routes;
}
tables::IndexMap& test_index() {
  return *g_process.index;
}

uint16_t port_id(PortRole port) {
  return port == PortRole::kOuter ? g_process.outer->id() : g_process.inner->id();
}

rte_ring* port_ring(PortRole port) {
  return g_process.rings[static_cast<unsigned>(port)];
}

// --- The fixture ----------------------------------------------------------

namespace {

rte_mbuf* to_mbuf(const Bytes& frame) {
  rte_mbuf* m = rte_pktmbuf_alloc(g_process.pool);
  if (m == nullptr) {
    ADD_FAILURE() << "mbuf pool exhausted";
    return nullptr;
  }
  char* data = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  if (data == nullptr) {
    ADD_FAILURE() << "frame of " << frame.size() << " bytes does not fit an mbuf";
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(data, frame.data(), frame.size());
  return m;
}

std::vector<rte_mbuf*> to_mbufs(const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> out;
  for (const Bytes& f : frames) {
    if (rte_mbuf* m = to_mbuf(f)) out.push_back(m);
  }
  return out;
}

}  // namespace

std::vector<rte_mbuf*> make_mbufs(const std::vector<Bytes>& frames) { return to_mbufs(frames); }

namespace {

void bind_context(pipeline::LcoreContext& ctx, unsigned row, const pipeline::GatewayConfig& gw,
                  shm::SharedState& state, rte_ring* internal) {
  ctx.row = row;
  ctx.tx_queue = 0;  // one TX queue per ring port: both contexts share it on this one thread
  ctx.gw = &gw;
  ctx.zone = &state.zone();
  ctx.punt = state.punt();
  ctx.events = state.events();
  ctx.internal = internal;
  ctx.routes = &*g_process.routes;
  ctx.index = &*g_process.index;
  ctx.engine = &*g_process.engine;
  ctx.ipv4_id = static_cast<uint16_t>(row << 12);
  ctx.now_ns = kNow;
}

}  // namespace

void PipelineTest::SetUp() {
  ASSERT_TRUE(g_process.failure.empty()) << g_process.failure;
  ASSERT_NE(g_process.pool, nullptr) << "EAL environment did not come up";
  in_use_at_start_ = rte_mempool_in_use_count(g_process.pool);

  auto state = shm::SharedState::create(0);
  ASSERT_TRUE(state.ok()) << state.error().context;
  state_.emplace(std::move(*state));
  internal_ = rte_ring_create_elem("dpt_internal", sizeof(uint32_t), 1024, 0, RING_F_SC_DEQ);
  ASSERT_NE(internal_, nullptr) << rte_strerror(rte_errno);
  // An RCU variable for one reader that no thread registers with unless a
  // test says so: every grace period is then already over, as in a gateway
  // whose workers are all quiescent.
  const size_t rcu_size = rte_rcu_qsbr_get_memsize(1);
  rcu_ = static_cast<rte_rcu_qsbr*>(rte_zmalloc("dpt_rcu", rcu_size, RTE_CACHE_LINE_SIZE));
  ASSERT_NE(rcu_, nullptr);
  ASSERT_EQ(rte_rcu_qsbr_init(rcu_, 1), 0);

  const Net& n = net();
  const unsigned outer = static_cast<unsigned>(PortRole::kOuter);
  const unsigned inner = static_cast<unsigned>(PortRole::kInner);
  gw_.port_id[outer] = port_id(PortRole::kOuter);
  gw_.port_id[inner] = port_id(PortRole::kInner);
  // net_ring ports have all-zero MACs; the pipeline only uses the configured ones.
  gw_.mac[outer] = kOuterMac;
  gw_.mac[inner] = kInnerMac;
  pipeline::PortAddresses& o = gw_.addresses[outer];
  o.v4[0] = n.outer4;
  o.v4_prefix[0] = 24;
  o.v4_count = 1;
  o.v6[0] = n.outer6;
  o.v6_prefix[0] = 64;
  o.v6_count = 1;
  o.link_local_v6 = net::link_local_from_mac(kOuterMac);
  pipeline::PortAddresses& i = gw_.addresses[inner];
  i.v4[0] = n.inner4;
  i.v4_prefix[0] = 24;
  i.v4_count = 1;
  i.v6[0] = n.inner6;
  i.v6_prefix[0] = 64;
  i.v6_count = 1;
  i.link_local_v6 = net::link_local_from_mac(kInnerMac);
  gw_.listen_port = kListenPort;
  gw_.mtu = kMtu;

  bind_context(main_ctx_, 0, gw_, *state_, internal_);
  bind_context(worker_ctx_, 1, gw_, *state_, internal_);
  applier_ = std::make_unique<control::Applier>(*state_, *g_process.routes, *g_process.index, rcu_,
                                                main_ctx_, gw_, g_process.pool, internal_);
}

void PipelineTest::TearDown() {
  if (state_ && applier_) {
    // Every peer out through the Applier, as a stopping control plane would:
    // keypairs retired (and reclaimed: no RCU reader is online), routes and
    // staged packets dropped.
    for (uint32_t p = 0; p < shm::kMaxPeers; ++p) {
      if (peer(p).state.load() != shm::PeerState::kFree) command(MessageKind::kCmdPeerRemove, p);
    }
    poll();
    pipeline::flush_tx(worker_ctx_);
    pipeline::flush_tx(main_ctx_);
    for (PortRole role : {PortRole::kOuter, PortRole::kInner}) {
      rte_mbuf* pkts[32];
      uint16_t n;
      while ((n = rte_eth_rx_burst(port_id(role), 0, pkts, 32)) != 0)
        rte_pktmbuf_free_bulk(pkts, n);
    }
    take_punts();
    take_events();

    unsigned busy = 0;
    for (const shm::KeypairSlot& kp : zone().keypairs)
      busy += kp.state.load() != shm::SlotState::kFree;
    EXPECT_EQ(busy, 0u) << "keypair slots not reclaimed after every peer was removed";
    for (uint32_t idx : indices_used_) EXPECT_EQ(index_lookup(idx), -1) << "index " << idx;
    const Net& n = net();
    for (const IpAddr& a : {n.remote4, n.remote6, n.host4, n.host6})
      EXPECT_EQ(route(a), shm::kNoPeer);
  }
  applier_.reset();
  state_.reset();
  rte_ring_free(internal_);
  internal_ = nullptr;
  rte_free(rcu_);
  rcu_ = nullptr;
  if (g_process.pool != nullptr) {
    EXPECT_EQ(rte_mempool_in_use_count(g_process.pool), in_use_at_start_) << "mbufs leaked";
  }
}

void PipelineTest::command_bytes(MessageKind kind, uint32_t peer, const void* body, uint16_t len,
                                 uint8_t port) {
  alignas(8) shm::RingMessage msg{};
  msg.kind = kind;
  msg.peer = peer;
  msg.port = port;
  msg.length = len;
  msg.timestamp_ns = now_;
  if (len != 0) std::memcpy(msg.body, body, len);
  EXPECT_TRUE(shm::ring_put(state().commands(), msg)) << "command ring full";
}

unsigned PipelineTest::poll() {
  return applier_->poll(now_);
}

void PipelineTest::add_peer(uint32_t p, const std::optional<shm::Endpoint>& ep, uint8_t key_seed) {
  shm::CmdPeerSet body{};
  for (unsigned i = 0; i < 32; ++i) body.public_key[i] = static_cast<uint8_t>(p * 7 + key_seed + i);
  if (ep) body.endpoint = *ep;
  command(MessageKind::kCmdPeerSet, p, body);
  poll();
}

void PipelineTest::allow(uint32_t p, const IpAddr& prefix, uint8_t cidr, bool add) {
  shm::CmdAllowedIp body{};
  body.family = prefix.family;
  body.cidr = cidr;
  std::memcpy(body.addr, prefix.bytes.data(), 16);
  command(add ? MessageKind::kCmdAllowedIpAdd : MessageKind::kCmdAllowedIpRemove, p, body);
  poll();
}

void PipelineTest::install(uint32_t p, const TestKeypair& kp) {
  shm::CmdKeypairInstall body{};
  body.local_index = kp.local_index;
  body.remote_index = kp.remote_index;
  body.birth_ns = kp.birth_ns;
  body.we_initiated = kp.we_initiated ? 1 : 0;
  std::memcpy(body.send_key, kp.send_key.data(), 32);
  std::memcpy(body.receive_key, kp.receive_key.data(), 32);
  indices_used_.push_back(kp.local_index);
  command(MessageKind::kCmdKeypairInstall, p, body);
  poll();
}

void PipelineTest::neighbour(PortRole port, const IpAddr& addr, const MacAddress& mac) {
  shm::CmdNeighbourSet body{};
  body.family = addr.family;
  std::memcpy(body.mac, mac.bytes.data(), 6);
  std::memcpy(body.addr, addr.bytes.data(), 16);
  command(MessageKind::kCmdNeighbourSet, shm::kNoPeer, body, static_cast<uint8_t>(port));
  poll();
}

void PipelineTest::remove_peer(uint32_t p) {
  command(MessageKind::kCmdPeerRemove, p);
  poll();
}

void PipelineTest::standard_setup(uint8_t endpoint_family, bool with_keypair) {
  const Net& n = net();
  add_peer(0, endpoint(endpoint_family == 4 ? n.peer4 : n.peer6, kPeerPort));
  allow(0, ip("10.8.1.0"), 24);
  allow(0, ip("fd00:8:1::"), 64);
  neighbour(PortRole::kInner, n.host4, kHostMac);
  neighbour(PortRole::kInner, n.host6, kHostMac6);
  neighbour(PortRole::kOuter, n.peer4, kPeerMac);
  neighbour(PortRole::kOuter, n.peer6, kPeerMac6);
  if (with_keypair) install(0, kp0_);
}

void PipelineTest::decap(const std::vector<Bytes>& frames) {
  decap_mbufs(to_mbufs(frames));
}

void PipelineTest::decap_mbufs(std::vector<rte_mbuf*> mbufs) {
  worker_ctx_.now_ns = now_;
  for (size_t i = 0; i < mbufs.size(); i += pipeline::kBurst) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(pipeline::kBurst, mbufs.size() - i));
    pipeline::decap_burst(worker_ctx_, mbufs.data() + i, n);
  }
}

void PipelineTest::encap(const std::vector<Bytes>& frames) {
  std::vector<rte_mbuf*> mbufs = to_mbufs(frames);
  worker_ctx_.now_ns = now_;
  for (size_t i = 0; i < mbufs.size(); i += pipeline::kBurst) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(pipeline::kBurst, mbufs.size() - i));
    pipeline::encap_burst(worker_ctx_, mbufs.data() + i, n);
  }
}

std::vector<Bytes> PipelineTest::take_tx(PortRole port) {
  pipeline::flush_tx(worker_ctx_);
  pipeline::flush_tx(main_ctx_);
  std::vector<Bytes> out;
  rte_mbuf* pkts[32];
  uint16_t n;
  while ((n = rte_eth_rx_burst(port_id(port), 0, pkts, 32)) != 0) {
    for (uint16_t i = 0; i < n; ++i) {
      EXPECT_EQ(pkts[i]->nb_segs, 1) << "the pipeline never chains";
      const auto* data = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
      out.emplace_back(data, data + rte_pktmbuf_data_len(pkts[i]));
      rte_pktmbuf_free(pkts[i]);
    }
  }
  return out;
}

std::vector<SentDatagram> PipelineTest::take_outer() {
  std::vector<SentDatagram> out;
  for (Bytes& f : take_tx(PortRole::kOuter)) {
    SentDatagram d;
    d.frame = std::move(f);
    d.view = net::parse_frame(d.frame.data(), d.frame.size());
    EXPECT_TRUE(d.view.kind == net::FrameKind::kIpv4Udp || d.view.kind == net::FrameKind::kIpv6Udp)
        << net::frame_kind_name(d.view.kind);
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<shm::RingMessage> PipelineTest::take_ring(rte_ring* ring) {
  std::vector<shm::RingMessage> out;
  alignas(8) shm::RingMessage msg;
  while (rte_ring_dequeue_elem(ring, &msg, sizeof(msg)) == 0) out.push_back(msg);
  return out;
}

Bytes PipelineTest::peer_data(const TestKeypair& kp, uint64_t counter, const Bytes& inner_packet,
                              uint8_t family, uint16_t src_port) {
  return from_peer(data_message(kp.local_index, counter, kp.receive_key, padded(inner_packet)),
                   family, src_port, family == 4 ? kPeerMac : kPeerMac6);
}

PipelineTest::DropCounts PipelineTest::drop_counts() const {
  DropCounts c{};
  for (unsigned r = 0; r < shm::kCounterRows; ++r) {
    for (unsigned d = 0; d < shm::kDropReasonCount; ++d)
      c[d] += zone().lcore_counters[r].drops[d].get();
  }
  return c;
}

uint64_t PipelineTest::total_drops() const {
  uint64_t t = 0;
  for (uint64_t c : drop_counts()) t += c;
  return t;
}

uint64_t PipelineTest::peer_rx_packets(uint32_t p) const {
  uint64_t t = 0;
  for (unsigned r = 0; r < shm::kCounterRows; ++r) t += zone().peer_counters[r][p].rx_packets.get();
  return t;
}

uint64_t PipelineTest::peer_tx_packets(uint32_t p) const {
  uint64_t t = 0;
  for (unsigned r = 0; r < shm::kCounterRows; ++r) t += zone().peer_counters[r][p].tx_packets.get();
  return t;
}

shm::KeypairSlot* PipelineTest::live_keypair(uint32_t local_index) const {
  for (shm::KeypairSlot& kp : zone().keypairs) {
    if (kp.state.load() == shm::SlotState::kLive && kp.local_index == local_index) return &kp;
  }
  return nullptr;
}

int32_t PipelineTest::index_lookup(uint32_t local_index) const {
  int32_t slot = -1;
  g_process.index->lookup_bulk(&local_index, 1, &slot);
  return slot;
}

uint32_t PipelineTest::route(const IpAddr& a) const {
  return g_process.routes->lookup(a.family, a.bytes.data());
}

}  // namespace wirespeed::dataplane::pipeline_test
