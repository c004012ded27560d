// Tests for the Agent's punt handling under a handshake flood
// (controlplane/app/agent.cpp): with the punt ring deep it answers
// initiations with cookie replies sent as whole frames back to the link-layer
// source (no neighbour learnt, no ARP), drops rather than queues those frames
// when the command ring is full, and publishes the counters `--show` prints.
//
// The shared state is made here as the dataplane would make it (EAL with
// --no-huge, a primary of its own file prefix); the test fills the punt ring
// and reads the command ring. Nobody applies the commands.
#include <gtest/gtest.h>
#include <rte_ring.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "controlplane/app/agent.hpp"
#include "controlplane/app/status.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/net/responder.hpp"
#include "dataplane/shm/state.hpp"
#include "dataplane/tables/neighbours.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/shared_state_env.hpp"
#include "tests/support/test_agent.hpp"
#include "tests/tools/junk_initiation.hpp"

namespace wirespeed::controlplane::app {
namespace {

namespace shm = dataplane::shm;
namespace net = dataplane::net;
namespace wire = dataplane::wire;

constexpr uint16_t kListenPort = 51820;
const net::MacAddress kFloodMac{{0x02, 0x00, 0x00, 0x00, 0x0f, 0x01}};

std::string base64_of(const uint8_t* key) {
  return test::to_base64(key, 32);
}

using EalEnvironment = test::SharedStateEnvironment;

// One EAL per process (gtest_main runs the tests).
[[maybe_unused]] ::testing::Environment* const kEal =
    ::testing::AddGlobalTestEnvironment(new EalEnvironment("agent_flood_test", "wsaf"));

class AgentFloodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    char tmpl[] = "/tmp/ws-agent-flood-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    const crypto::PrivateKey priv = crypto::generate_private_key();
    public_ = crypto::public_key(priv);
    const crypto::PrivateKey peer = crypto::generate_private_key();
    const std::string yaml = "interface:\n  name: wsaf0\n  private_key: " + base64_of(priv.data()) +
                             "\n  listen_port: 51820\n"
                             "dataplane:\n  eal: [\"-l\", \"0-1\"]\n  workers: [1]\n"
                             "  outer:\n    port: net_null0\n    address: [192.0.2.1/24]\n"
                             "  inner:\n    port: net_null1\n    address: [10.8.0.1/24]\n"
                             "peers:\n  - name: first\n    public_key: " +
                             base64_of(crypto::public_key(peer).data()) +
                             "\n    allowed_ips: [10.8.1.0/24]\n";
    const std::string path = dir_ + "/agent.yaml";
    const mode_t old = umask(077);
    std::ofstream(path) << yaml;
    umask(old);
    cfg_text_path_ = path;
    test::start_agent(path, dir_, kListenPort, &agent_);
  }
  void TearDown() override {
    agent_.reset();
    drain();
    shm::RingMessage m;
    while (rte_ring_dequeue_elem(EalEnvironment::state().punt(), &m, sizeof(m)) == 0) {
    }
    std::system(("rm -rf " + dir_).c_str());
  }

  static std::vector<shm::RingMessage> drain() { return EalEnvironment::drain_commands(); }

  // `count` junk initiations (right mac1) from 192.0.2.(10 + i):(2000 + i),
  // link-layer source kFloodMac, on the punt ring as the dataplane puts them.
  void punt_initiations(unsigned count) {
    std::vector<wire::MessageInitiation> junk(count);
    test::tools::make_junk_initiations(public_, junk);
    for (unsigned i = 0; i < count; ++i) {
      shm::RingMessage m{};
      m.kind = shm::MessageKind::kPuntFrame;
      m.port = static_cast<uint8_t>(shm::PortRole::kOuter);
      constexpr size_t kHeaders = 14 + 20 + 8;
      const size_t hl = net::write_outer_headers(
          m.body, kFloodMac, net::MacAddress{{0x02, 0, 0, 0, 0, 0x01}},
          net::IpAddr::v4(192, 0, 2, static_cast<uint8_t>(10 + i)), net::IpAddr::v4(192, 0, 2, 1),
          static_cast<uint16_t>(2000 + i), kListenPort, reinterpret_cast<uint8_t*>(&junk[i]),
          sizeof(junk[i]), 0, true);
      ASSERT_EQ(hl, kHeaders);
      std::memcpy(m.body + kHeaders, &junk[i], sizeof(junk[i]));
      m.length = static_cast<uint16_t>(kHeaders + sizeof(junk[i]));
      ASSERT_TRUE(shm::ring_put(EalEnvironment::state().punt(), m));
    }
  }

