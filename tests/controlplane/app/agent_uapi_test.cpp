// Tests for the Agent as the UAPI backend (controlplane/app/agent.hpp,
// agent_runtime.cpp): what a `wg set` turns into on the command ring, what
// `wg show` reports, that a refused set changes nothing, and that an event
// raised for a slot's previous occupant is not applied to its new one.
//
// The shared state is made here as the dataplane would make it (EAL with
// --no-huge, a primary of its own file prefix); nobody applies the commands,
// the test reads them off the ring. The UAPI socket goes to a temporary
// directory.
#include <gtest/gtest.h>
#include <rte_ring.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "controlplane/app/agent.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/shm/state.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/shared_state_env.hpp"
#include "tests/support/test_agent.hpp"

namespace wirespeed::controlplane::app {
namespace {

namespace shm = dataplane::shm;

std::string base64_of(const uint8_t* key) {
  return test::to_base64(key, 32);
}

crypto::PublicKey public_of(uint8_t seed) {
  crypto::PrivateKey k;
  for (size_t i = 0; i < 32; ++i) k.data()[i] = static_cast<uint8_t>(seed + i);
  crypto::clamp(k);
  return crypto::public_key(k);
}

std::string config_text(const std::string& private_b64, const std::string& peer_b64) {
  return "interface:\n  name: wsut0\n  private_key: " + private_b64 +
         "\n  listen_port: 51820\n"
         "dataplane:\n  eal: [\"-l\", \"0-1\"]\n  workers: [1]\n"
         "  outer:\n    port: net_null0\n    address: [192.0.2.1/24]\n"
         "  inner:\n    port: net_null1\n    address: [10.8.0.1/24]\n"
         "peers:\n  - name: first\n    public_key: " +
         peer_b64 + "\n    endpoint: 192.0.2.2:51820\n    allowed_ips: [10.8.1.0/24]\n";
}

using EalEnvironment = test::SharedStateEnvironment;

// One EAL per process (gtest_main runs the tests).
[[maybe_unused]] ::testing::Environment* const kEal =
    ::testing::AddGlobalTestEnvironment(new EalEnvironment("agent_uapi_test", "wsat"));

class AgentUapiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sodium_init() >= 0, true);
    char tmpl[] = "/tmp/ws-agent-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    crypto::PrivateKey priv = crypto::generate_private_key();
    yaml_ = config_text(base64_of(priv.data()), base64_of(first_.data()));
    path_ = dir_ + "/agent.yaml";
    write_config(yaml_);
    test::start_agent(path_, dir_, 51820, &agent_);
  }
  void TearDown() override {
    agent_.reset();
    drain();
    std::system(("rm -rf " + dir_).c_str());
  }

  void write_config(const std::string& text) {
    const mode_t old = umask(077);
    std::ofstream(path_) << text;
    umask(old);
  }

  static std::vector<shm::RingMessage> drain() { return EalEnvironment::drain_commands(); }
  static unsigned count(const std::vector<shm::RingMessage>& msgs, shm::MessageKind kind) {
    unsigned n = 0;
    for (const auto& m : msgs) n += m.kind == kind;
    return n;
  }

  uapi::PeerChange add(uint8_t seed, const char* prefix) {
    uapi::PeerChange c;
    c.public_key = public_of(seed);
    auto p = peers::parse_prefix(prefix);
    EXPECT_TRUE(p.ok());
    c.allowed_ips.push_back(peers::canonicalize(*p));
    return c;
  }

  const crypto::PublicKey first_ = public_of(1);
  std::string dir_, path_, yaml_;
  std::unique_ptr<Agent> agent_;
};

TEST_F(AgentUapiTest, GetReportsTheConfiguredPeerAndPort) {
  const uapi::DeviceInfo info = agent_->get();
  EXPECT_EQ(info.listen_port, 51820);
  ASSERT_NE(info.private_key, nullptr);
  ASSERT_EQ(info.peers.size(), 1u);
  EXPECT_EQ(info.peers[0].public_key, first_);
  EXPECT_EQ(info.peers[0].endpoint.family, 4);
  EXPECT_EQ(info.peers[0].endpoint.port, 51820);
  EXPECT_EQ(info.peers[0].allowed_ips.size(), 1u);
  EXPECT_EQ(info.peers[0].rx_bytes, 0u);
}

