// `wirespeed show` rendering from a state zone built by hand: summarise()
// (observe's snapshot.cpp) of known counters, then the text and JSON forms.
// The JSON is checked by python3's own parser (python3 -m json.tool) and by
// its values; the text by the figures it must contain.
#include "controlplane/cli/show_render.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "controlplane/cli/keys.hpp"
#include "dataplane/shm/snapshot.hpp"
#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed::controlplane::cli {
namespace {

namespace shm = dataplane::shm;
using test::cli::Captured;
using test::cli::shell;
using test::cli::TempDir;

constexpr uint64_t kSecond = 1000000000ULL;
constexpr uint64_t kNow = 100000 * kSecond;

// A zone as a dataplane with one worker and two peers would leave it.
std::unique_ptr<shm::StateZone> make_zone() {
  auto zone = std::make_unique<shm::StateZone>();
  shm::StateHeader& h = zone->header;
  h.dataplane_pid = 4242;
  h.controlplane_pid.store(4343);
  h.worker_count = 1;
  h.listen_port.store(51820);
  h.tsc_hz = 2000000000;
  h.lcore_ids[0] = 0;
  h.lcore_ids[1] = 1;
  h.started_ns = kNow - 3723 * kSecond;  // up 1h02m03s
  h.heartbeat_ns.store(kNow - 2000000);  // 2 ms ago
  h.ports[0].queues = 1;
  h.ports[0].mtu = 1500;
  const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::copy(mac, mac + 6, h.ports[0].mac);
  h.ports[1].ethdev_port = 1;

  shm::LcoreCounters& w = zone->lcore_counters[1];
  w.port[0].rx_packets.set(1000);
  w.port[0].rx_bytes.set(150000);
  w.port[1].tx_packets.set(990);
  w.decrypted.set(990);
  w.encrypted.set(500);
  w.drops[static_cast<unsigned>(shm::DropReason::kReplay)].set(7);
  w.drops[static_cast<unsigned>(shm::DropReason::kBadMac)].set(3);
  w.busy_tsc.set(250);
  w.total_tsc.set(1000);
  zone->lcore_counters[0].drops[static_cast<unsigned>(shm::DropReason::kReplay)].set(1);

  shm::PeerSlot& p = zone->peers[3];
  p.state.store(shm::PeerState::kActive);
  for (unsigned i = 0; i < 32; ++i) p.public_key[i] = static_cast<uint8_t>(i);
  p.endpoint.family = 4;
  p.endpoint.port = 51820;
  const uint8_t addr[4] = {192, 0, 2, 2};
  std::copy(addr, addr + 4, p.endpoint.addr);
  p.handshakes.set(2);
  p.last_handshake_ns.set(kNow - 42 * kSecond);
  p.current.store(shm::keypair_slot_number(3, 0));
  shm::KeypairSlot& k = zone->keypairs[shm::keypair_slot_number(3, 0)];
  k.state.store(shm::SlotState::kLive);
  k.peer = 3;
  k.local_index = 0xabcdef01;
  k.remote_index = 0x12345678;
  k.birth_ns = kNow - 42 * kSecond;
  k.we_initiated = 1;
  k.send_counter.store(500);
  zone->peer_counters[1][3].rx_packets.set(990);
  zone->peer_counters[1][3].rx_bytes.set(148500);

  shm::PeerSlot& q = zone->peers[7];  // never handshaken, no endpoint
  q.state.store(shm::PeerState::kActive);
  q.public_key[0] = 0xff;
  return zone;
}

ShowContext context() {
  ShowContext ctx;
  ctx.interface_name = "wsp0";
  ctx.public_key = "GW+key=";
  ctx.port_names[0] = "net_af_packet0";
  ctx.port_names[1] = "net_tap0";
  std::array<uint8_t, 32> key{};
  for (unsigned i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i);
  ctx.peer_names[key_to_base64(key)] = "branch \"1\"";  // quotes must be escaped in JSON
  return ctx;
}

// Runs python3 on the document; fails naming python3 when it is missing.
Captured python(const std::string& json, const std::string& script) {
  TempDir dir;
  const std::string path = dir.write("show.json", json);
  return shell("python3 -c '" + script + "' " + path);
}

TEST(ShowRenderTest, JsonParsesAndCarriesEveryFigure) {
  const auto zone = make_zone();
  const shm::Snapshot s = shm::summarise(*zone, kNow);
  for (bool pretty : {true, false}) {
    const std::string json = render_json(s, context(), pretty);
    TempDir dir;
    const Captured tool =
        shell("python3 -m json.tool " + dir.write("s.json", json) + " >/dev/null");
    ASSERT_NE(tool.status, 127) << "python3 is not installed (needed to check the JSON)";
    EXPECT_EQ(tool.status, 0) << tool.err << json;
    if (!pretty) {
      EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 1) << "one document per line";
    }
  }
  const std::string json = render_json(s, context(), true);
  // The values, read back by python: one line of "name=value" per check.
  const Captured c = python(
      json,
      "import json,sys; d=json.load(open(sys.argv[1])); p=d[\"peers\"]; l=d[\"lcores\"];"
      "print(d[\"interface\"][\"name\"], d[\"interface\"][\"listen_port\"], "
      "d[\"interface\"][\"uptime_ms\"],"
      " d[\"interface\"][\"controlplane_pid\"]);"
      "print(len(p), p[0][\"name\"], p[0][\"endpoint\"], p[0][\"rx_packets\"], p[0][\"rx_bytes\"],"
      " p[0][\"latest_handshake_age_ms\"], p[0][\"keypairs\"][0][\"role\"], "
      "p[0][\"keypairs\"][0][\"age_ms\"],"
      " p[0][\"keypairs\"][0][\"local_index\"], p[0][\"keypairs\"][0][\"send_counter\"]);"
      "print(p[1][\"name\"], p[1][\"endpoint\"], p[1][\"latest_handshake_age_ms\"], "
      "p[1][\"keypairs\"]);"
      "print(d[\"drops\"][\"replay\"], d[\"drops\"][\"bad_mac\"], len(d[\"drops\"]));"
      "print(len(l), l[1][\"role\"], l[1][\"busy_ratio\"], l[1][\"outer_rx_packets\"], "
      "l[1][\"drops\"][\"replay\"]);"
      "print(d[\"ports\"][0][\"name\"], d[\"ports\"][0][\"rx_packets\"], d[\"ports\"][0][\"mac\"], "
      "d[\"ports\"][1][\"role\"]);"
      "print(d[\"rings\"], d[\"mempool\"])");
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out,
            "wsp0 51820 3723000 4343\n"
            "2 branch \"1\" 192.0.2.2:51820 990 148500 42000 current 42000 2882400001 500\n"
            "None None None []\n"
            "8 3 " +
                std::to_string(shm::kDropReasonCount) +
                "\n"
                "2 worker 0.25 1000 7\n"
                "net_af_packet0 1000 02:00:00:00:00:01 inner\n"
                "[] None\n");
}

