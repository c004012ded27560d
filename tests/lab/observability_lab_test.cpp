// What an operator uses to see inside the running lab gateway, each read
// against real traffic (pings from the LAN host through the tunnel to the
// wireguard-go peer):
//   telemetry  dpdk-telemetry.py on the gateway's file prefix: the /wirespeed/
//              commands answer, their figures are the gateway's (pids, port,
//              peer key and endpoint, lcore ids) and grow by at least the
//              packets that were sent between two reads
//   dumpcap    dpdk-dumpcap, a secondary on the same prefix run in the
//              gateway's namespace: on the outer port it sees WireGuard data
//              messages (UDP 51820, type 4) both ways, on the inner port the
//              pings themselves; the gateway forwards as before afterwards
//   metrics    curl http://127.0.0.1:PORT/metrics in the gateway's namespace
//              (config `metrics: {port}`): Prometheus text whose peer bytes
//              are > 0 after traffic, every drop reason by name, per-lcore
//              busy ratio, HELP/TYPE lines; other paths 404
//   log        the control plane's lines: ISO 8601 UTC time, level, the peer
//              going up; no private key or preshared key anywhere in it
//   reload     SIGHUP moves the metrics port and changes the log level
//
// Needs what gateway_lab_test needs, plus dpdk-telemetry.py and dpdk-dumpcap
// (Debian's dpdk-dev) and curl; a missing one fails the test with its name.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "dataplane/shm/abi.hpp"
#include "tests/lab/gateway_lab.hpp"
#include "tests/lab/wireguard_go_peer.hpp"

namespace wirespeed::test::lab {
namespace {

constexpr unsigned kMetricsPort = 9586;  // in the gateway's own namespace: no clash between labs
constexpr const char* kOuterPort = "net_af_packet0";  // scripts/lib/lab.sh's gateway config
constexpr const char* kInnerPort = "net_tap0";
constexpr int kPings = 10;

bool on_path(const std::string& tool) {
  return run_command({"sh", "-c", "command -v " + tool + " >/dev/null"}) == 0;
}

std::string missing_observe_tools() {
  std::string missing;
  for (const char* tool : {"dpdk-telemetry.py", "dpdk-dumpcap"}) {
    if (!on_path(tool))
      missing += std::string(" ") + tool + " (package dpdk-dev: scripts/setup.sh);";
  }
  if (!on_path("curl")) missing += " curl (scripts/setup.sh installs it);";
  return missing;
}

// ---- telemetry ---------------------------------------------------------------------

// Flattens dpdk-telemetry.py's JSON answers, parsed by python3's json, into
// "COMMAND KEY" -> value ("KEY[i]" for array elements).
constexpr const char* kFlatten = R"PY(
import json, sys
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    for cmd, v in json.loads(line).items():
        if not isinstance(v, dict):
            print(cmd, "=", v)
            continue
        for k, x in v.items():
            if isinstance(x, list):
                print(cmd, k + "[]", len(x))
                for i, y in enumerate(x):
                    print(cmd, "%s[%d]" % (k, i), y)
            else:
                print(cmd, k, x)
)PY";

struct Telemetry {
  std::map<std::string, std::string> values;  // "/wirespeed/info workers" -> "1"
  std::string raw;