TEST_F(AgentUapiTest, AddChangeRemoveBecomeRingCommands) {
  uapi::SetRequest set;
  set.peers.push_back(add(2, "10.8.2.0/24"));
  ASSERT_EQ(agent_->set(set), 0);
  std::vector<shm::RingMessage> cmds = drain();
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerSet), 1u);
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdAllowedIpAdd), 1u);
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerRemove), 0u) << "the first peer was touched";
  EXPECT_EQ(agent_->get().peers.size(), 2u);

  uapi::SetRequest port;
  port.listen_port = 51999;
  ASSERT_EQ(agent_->set(port), 0);
  cmds = drain();
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].kind, shm::MessageKind::kCmdListenPortSet);
  shm::CmdListenPort body;
  std::memcpy(&body, cmds[0].body, sizeof(body));
  EXPECT_EQ(body.port, 51999);
  EXPECT_EQ(agent_->get().listen_port, 51999);
  ASSERT_EQ(agent_->set(port), 0);
  EXPECT_TRUE(drain().empty()) << "the same port again is no change";

  uapi::SetRequest remove;
  remove.peers.push_back(add(2, "10.8.2.0/24"));
  remove.peers.back().remove = true;
  ASSERT_EQ(agent_->set(remove), 0);
  cmds = drain();
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerRemove), 1u);
  ASSERT_EQ(agent_->get().peers.size(), 1u);
  EXPECT_EQ(agent_->get().peers[0].public_key, first_);
}

TEST_F(AgentUapiTest, ReplacePeersKeepsANamedPeerAndDropsTheRest) {
  uapi::SetRequest set;
  set.replace_peers = true;
  set.peers.push_back(add(3, "10.8.3.0/24"));
  ASSERT_EQ(agent_->set(set), 0);
  const std::vector<shm::RingMessage> cmds = drain();
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerRemove), 1u);
  const uapi::DeviceInfo info = agent_->get();
  ASSERT_EQ(info.peers.size(), 1u);
  EXPECT_EQ(info.peers[0].public_key, public_of(3));
}

// More peers than the dataplane has slots: refused whole, and the private
// key and port that came in the same request are not applied either.
TEST_F(AgentUapiTest, ASetThatDoesNotFitChangesNothing) {
  const crypto::PublicKey before = agent_->get().peers.at(0).public_key;
  const std::string private_before = base64_of(agent_->get().private_key->data());
  uapi::SetRequest set;
  set.private_key = crypto::generate_private_key();
  set.listen_port = 4000;
  for (uint32_t i = 0; i < shm::kMaxPeers; ++i) {
    uapi::PeerChange c;
    c.public_key = public_of(static_cast<uint8_t>(i));
    c.public_key[31] ^= static_cast<uint8_t>(i >> 8);  // distinct beyond 256
    c.public_key[30] ^= 0x5a;
    set.peers.push_back(std::move(c));
  }
  EXPECT_EQ(agent_->set(set), ENOSPC);
  EXPECT_TRUE(drain().empty());
  const uapi::DeviceInfo info = agent_->get();
  EXPECT_EQ(info.listen_port, 51820);
  EXPECT_EQ(base64_of(info.private_key->data()), private_before);
  ASSERT_EQ(info.peers.size(), 1u);
  EXPECT_EQ(info.peers[0].public_key, before);
}

// Transfer figures count per peer: a new peer in a slot that carried
// traffic for another starts from zero.
TEST_F(AgentUapiTest, TransferCountsStartAtZeroForANewPeerInAReusedSlot) {
  shm::StateZone& zone = EalEnvironment::state().zone();
  uapi::SetRequest set;
  set.peers.push_back(add(4, "10.8.4.0/24"));
  ASSERT_EQ(agent_->set(set), 0);
  drain();
  zone.peer_counters[0][1].rx_bytes.add(5000);
  zone.peer_counters[0][1].tx_bytes.add(7000);
  uapi::DeviceInfo info = agent_->get();
  ASSERT_EQ(info.peers.size(), 2u);
  EXPECT_EQ(info.peers[1].rx_bytes, 5000u);
  EXPECT_EQ(info.peers[1].tx_bytes, 7000u);

  uapi::SetRequest swap;
  swap.peers.push_back(add(4, "10.8.4.0/24"));
  swap.peers.back().remove = true;
  swap.peers.push_back(add(5, "10.8.5.0/24"));
  ASSERT_EQ(agent_->set(swap), 0);
  drain();
  info = agent_->get();
  ASSERT_EQ(info.peers.size(), 2u);
  EXPECT_EQ(info.peers[1].public_key, public_of(5));
  EXPECT_EQ(info.peers[1].rx_bytes, 0u);
  EXPECT_EQ(info.peers[1].tx_bytes, 0u);
  zone.peer_counters[0][1].rx_bytes.add(100);
  EXPECT_EQ(agent_->get().peers[1].rx_bytes, 100u);
}