  bool poll() {
    shm::StateZone& zone = EalEnvironment::state().zone();
    const uint64_t now = monotonic_ns();
    zone.header.heartbeat_ns.store(now);
    const char* why = nullptr;
    return agent_->poll(now, &why);
  }

  std::string status_text() {
    config::LoadResult loaded = config::load_config(cfg_text_path_);
    EXPECT_TRUE(loaded.config);
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    print_status(f, *loaded.config, EalEnvironment::state().zone(), monotonic_ns());
    std::fclose(f);
    std::string text(buf, len);
    std::free(buf);
    return text;
  }

  crypto::PublicKey public_{};
  std::string dir_, cfg_text_path_;
  std::unique_ptr<Agent> agent_;
};

uint64_t counter(const std::string& text, const std::string& name) {
  const std::string key = "\ncounter " + name + " ";
  const size_t at = text.find(key);
  if (at == std::string::npos) return UINT64_MAX;
  return std::strtoull(text.c_str() + at + key.size(), nullptr, 10);
}

// 200 queued initiations (the punt ring 1/8 full is load): every one gets a
// cookie reply, as a frame to the MAC it came from, from the address and
// port it was sent to, to its source address and port. No neighbour is
// learnt (the table would fill with forged addresses) and no ARP is asked.
TEST_F(AgentFloodTest, UnderLoadEveryInitiationGetsACookieFrameToItsLinkSource) {
  constexpr unsigned kCount = 200;
  punt_initiations(kCount);
  ASSERT_TRUE(poll());
  const std::vector<shm::RingMessage> cmds = drain();
  ASSERT_EQ(cmds.size(), kCount);
  for (unsigned i = 0; i < kCount; ++i) {
    SCOPED_TRACE("reply " + std::to_string(i));
    const shm::RingMessage& m = cmds[i];
    ASSERT_EQ(m.kind, shm::MessageKind::kCmdTransmitFrame);
    EXPECT_EQ(m.port, static_cast<uint8_t>(shm::PortRole::kOuter));
    const std::span<const uint8_t> frame(m.body, m.length);
    const net::FrameView v = net::parse_frame(frame);
    ASSERT_EQ(v.kind, net::FrameKind::kIpv4Udp);
    EXPECT_EQ(v.eth_dst, kFloodMac);
    EXPECT_EQ(v.src, net::IpAddr::v4(192, 0, 2, 1));
    EXPECT_EQ(v.src_port, kListenPort);
    EXPECT_EQ(v.dst, net::IpAddr::v4(192, 0, 2, static_cast<uint8_t>(10 + i)));
    EXPECT_EQ(v.dst_port, 2000 + i);
    EXPECT_TRUE(net::udp_checksum_ok(m.body, v));
    EXPECT_TRUE(net::ipv4_header_checksum_ok(m.body, v));
    ASSERT_EQ(v.payload_len, sizeof(wire::MessageCookieReply));
    EXPECT_EQ(wire::classify(frame.subspan(v.payload_offset, v.payload_len)),
              wire::MessageType::kHandshakeCookie);
  }
  const std::string text = status_text();
  EXPECT_EQ(counter(text, "cookie_replies_sent"), kCount) << text;
  EXPECT_EQ(counter(text, "punt_messages"), kCount) << text;
  EXPECT_EQ(counter(text, "punt_polls_under_load"), 1u) << text;
  EXPECT_EQ(counter(text, "neighbour_requests"), 0u) << text;
  EXPECT_EQ(counter(text, "handshake_drop_initiation_not_for_us"), 0u) << text;
}