  bool has(const std::string& cmd, const std::string& key) const {
    return values.count(cmd + " " + key) != 0;
  }
  std::string text(const std::string& cmd, const std::string& key) const {
    const auto it = values.find(cmd + " " + key);
    return it == values.end() ? std::string() : it->second;
  }
  // -1 when absent or not a number.
  int64_t number(const std::string& cmd, const std::string& key) const {
    const std::string v = text(cmd, key);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return -1;
    return static_cast<int64_t>(std::stoull(v));
  }
};

// One run of dpdk-telemetry.py with `commands` on its stdin, as an operator
// would type them.
bool read_telemetry(GatewayLab& lab, const std::vector<std::string>& commands, Telemetry* t,
                    std::string* error) {
  std::string input;
  for (const std::string& c : commands) input += c + "\\n";
  const std::string raw_path = lab.dir() + "/telemetry.json";
  const std::string cmd = "printf '" + input + "' | dpdk-telemetry.py -f " +
                          lab.env("FILE_PREFIX") + " >" + raw_path + " 2>&1";
  const int rc = run_command({"sh", "-c", cmd});
  t->raw = read_text(raw_path);
  if (rc != 0) {
    *error = "dpdk-telemetry.py exited " + std::to_string(rc) + ":\n" + t->raw;
    return false;
  }
  std::string flat;
  if (run_command({"python3", "-c", kFlatten, raw_path}, &flat) != 0) {
    *error = "telemetry output is not JSON:\n" + t->raw + "\n" + flat;
    return false;
  }
  t->values.clear();
  std::istringstream lines(flat);
  for (std::string line; std::getline(lines, line);) {
    const size_t a = line.find(' ');
    const size_t b = a == std::string::npos ? a : line.find(' ', a + 1);
    if (b == std::string::npos) continue;
    t->values[line.substr(0, b)] = line.substr(b + 1);
  }
  return true;
}

// ---- pcapng ------------------------------------------------------------------------

// The frames of a pcapng file (Enhanced Packet Blocks only; dpdk-dumpcap
// writes nothing else that carries packets). Little-endian, as dumpcap
// writes on x86.
std::vector<std::string> pcapng_frames(const std::string& file, std::string* error) {
  std::vector<std::string> frames;
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, file.data() + at, 4);
    return v;
  };
  if (file.size() < 12 || u32(0) != 0x0A0D0D0A || u32(8) != 0x1A2B3C4D) {
    *error = "not a little-endian pcapng file (" + std::to_string(file.size()) + " bytes)";
    return frames;
  }
  for (size_t at = 0; at + 12 <= file.size();) {
    const uint32_t type = u32(at);
    const uint32_t len = u32(at + 4);
    if (len < 12 || len % 4 != 0 || at + len > file.size()) {
      *error = "pcapng block at " + std::to_string(at) + " has a bad length";
      return frames;
    }
    if (type == 6 && len >= 32) {
      const uint32_t captured = u32(at + 20);
      if (28 + captured <= len) frames.emplace_back(file.substr(at + 28, captured));
    }
    at += len;
  }
  return frames;
}

struct Ipv4 {
  std::string src, dst;
  uint8_t protocol = 0;
  std::string payload;  // after the IPv4 header
};

bool parse_ipv4(const std::string& f, Ipv4* out) {
  if (f.size() < 34 || static_cast<uint8_t>(f[12]) != 0x08 || f[13] != 0x00) return false;
  const auto* ip = reinterpret_cast<const uint8_t*>(f.data() + 14);
  if ((ip[0] >> 4) != 4) return false;
  const size_t ihl = (ip[0] & 15u) * 4u;
  if (14 + ihl > f.size()) return false;
  char a[32], b[32];
  std::snprintf(a, sizeof(a), "%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
  std::snprintf(b, sizeof(b), "%u.%u.%u.%u", ip[16], ip[17], ip[18], ip[19]);
  out->src = a;
  out->dst = b;
  out->protocol = ip[9];
  out->payload = f.substr(14 + ihl);
  return true;
}

uint16_t be16(const std::string& s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) << 8 | static_cast<uint8_t>(s[at + 1]));
}