TEST(ShowRenderTest, TextNamesEveryDropReasonAndThePeers) {
  const auto zone = make_zone();
  const std::string text = render_text(shm::summarise(*zone, kNow), context());
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    const std::string name = shm::drop_reason_name(static_cast<shm::DropReason>(d));
    EXPECT_NE(text.find("\n  " + name + " "), std::string::npos) << name;
  }
  const std::string expected[] = {
      "interface: wsp0\n",
      "  listening port: 51820\n",
      "  dataplane: pid 4242, up 1h02m03s, heartbeat 2ms ago, 1 worker(s)\n",
      "  controlplane: pid 4343\n",
      "  replay                   8\n",
      "  bad_mac                  3\n",
      "(branch \"1\")\n  slot: 3\n  endpoint: 192.0.2.2:51820\n"
      "  latest handshake: 42.0s ago (2 handshake(s))\n"
      "  transfer: 148500 B received (990 packets), 0 B sent (0 packets)\n",
      "  keypair current  age 42.0s, local index 0xabcdef01, remote index 0x12345678, sent 500, we "
      "initiated\n",
      "  slot: 7\n  endpoint: (none)\n  latest handshake: never\n",
      "  w1         1  25.0%         1000",
      "rings:\n  (not found)\n",
  };
  for (const std::string& e : expected)
    EXPECT_NE(text.find(e), std::string::npos) << e << "\n--- in ---\n" << text;
}

TEST(ShowRenderTest, FormatAge) {
  EXPECT_EQ(format_age(0), "0ms");
  EXPECT_EQ(format_age(999999999), "999ms");
  EXPECT_EQ(format_age(12345 * 1000000ULL), "12.3s");
  EXPECT_EQ(format_age(61 * kSecond), "1m01s");
  EXPECT_EQ(format_age(3600 * kSecond), "1h00m00s");
}

}  // namespace
}  // namespace wirespeed::controlplane::cli