// A shallow queue is not load: the same initiations cost an X25519 each
// and are dropped as not for us (their static key does not decrypt).
TEST_F(AgentFloodTest, NotUnderLoadJunkIsRejectedAndCounted) {
  constexpr unsigned kCount = 8;
  punt_initiations(kCount);
  ASSERT_TRUE(poll());
  EXPECT_TRUE(drain().empty());
  const std::string text = status_text();
  EXPECT_EQ(counter(text, "handshake_drop_initiation_not_for_us"), kCount) << text;
  EXPECT_EQ(counter(text, "cookie_replies_sent"), 0u) << text;
  EXPECT_EQ(counter(text, "punt_polls_under_load"), 0u) << text;
}

// Load lingers for a second after the queue drained (kernel receive.c):
// the next initiation, alone in the ring, still gets a cookie.
TEST_F(AgentFloodTest, LoadHoldsAfterTheQueueDrains) {
  punt_initiations(200);
  ASSERT_TRUE(poll());
  drain();
  punt_initiations(1);
  ASSERT_TRUE(poll());
  const std::vector<shm::RingMessage> cmds = drain();
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].kind, shm::MessageKind::kCmdTransmitFrame);
  EXPECT_EQ(counter(status_text(), "punt_polls_under_load"), 2u);
}

// With the command ring full, cookie replies are dropped and counted, not
// queued behind it: nothing of them is left to send once it drains, and
// no command is lost.
TEST_F(AgentFloodTest, CookieFramesAreDroppedNotQueuedWhenTheCommandRingIsFull) {
  shm::RingMessage filler{};
  filler.kind = shm::MessageKind::kCmdSendKeepalive;
  filler.peer = 0;
  unsigned filled = 0;
  while (shm::ring_put(EalEnvironment::state().commands(), filler)) ++filled;
  ASSERT_GT(filled, 0u);
  punt_initiations(200);
  ASSERT_TRUE(poll());
  EXPECT_EQ(drain().size(), filled);
  ASSERT_TRUE(poll());
  EXPECT_TRUE(drain().empty()) << "cookie replies waited in a backlog";
  const std::string text = status_text();
  EXPECT_EQ(counter(text, "punt_frames_dropped"), 200u) << text;
  EXPECT_EQ(counter(text, "commands_dropped"), 0u) << text;
  EXPECT_EQ(counter(text, "cookie_replies_sent"), 200u) << text;
}

// ARP requests for the gateway's inner address from `count` forged senders
// 10.8.(1 + i / 250).(1 + i % 250), each with a MAC of its own, on the punt
// ring; then polls and drains. Neighbour sets are applied to the zone's
// table as the dataplane would; returns how many there were.
class AgentNeighbourTest : public AgentFloodTest {
 protected:
  void SetUp() override {
    clear_neighbours();
    AgentFloodTest::SetUp();
  }
  void TearDown() override {
    AgentFloodTest::TearDown();
    clear_neighbours();
  }
  static void clear_neighbours() {
    for (auto& table : EalEnvironment::state().zone().neighbours) {
      for (shm::NeighbourEntry& e : table) {
        e.used.store(0);
        e.mac.store(0);
      }
    }
  }
  static shm::NeighbourEntry* inner_table() {
    return EalEnvironment::state().zone().neighbours[static_cast<unsigned>(shm::PortRole::kInner)];
  }
  static net::MacAddress mac_of(unsigned i) {
    return net::MacAddress{
        {0x02, 0xaa, 0, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)}};
  }
  static net::IpAddr forged(unsigned i) {
    return net::IpAddr::v4(10, 8, static_cast<uint8_t>(1 + i / 250),
                           static_cast<uint8_t>(1 + i % 250));
  }
  // An ARP request "who-has 10.8.0.1 tell ip" from mac, punted from the inner port.
  static void punt_arp(const net::IpAddr& ip, const net::MacAddress& mac) {
    shm::RingMessage m{};
    m.kind = shm::MessageKind::kPuntFrame;
    m.port = static_cast<uint8_t>(shm::PortRole::kInner);
    m.length = static_cast<uint16_t>(net::build_arp_request(
        std::span<uint8_t>(m.body, sizeof(m.body)), mac, ip, net::IpAddr::v4(10, 8, 0, 1)));
    ASSERT_GT(m.length, 0u);
    ASSERT_TRUE(shm::ring_put(EalEnvironment::state().punt(), m));
  }
  struct Applied {
    unsigned neighbour_sets = 0;
    unsigned frames = 0;
  };
  Applied poll_and_apply() {
    Applied a;
    EXPECT_TRUE(poll());
    for (const shm::RingMessage& m : drain()) {
      if (m.kind == shm::MessageKind::kCmdTransmitFrame) ++a.frames;
      if (m.kind != shm::MessageKind::kCmdNeighbourSet) continue;
      ++a.neighbour_sets;
      shm::CmdNeighbourSet b;
      std::memcpy(&b, m.body, sizeof(b));
      EXPECT_TRUE(dataplane::tables::neighbour_set(
          EalEnvironment::state().zone().neighbours[m.port], b.family, b.addr, b.mac));
    }
    return a;
  }
  static std::optional<uint64_t> inner_mac(const net::IpAddr& ip) {
    return dataplane::tables::neighbour_lookup(inner_table(), ip.family, ip.bytes.data());
  }
};