// Captures `count` frames on `port` with dpdk-dumpcap while pinging through
// the tunnel; returns the frames.
std::vector<std::string> capture_while_pinging(GatewayLab& lab, const std::string& port, int count,
                                               std::string* error) {
  const std::string file = lab.dir() + "/capture-" + port + ".pcapng";
  // -p: leave the port's promiscuous mode alone (net_tap's is not ours to
  // change once the tap lives in another namespace).
  Background dumpcap = lab.spawn(Where::kGateway,
                                 {"dpdk-dumpcap", "--file-prefix=" + lab.env("FILE_PREFIX"), "-i",
                                  port, "-p", "-c", std::to_string(count), "-w", file},
                                 "dumpcap-" + port);
  if (!dumpcap.started()) {
    *error = "could not start dpdk-dumpcap";
    return {};
  }
  bool capturing = false;
  for (int i = 0; i < 150 && !capturing; ++i) {
    // Its count line appears once the capture is on (its "Capturing on"
    // banner sits in a stdout buffer until it exits).
    capturing = dumpcap.output().find("Packets captured:") != std::string::npos;
    if (!capturing && !dumpcap.running()) break;
    if (!capturing) sleep_ms(100);
  }
  if (!capturing) {
    *error = "dpdk-dumpcap did not start capturing on " + port + ":\n" + dumpcap.output();
    return {};
  }
  // Ping until dumpcap has its frames (it exits then), a bounded number of times.
  for (int i = 0; i < 30 && dumpcap.running(); ++i) {
    lab.ping(Where::kLan, "10.8.1.2", 2, 3, nullptr);
  }
  const int status = dumpcap.wait(5000);
  if (status != 0) {
    *error =
        "dpdk-dumpcap on " + port + " exited " + std::to_string(status) + ":\n" + dumpcap.output();
    return {};
  }
  std::vector<std::string> frames = pcapng_frames(read_text(file), error);
  if (!error->empty()) *error += "\ndumpcap said:\n" + dumpcap.output();
  return frames;
}

// ---- the lab ---------------------------------------------------------------------

class ObservabilityLab : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = GatewayLab::missing_gateway() + missing_observe_tools();
    ASSERT_TRUE(missing.empty()) << "lab prerequisites missing:" << missing;
    std::string error;
    ASSERT_TRUE(lab_.up(LabOptions{.preshared_key = true}, &error)) << error;
    // The metrics endpoint and debug logging, as an operator would add them.
    std::ofstream(lab_.dir() + "/gateway.yaml", std::ios::app)
        << "metrics:\n  port: " << kMetricsPort << "\nlog:\n  level: debug\n";
    ASSERT_TRUE(lab_.start_gateway(&error)) << error << "\n" << lab_.diagnostics();
    std::string out;
    ASSERT_EQ(lab_.ping(Where::kLan, "10.8.1.2", 3, 10, &out), 0)
        << "no traffic through the tunnel:\n"
        << out << lab_.diagnostics();
  }

  void TearDown() override {
    if (HasFailure()) {
      lab_.keep_directory();
      std::cerr << lab_.diagnostics();
    }
  }

  GatewayLab lab_;
};