// The dataplane's event for the slot's previous peer (raised before the
// swap) must not move the new peer; one raised after it does.
TEST_F(AgentUapiTest, AnEventForASlotsPreviousPeerIsIgnored) {
  shm::StateZone& zone = EalEnvironment::state().zone();
  uapi::SetRequest set;
  set.peers.push_back(add(6, "10.8.6.0/24"));
  const uint64_t raised_before = monotonic_ns();
  ASSERT_EQ(agent_->set(set), 0);
  drain();
  ASSERT_EQ(agent_->get().peers.at(1).endpoint.family, 0);

  const auto endpoint_event = [&](uint64_t timestamp, uint8_t last_octet) {
    shm::EventEndpoint body{};
    body.endpoint.family = 4;
    body.endpoint.port = 40000;
    body.endpoint.addr[0] = 192;
    body.endpoint.addr[2] = 2;
    body.endpoint.addr[3] = last_octet;
    body.mac[0] = 0x02;
    body.mac[5] = last_octet;
    shm::RingMessage m{};
    m.kind = shm::MessageKind::kEventEndpointChanged;
    m.peer = 1;
    m.timestamp_ns = timestamp;
    m.length = sizeof(body);
    std::memcpy(m.body, &body, sizeof(body));
    ASSERT_TRUE(shm::ring_put(EalEnvironment::state().events(), m));
    const uint64_t now = monotonic_ns();
    zone.header.heartbeat_ns.store(now);
    const char* why = nullptr;
    ASSERT_TRUE(agent_->poll(now, &why)) << why;
  };
  endpoint_event(raised_before, 77);
  EXPECT_EQ(agent_->get().peers.at(1).endpoint.family, 0) << "moved by its predecessor's event";
  endpoint_event(monotonic_ns(), 78);
  const shm::Endpoint e = agent_->get().peers.at(1).endpoint;
  EXPECT_EQ(e.family, 4);
  EXPECT_EQ(e.addr[3], 78);
  drain();
}

// SIGHUP: the file's difference applies; what only a restart can change,
// or a file that does not load, is refused whole.
TEST_F(AgentUapiTest, ReloadAppliesTheDifferenceOrNothing) {
  const uint64_t now = monotonic_ns();
  EXPECT_TRUE(agent_->reload(now));
  EXPECT_TRUE(drain().empty()) << "reloading the same file changed something";

  std::string next = yaml_;
  next.replace(next.find("listen_port: 51820"), 18, "listen_port: 51821");
  next += "  - name: second\n    public_key: " + base64_of(public_of(7).data()) +
          "\n    allowed_ips: [10.8.7.0/24]\n";
  write_config(next);
  EXPECT_TRUE(agent_->reload(now));
  std::vector<shm::RingMessage> cmds = drain();
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdListenPortSet), 1u);
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerSet), 1u);
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerRemove), 0u);
  EXPECT_EQ(agent_->get().peers.size(), 2u);
  EXPECT_EQ(agent_->get().listen_port, 51821);

  // A restart-only change, and with it a peer removal: neither happens.
  std::string mtu = yaml_;
  mtu.replace(mtu.find("listen_port: 51820"), 18, "listen_port: 51820\n  mtu: 1300");
  write_config(mtu);
  EXPECT_FALSE(agent_->reload(now));
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(agent_->get().peers.size(), 2u);
  EXPECT_EQ(agent_->get().listen_port, 51821);

  write_config(yaml_ + "colour: blue\n");
  EXPECT_FALSE(agent_->reload(now));
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(agent_->get().peers.size(), 2u);

  write_config(yaml_);  // back to the first file: the second peer goes
  EXPECT_TRUE(agent_->reload(now));
  cmds = drain();
  EXPECT_EQ(count(cmds, shm::MessageKind::kCmdPeerRemove), 1u);
  EXPECT_EQ(agent_->get().peers.size(), 1u);
  EXPECT_EQ(agent_->get().listen_port, 51820);
}

}  // namespace
}  // namespace wirespeed::controlplane::app