// The neighbour table never forgets an entry. A LAN host asking for the
// gateway is learnt (it will talk to us next), but 1000 forged senders take
// at most half the table: every one is answered, 488 are counted as not
// learnt, and an address the gateway asks for, or one it knows, is still
// learnt afterwards.
TEST_F(AgentNeighbourTest, ForgedArpSendersTakeAtMostHalfTheNeighbourTable) {
  constexpr unsigned kForged = 1000;
  constexpr unsigned kBatch = 100;
  Applied total;
  for (unsigned i = 0; i < kForged; i += kBatch) {
    for (unsigned j = i; j < i + kBatch; ++j) punt_arp(forged(j), mac_of(j));
    const Applied a = poll_and_apply();
    total.neighbour_sets += a.neighbour_sets;
    total.frames += a.frames;
  }
  EXPECT_EQ(total.frames, kForged) << "every request is answered";
  EXPECT_EQ(total.neighbour_sets, shm::kNeighbourSlots / 2);
  EXPECT_EQ(dataplane::tables::neighbour_count(inner_table()), shm::kNeighbourSlots / 2);
  EXPECT_TRUE(inner_mac(forged(0)).has_value()) << "the first senders are learnt";
  EXPECT_FALSE(inner_mac(forged(kForged - 1)).has_value());

  // A next hop the dataplane missed: asked for, then learnt from its answer.
  const net::IpAddr wanted = net::IpAddr::v4(10, 8, 0, 200);
  shm::RingMessage miss{};
  miss.kind = shm::MessageKind::kEventNeighbourMiss;
  miss.port = static_cast<uint8_t>(shm::PortRole::kInner);
  miss.peer = shm::kNoPeer;
  shm::EventNeighbour body{};
  body.family = 4;
  std::memcpy(body.addr, wanted.bytes.data(), 16);
  std::memcpy(miss.body, &body, sizeof(body));
  miss.length = sizeof(body);
  ASSERT_TRUE(shm::ring_put(EalEnvironment::state().events(), miss));
  const Applied asked = poll_and_apply();
  EXPECT_EQ(asked.frames, 1u) << "one ARP request for 10.8.0.200";
  EXPECT_EQ(asked.neighbour_sets, 0u);
  punt_arp(wanted, mac_of(5000));
  EXPECT_EQ(poll_and_apply().neighbour_sets, 1u);
  EXPECT_EQ(inner_mac(wanted), dataplane::tables::mac_to_word(mac_of(5000).bytes.data()));

  // A known neighbour with a new MAC is learnt again; a forged newcomer is not.
  punt_arp(forged(0), mac_of(6000));
  punt_arp(forged(kForged - 1), mac_of(6001));
  EXPECT_EQ(poll_and_apply().neighbour_sets, 1u);
  EXPECT_EQ(inner_mac(forged(0)), dataplane::tables::mac_to_word(mac_of(6000).bytes.data()));
  EXPECT_FALSE(inner_mac(forged(kForged - 1)).has_value());

  const std::string text = status_text();
  EXPECT_EQ(counter(text, "neighbours_not_learnt"), kForged - shm::kNeighbourSlots / 2 + 1) << text;
  EXPECT_EQ(counter(text, "inner_neighbours"), shm::kNeighbourSlots / 2 + 1) << text;
}

}  // namespace
}  // namespace wirespeed::controlplane::app