TEST_F(ObservabilityLab, TelemetryCommandsShowTheGatewayAndGrowWithTraffic) {
  const std::vector<std::string> commands = {"/wirespeed/info",    "/wirespeed/ports",
                                             "/wirespeed/lcores",  "/wirespeed/peers",
                                             "/wirespeed/peers,0", "/wirespeed/drops"};
  Telemetry before, after;
  std::string error, out;
  ASSERT_TRUE(read_telemetry(lab_, commands, &before, &error)) << error;
  ASSERT_EQ(lab_.ping(Where::kLan, "10.8.1.2", kPings, 15, &out), 0) << out;
  ASSERT_TRUE(read_telemetry(lab_, commands, &after, &error)) << error;
  const Telemetry& t = after;
  SCOPED_TRACE("telemetry answered:\n" + t.raw);

  // /wirespeed/info: the gateway itself.
  const std::string info = "/wirespeed/info";
  EXPECT_EQ(t.text(info, "dataplane_pid"), trim(read_text(lab_.dir() + "/dataplane.pid")));
  EXPECT_EQ(t.text(info, "controlplane_pid"), trim(read_text(lab_.dir() + "/controlplane.pid")));
  EXPECT_EQ(t.number(info, "abi_version"), dataplane::shm::kAbiVersion);
  EXPECT_EQ(t.number(info, "workers"), 1);
  EXPECT_EQ(t.number(info, "listen_port"), 51820);
  EXPECT_EQ(t.number(info, "peers"), 1);
  EXPECT_GT(t.number(info, "tsc_hz"), 0);
  EXPECT_GT(t.number(info, "uptime_ms"), before.number(info, "uptime_ms"));
  EXPECT_GE(t.number(info, "heartbeat_age_ms"), 0);
  EXPECT_LE(t.number(info, "heartbeat_age_ms"), t.number(info, "uptime_ms"));
  EXPECT_EQ(t.number(info, "ws_punt_capacity"), 1023);
  EXPECT_GT(t.number(info, "mbufs_size"), 0);
  EXPECT_GT(t.number(info, "mbufs_in_use"), 0);  // RX rings hold mbufs
  EXPECT_EQ(t.number(info, "mbufs_in_use") + t.number(info, "mbufs_available"),
            t.number(info, "mbufs_size"));

  // /wirespeed/ports: names, and counters that grew by the pings. Each ping
  // is one request in on inner and out on outer, one reply the other way.
  const std::string ports = "/wirespeed/ports";
  EXPECT_EQ(t.text(ports, "outer_name"), kOuterPort);
  EXPECT_EQ(t.text(ports, "inner_name"), kInnerPort);
  for (const char* key : {"outer_rx_packets", "outer_tx_packets", "inner_rx_packets",
                          "inner_tx_packets", "outer_hw_rx_packets", "inner_hw_tx_packets"}) {
    EXPECT_GE(t.number(ports, key) - before.number(ports, key), kPings) << key;
  }
  EXPECT_GT(t.number(ports, "outer_rx_bytes"), before.number(ports, "outer_rx_bytes"));

  // /wirespeed/lcores: row 0 the main lcore (0), row 1 the worker (1).
  const std::string lcores = "/wirespeed/lcores";
  EXPECT_EQ(t.number(lcores, "lcore_id[]"), 2);
  EXPECT_EQ(t.number(lcores, "lcore_id[0]"), 0);
  EXPECT_EQ(t.number(lcores, "lcore_id[1]"), 1);
  EXPECT_GT(t.number(lcores, "loops[1]"), before.number(lcores, "loops[1]"));
  EXPECT_GT(t.number(lcores, "total_tsc[1]"), before.number(lcores, "total_tsc[1]"));
  EXPECT_GT(t.number(lcores, "busy_tsc[1]"), before.number(lcores, "busy_tsc[1]"));  // it worked
  EXPECT_LE(t.number(lcores, "busy_tsc[1]"), t.number(lcores, "total_tsc[1]"));
  EXPECT_LE(t.number(lcores, "busy_percent[1]"), 100);
  EXPECT_GE(t.number(lcores, "decrypted[1]") - before.number(lcores, "decrypted[1]"), kPings);
  EXPECT_GE(t.number(lcores, "encrypted[1]") - before.number(lcores, "encrypted[1]"), kPings);

  // /wirespeed/peers and /wirespeed/peers,0: the wireguard-go peer.
  EXPECT_EQ(t.number("/wirespeed/peers", "count"), 1);
  EXPECT_EQ(t.number("/wirespeed/peers", "slots[0]"), 0);
  const std::string peer = "/wirespeed/peers";  // the ",0" answer is keyed by the command too
  EXPECT_EQ(t.text(peer, "public_key"), lab_.env("REMOTE_PUB"));
  EXPECT_EQ(t.text(peer, "endpoint"), "192.0.2.2:51820");
  EXPECT_GE(t.number(peer, "rx_packets") - before.number(peer, "rx_packets"), kPings);
  EXPECT_GE(t.number(peer, "tx_packets") - before.number(peer, "tx_packets"), kPings);
  EXPECT_GT(t.number(peer, "rx_bytes"), before.number(peer, "rx_bytes"));
  EXPECT_GE(t.number(peer, "handshakes"), 1);
  EXPECT_GE(t.number(peer, "last_handshake_age_ms"), 0);
  EXPECT_GE(t.number(peer, "current_keypair_send_counter"), kPings);
  EXPECT_EQ(t.number("/wirespeed/peers", "rx_bytes[0]"), t.number(peer, "rx_bytes"))
      << "the list and the one-peer answer came from the same read";

  // /wirespeed/drops: every reason by name; the pings cost none of the
  // tunnel's drops.
  for (unsigned d = 0; d < dataplane::shm::kDropReasonCount; ++d) {
    const char* name = dataplane::shm::drop_reason_name(static_cast<dataplane::shm::DropReason>(d));
    EXPECT_GE(t.number("/wirespeed/drops", name), 0) << name;
  }
  for (const char* reason : {"bad_mac", "replay", "unknown_receiver_index", "source_not_allowed"}) {
    EXPECT_EQ(t.number("/wirespeed/drops", reason), 0) << reason;
  }

  // A bad parameter is refused, not crashed on: the dataplane still answers.
  Telemetry bad;
  ASSERT_TRUE(read_telemetry(
      lab_, {"/wirespeed/peers,abc", "/wirespeed/lcores,999", "/wirespeed/info"}, &bad, &error))
      << error;
  EXPECT_EQ(bad.number(info, "workers"), 1) << bad.raw;
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane));
}

TEST_F(ObservabilityLab, DumpcapSeesWireGuardOnOuterAndThePingsOnInner) {
  std::string error;
  const std::vector<std::string> outer = capture_while_pinging(lab_, kOuterPort, 8, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(outer.size(), 8u);
  int to_peer = 0, from_peer = 0, other = 0;
  for (const std::string& f : outer) {
    Ipv4 ip;
    if (!parse_ipv4(f, &ip) || ip.protocol != 17 || ip.payload.size() < 8 + 32) {
      ++other;
      continue;
    }
    const uint16_t sport = be16(ip.payload, 0), dport = be16(ip.payload, 2);
    const bool data = static_cast<uint8_t>(ip.payload[8]) == 4;  // WireGuard transport data
    if (sport == 51820 && dport == 51820 && data) {
      if (ip.src == "192.0.2.1" && ip.dst == "192.0.2.2") ++to_peer;
      if (ip.src == "192.0.2.2" && ip.dst == "192.0.2.1") ++from_peer;
    }
  }
  EXPECT_GT(to_peer, 0) << "no WireGuard data from the gateway to the peer in the capture";
  EXPECT_GT(from_peer, 0) << "no WireGuard data from the peer in the capture";
  EXPECT_LE(other, 2) << "the outer capture is mostly not the tunnel";

  const std::vector<std::string> inner = capture_while_pinging(lab_, kInnerPort, 6, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_GE(inner.size(), 6u);
  int requests = 0, replies = 0;
  for (const std::string& f : inner) {
    Ipv4 ip;
    if (!parse_ipv4(f, &ip) || ip.protocol != 1 || ip.payload.empty()) continue;
    const uint8_t type = static_cast<uint8_t>(ip.payload[0]);
    if (type == 8 && ip.src == "10.8.0.2" && ip.dst == "10.8.1.2") ++requests;
    if (type == 0 && ip.src == "10.8.1.2" && ip.dst == "10.8.0.2") ++replies;
  }
  EXPECT_GT(requests, 0) << "no echo request 10.8.0.2 -> 10.8.1.2 on the inner port";
  EXPECT_GT(replies, 0) << "no echo reply 10.8.1.2 -> 10.8.0.2 on the inner port";

  // The captures came and went; the gateway forwards as before.
  std::string out;
  EXPECT_EQ(lab_.ping(Where::kLan, "10.8.1.2", 3, 10, &out), 0) << out;
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane));
}

TEST_F(ObservabilityLab, MetricsEndpointAndLogAfterTraffic) {
  std::string out;
  ASSERT_EQ(lab_.ping(Where::kLan, "10.8.1.2", kPings, 15, &out), 0) << out;
  const std::string url = "http://127.0.0.1:" + std::to_string(kMetricsPort);
  std::string page;
  ASSERT_EQ(lab_.exec(Where::kGateway, {"curl", "-sS", "-i", "--max-time", "10", url + "/metrics"},
                      &page),
            0)
      << page;
  SCOPED_TRACE("metrics page:\n" + page);
  EXPECT_EQ(page.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  EXPECT_NE(page.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);

  // Per-peer figures, labelled by the peer's public key and its name.
  const std::string labels = "{public_key=\"" + lab_.env("REMOTE_PUB") + "\",name=\"remote\"} ";
  auto value_of = [&](const std::string& series) -> double {
    const size_t at = page.find("\n" + series);
    if (at == std::string::npos) return -1;
    return std::stod(page.substr(at + 1 + series.size()));
  };
  for (const char* name : {"wirespeed_peer_rx_bytes_total", "wirespeed_peer_tx_bytes_total"}) {
    EXPECT_GT(value_of(name + labels), 0) << name;
  }
  for (const char* name : {"wirespeed_peer_rx_packets_total", "wirespeed_peer_tx_packets_total"}) {
    EXPECT_GE(value_of(name + labels), kPings) << name;
  }
  EXPECT_GE(value_of("wirespeed_peer_handshakes_total" + labels), 1);
  EXPECT_GE(value_of("wirespeed_peer_last_handshake_age_seconds" + labels), 0);
  EXPECT_EQ(value_of("wirespeed_peers "), 1);
  EXPECT_EQ(value_of("wirespeed_listen_port "), 51820);

  // Every drop reason by name, with its family's HELP and TYPE.
  EXPECT_NE(page.find("# TYPE wirespeed_drops_total counter\n"), std::string::npos);
  for (unsigned d = 0; d < dataplane::shm::kDropReasonCount; ++d) {
    const std::string name =
        dataplane::shm::drop_reason_name(static_cast<dataplane::shm::DropReason>(d));
    EXPECT_GE(value_of("wirespeed_drops_total{reason=\"" + name + "\"} "), 0) << name;
  }
  // The control plane's own counts: handshake drops by reason, sessions made.
  for (const char* reason : {"bad_mac1", "rate_limited", "unknown_peer", "replayed_initiation"}) {
    EXPECT_EQ(value_of("wirespeed_handshake_drops_total{reason=\"" + std::string(reason) + "\"} "),
              0)
        << reason;
  }
  EXPECT_GE(value_of("wirespeed_handshakes_completed_total{role=\"initiator\"} ") +
                value_of("wirespeed_handshakes_completed_total{role=\"responder\"} "),
            1);
  // Busy ratio of both lcores, a share.
  for (const char* series : {"wirespeed_lcore_busy_ratio{lcore=\"0\",role=\"main\"} ",
                             "wirespeed_lcore_busy_ratio{lcore=\"1\",role=\"worker\"} "}) {
    const double r = value_of(series);
    EXPECT_GE(r, 0.0) << series;
    EXPECT_LE(r, 1.0) << series;
  }
  EXPECT_GT(value_of("wirespeed_lcore_busy_cycles_total{lcore=\"1\",role=\"worker\"} "), 0);
  EXPECT_NE(page.find("# HELP wirespeed_lcore_busy_ratio "), std::string::npos);
  EXPECT_GE(value_of("wirespeed_port_rx_packets_total{port=\"outer\"} "), kPings);

  std::string missing;
  ASSERT_EQ(lab_.exec(Where::kGateway,
                      {"curl", "-sS", "-i", "--max-time", "10", url + "/nothing-here"}, &missing),
            0);
  EXPECT_EQ(missing.rfind("HTTP/1.0 404 Not Found", 0), 0u) << missing;

  // Loopback only: the listener's address in the namespace's socket table.
  std::string sockets;
  ASSERT_EQ(lab_.exec(Where::kGateway, {"ss", "-Hltn", "sport = :" + std::to_string(kMetricsPort)},
                      &sockets),
            0);
  EXPECT_NE(sockets.find("127.0.0.1:" + std::to_string(kMetricsPort)), std::string::npos)
      << sockets;

  // The control plane's log: timed lines with levels, peer events, no secret.
  const std::string log = read_text(lab_.dir() + "/controlplane.log");
  SCOPED_TRACE("controlplane.log:\n" + log);
  EXPECT_NE(log.find(" info: metrics on " + url + "/metrics\n"), std::string::npos);
  EXPECT_NE(log.find(" info: peer remote up\n"), std::string::npos);
  EXPECT_NE(log.find(" debug: peer remote: handshake initiation sent"), std::string::npos);
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    // 2026-12-01T06:35:05.019Z info: ...
    ASSERT_GE(line.size(), 25u) << line;
    EXPECT_EQ(line[4], '-');
    EXPECT_EQ(line[10], 'T');
    EXPECT_EQ(line[23], 'Z') << line;
  }
  for (const char* secret_file : {"gateway.key", "psk.key", "remote.key"}) {
    const std::string key = trim(read_text(lab_.dir() + "/" + secret_file));
    ASSERT_EQ(key.size(), 44u) << secret_file;
    EXPECT_EQ(log.find(key), std::string::npos) << secret_file << " content is in the log";
    EXPECT_EQ(page.find(key), std::string::npos) << secret_file << " content is on the page";
    EXPECT_EQ(log.find(key.substr(0, 12)), std::string::npos)
        << secret_file << " prefix in the log";
  }
}

// SIGHUP re-reads `metrics:` and `log:`: the page moves to the new port (the
// old one is closed) and the new level holds from the reload on.
TEST_F(ObservabilityLab, ReloadMovesTheMetricsPortAndChangesTheLogLevel) {
  const std::string config_path = lab_.dir() + "/gateway.yaml";
  std::string config = read_text(config_path);
  const std::string old_section =
      "metrics:\n  port: " + std::to_string(kMetricsPort) + "\nlog:\n  level: debug\n";
  const size_t at = config.find(old_section);
  ASSERT_NE(at, std::string::npos) << config;
  const unsigned new_port = kMetricsPort + 1;
  config.replace(at, old_section.size(),
                 "metrics:\n  port: " + std::to_string(new_port) + "\nlog:\n  level: warning\n");
  std::ofstream(config_path, std::ios::trunc) << config;

  std::string error;
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGHUP, &error)) << error;
  const std::string new_url = "http://127.0.0.1:" + std::to_string(new_port) + "/metrics";
  std::string page;
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {  // the reload is asynchronous: wait for it
    served =
        lab_.exec(Where::kGateway, {"curl", "-sS", "-i", "--max-time", "5", new_url}, &page) == 0 &&
        page.rfind("HTTP/1.0 200 OK", 0) == 0;
    if (!served) sleep_ms(100);
  }
  ASSERT_TRUE(served) << "nothing on the new port after SIGHUP:\n" << page;
  std::string old;
  EXPECT_NE(lab_.exec(Where::kGateway,
                      {"curl", "-sS", "--max-time", "5",
                       "http://127.0.0.1:" + std::to_string(kMetricsPort) + "/metrics"},
                      &old),
            0)
      << "the old port still answers:\n"
      << old;

  // Traffic after the reload: an info line (a new handshake would log one)
  // must not appear at level warning; the reload's own summary is info too.
  std::string out;
  ASSERT_EQ(lab_.ping(Where::kLan, "10.8.1.2", 3, 10, &out), 0) << out;
  const std::string log = read_text(lab_.dir() + "/controlplane.log");
  SCOPED_TRACE("controlplane.log:\n" + log);
  const size_t moved = log.find(" info: metrics on " + new_url + "\n");
  ASSERT_NE(moved, std::string::npos);
  const std::string after = log.substr(moved);
  EXPECT_EQ(after.find(" info: reloaded "), std::string::npos);
  EXPECT_EQ(after.find(" debug: "), std::string::npos);
  EXPECT_TRUE(lab_.running(GatewayProcess::kControlplane));
}

}  // namespace
}  // namespace wirespeed::test::lab
