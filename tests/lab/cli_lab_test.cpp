// The `wirespeed` command against the running lab gateway:
//   show --json   parses (python3's json), names the lab's interface, port,
//                 peer and ports; the peer's counters grow with pings that
//                 were sent; every drop reason is there; the rings and the
//                 mbuf pool are found; the pids are the gateway's
//   show          the text form names the same things
//   show --watch  one JSON document per line until SIGINT, then exit 0
//   reload        validates the file, finds the control plane by its UAPI
//                 socket and SIGHUPs it: an added peer appears, the existing
//                 peer keeps its session; without the socket it finds it
//                 through shared memory; an invalid file is refused before
//                 anything is signalled (exit 2, the control plane never
//                 hears of it)
//
// Needs what gateway_lab_test needs, plus python3 and the `wirespeed` binary
// of the build under test; a missing one fails with its name.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/lab/gateway_lab.hpp"
#include "tests/lab/lab_fixture.hpp"
#include "tests/lab/wireguard_go_peer.hpp"

namespace wirespeed::test::lab {
namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The facts the tests read out of one `show --json` document, extracted by
// python3 so that the document is parsed by a real JSON parser.
constexpr const char* kExtract = R"PY(
import json, sys
d = json.load(open(sys.argv[1]))
i = d["interface"]
print("name", i["name"])
print("listen_port", i["listen_port"])
print("dataplane_pid", i["dataplane_pid"])
print("controlplane_pid", i["controlplane_pid"])
print("peers", len(d["peers"]))
for p in d["peers"]:
    k = p["public_key"]
    print("peer_name", k, p["name"])
    print("peer_rx_packets", k, p["rx_packets"])
    print("peer_tx_packets", k, p["tx_packets"])
    print("peer_handshakes", k, p["handshakes"])
    print("peer_handshake_seen", k, p["latest_handshake_age_ms"] is not None)
    print("peer_current", k, any(x["role"] == "current" for x in p["keypairs"]))
print("drops", " ".join(sorted(d["drops"])))
print("lcores", len(d["lcores"]))
print("ports", " ".join(p["role"] + "=" + p["name"] for p in d["ports"]))
print("outer_rx", d["ports"][0]["rx_packets"])
print("rings", " ".join(sorted(r["name"] for r in d["rings"])))
m = d["mempool"]
print("mempool", m is not None and m["size"] > 0 and m["in_use"] + m["available"] == m["size"])
)PY";

class CliLabTest : public LabTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(LabTest::SetUp());
    ASSERT_EQ(run_command({"sh", "-c", "command -v python3"}), 0)
        << "python3 is not installed (the test parses show --json with it)";
    bin_ = build_root() + "/controlplane/cli/wirespeed";
    ASSERT_EQ(access(bin_.c_str(), X_OK), 0) << bin_ << " is missing: build the wirespeed target";
    std::string error;
    ASSERT_TRUE(lab_.up({}, &error)) << error;
    ASSERT_TRUE(lab_.start_gateway(&error)) << error;
    config_ = lab_.dir() + "/gateway.yaml";
    remote_ = lab_.env("REMOTE_PUB");
  }

  // `wirespeed ARGS` in the gateway's namespace; stdout only in *out (stderr
  // goes to DIR/cli.err, returned in *err).
  int wirespeed(const std::string& args, std::string* out, std::string* err = nullptr) {
    const std::string err_path = lab_.dir() + "/cli.err";
    const int rc =
        lab_.exec(Where::kGateway, {"sh", "-c", bin_ + " " + args + " 2>" + err_path}, out);
    if (err != nullptr) *err = read_text(err_path);
    return rc;
  }

  // show --json, parsed: "key" or "key PUBLIC_KEY" -> value.
  std::map<std::string, std::string> show_json() {
    std::string json, err;
    EXPECT_EQ(wirespeed("show --json --config " + config_, &json, &err), 0) << err;
    const std::string path = lab_.dir() + "/show.json";
    std::ofstream(path) << json;
    std::string facts;
    EXPECT_EQ(run_command({"python3", "-c", kExtract, path}, &facts), 0)
        << "show --json is not the JSON expected:\n"
        << facts << "\n"
        << json;
    std::map<std::string, std::string> out;
    std::istringstream lines(facts);
    for (std::string line; std::getline(lines, line);) {
      const size_t sp = line.find(' ');
      std::string key = line.substr(0, sp),
                  rest = sp == std::string::npos ? "" : line.substr(sp + 1);
      if (key.starts_with("peer_")) {
        const size_t sp2 = rest.find(' ');
        key += ' ';  // piecewise: `" " + std::string` trips GCC bug 105329 at -O3
        key += rest.substr(0, sp2);
        rest = sp2 == std::string::npos ? "" : rest.substr(sp2 + 1);
      }
      out[key] = rest;
    }
    json_ = json;
    return out;
  }

  uint64_t number(const std::map<std::string, std::string>& facts, const std::string& key) {
    auto it = facts.find(key);
    EXPECT_NE(it, facts.end()) << key << " missing from show --json:\n" << json_;
    return it == facts.end() ? 0 : std::stoull(it->second);
  }

  std::string pid_file(const std::string& name) {
    return trim(read_text(lab_.dir() + "/" + name + ".pid"));
  }

  void expect_lan_ping(int count) {
    std::string out;
    EXPECT_EQ(lab_.ping(Where::kLan, "10.8.1.2", count, 10, &out), 0) << out;
  }

  std::string bin_, config_, remote_, json_;
};

TEST_F(CliLabTest, ShowJsonTextAndWatch) {
  expect_lan_ping(3);
  auto facts = show_json();
  EXPECT_EQ(facts["name"], lab_.env("GW_NAME"));
  EXPECT_NE(read_text(config_).find("listen_port: " + facts["listen_port"] + "\n"),
            std::string::npos)
      << "listen_port " << facts["listen_port"] << " is not the config's";
  EXPECT_EQ(facts["dataplane_pid"], pid_file("dataplane"));
  EXPECT_EQ(facts["controlplane_pid"], pid_file("controlplane"));
  EXPECT_EQ(facts["peers"], "1");
  EXPECT_EQ(facts["peer_name " + remote_], "remote");
  EXPECT_EQ(facts["peer_handshake_seen " + remote_], "True");
  EXPECT_EQ(facts["peer_current " + remote_], "True");
  const uint64_t rx = number(facts, "peer_rx_packets " + remote_);
  const uint64_t tx = number(facts, "peer_tx_packets " + remote_);
  EXPECT_GE(rx, 3u) << "three echo replies came back through the tunnel";
  EXPECT_GE(tx, 3u) << "three echo requests went out through the tunnel";
  EXPECT_EQ(facts["lcores"], "2") << "the main lcore and one worker";
  EXPECT_EQ(facts["ports"], "outer=net_af_packet0 inner=net_tap0");
  EXPECT_EQ(facts["rings"], "ws_commands ws_events ws_punt");
  EXPECT_EQ(facts["mempool"], "True");
  // Every reason, by its name: 25 of them as abi.hpp lists them.
  const std::string drops = facts["drops"];
  for (const char* name : {"malformed", "truncated", "bad_ip_length", "fragment", "vlan", "replay",
                           "bad_mac", "source_not_allowed", "no_route", "no_keypair", "stage_full",
                           "ring_full", "mbuf_exhausted", "tx_full"}) {
    EXPECT_NE((" " + drops + " ").find(std::string(" ") + name + " "), std::string::npos) << name;
  }

  // Five more pings: the counters grew by at least that.
  expect_lan_ping(5);
  facts = show_json();
  EXPECT_GE(number(facts, "peer_rx_packets " + remote_), rx + 5);
  EXPECT_GE(number(facts, "peer_tx_packets " + remote_), tx + 5);

  std::string text, err;
  ASSERT_EQ(wirespeed("show --config " + config_, &text, &err), 0) << err;
  EXPECT_NE(text.find("interface: " + lab_.env("GW_NAME") + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  public key: " + lab_.env("GW_PUB") + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("peer: " + remote_ + " (remote)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  keypair current "), std::string::npos) << text;
  EXPECT_NE(text.find("\n  bad_mac "), std::string::npos) << text;
  std::cout << "--- wirespeed show ---\n" << text << std::endl;

  // --watch: documents keep coming until SIGINT, then a clean exit.
  Background watch =
      lab_.spawn(Where::kGateway, {bin_, "show", "--json", "--watch", "0.2", "--config", config_},
                 "cli-watch");
  ASSERT_TRUE(watch.started());
  for (int i = 0; i < 100 && count_of(watch.output(), "\n") < 3; ++i) sleep_ms(100);
  ASSERT_GE(count_of(watch.output(), "\n"), 3u) << watch.output();
  ASSERT_TRUE(watch.signal(SIGINT));
  EXPECT_EQ(watch.wait(10000), 0) << watch.output();
  std::string parsed;
  EXPECT_EQ(
      run_command(
          {"python3", "-c",
           "import json,sys\nn=0\nfor l in open(sys.argv[1]):\n json.loads(l); n+=1\nprint(n)",
           watch.log_path()},
          &parsed),
      0)
      << parsed << watch.output();
  EXPECT_GE(std::stoi(parsed.empty() ? "0" : parsed), 3);
}

TEST_F(CliLabTest, ReloadAddsAPeerAndRefusesAnInvalidFile) {
  expect_lan_ping(3);
  const uint64_t hs = number(show_json(), "peer_handshakes " + remote_);
  ASSERT_GE(hs, 1u);
  const std::string original = read_text(config_);
  const std::string log_path = lab_.dir() + "/controlplane.log";
  const size_t log_start = read_text(log_path).size();
  const auto log_since = [&] { return read_text(log_path).substr(log_start); };
  const auto wait_log = [&](const std::string& what) {
    for (int i = 0; i < 100; ++i) {
      if (log_since().find(what) != std::string::npos) return true;
      sleep_ms(50);
    }
    return false;
  };

  std::string extra_pub, out, err;
  ASSERT_EQ(run_command({"sh", "-c", bin_ + " genkey | " + bin_ + " pubkey"}, &extra_pub), 0)
      << extra_pub;
  extra_pub = trim(extra_pub);
  std::ofstream(config_) << original << "  - name: extra\n    public_key: " << extra_pub
                         << "\n    allowed_ips: [\"10.8.5.0/24\"]\n";
  ASSERT_EQ(wirespeed("reload --config " + config_, &out, &err), 0) << out << err;
  EXPECT_EQ(out, "wirespeed reload: sent SIGHUP to wirespeed-controlplane (pid " +
                     pid_file("controlplane") + ") of " + lab_.env("GW_NAME") +
                     "; its log says what changed\n");
  EXPECT_EQ(err, "");
  ASSERT_TRUE(wait_log("reloaded ")) << log_since();
  auto facts = show_json();
  EXPECT_EQ(facts["peers"], "2");
  EXPECT_EQ(facts["peer_name " + extra_pub], "extra");
  expect_lan_ping(3);
  EXPECT_EQ(number(show_json(), "peer_handshakes " + remote_), hs)
      << "the reload made the unchanged peer handshake again";

  // Without the UAPI socket (moved aside), the pid comes from the shared
  // state's header instead; the same control plane gets the signal.
  const std::string socket = "/var/run/wireguard/" + lab_.env("GW_NAME") + ".sock";
  ASSERT_EQ(rename(socket.c_str(), (socket + ".aside").c_str()), 0) << socket;
  const size_t reloads = count_of(log_since(), "reloaded ");
  const int rc = wirespeed("reload --config " + config_, &out, &err);
  ASSERT_EQ(rename((socket + ".aside").c_str(), socket.c_str()), 0) << socket;
  EXPECT_EQ(rc, 0) << out << err;
  EXPECT_NE(
      out.find("sent SIGHUP to wirespeed-controlplane (pid " + pid_file("controlplane") + ")"),
      std::string::npos)
      << out << err;
  for (int i = 0; i < 100 && count_of(log_since(), "reloaded ") == reloads; ++i) sleep_ms(50);
  EXPECT_EQ(count_of(log_since(), "reloaded "), reloads + 1) << log_since();

  // Invalid: refused by `wirespeed reload` itself; nothing reaches the
  // control plane (no new SIGHUP line in its log).
  const size_t sighups = count_of(log_since(), "SIGHUP");
  const std::string valid = read_text(config_);
  std::ofstream(config_) << valid << "colour: blue\n";
  EXPECT_EQ(wirespeed("reload --config " + config_, &out, &err), 2) << out << err;
  EXPECT_EQ(out, "");
  EXPECT_NE(err.find(config_ + ":"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown top-level key \"colour\""), std::string::npos) << err;
  EXPECT_NE(err.find("not reloading: the file is invalid"), std::string::npos) << err;
  sleep_ms(500);  // a signal, had one been sent, would be logged by now; absence is what we check
  EXPECT_EQ(count_of(log_since(), "SIGHUP"), sighups) << log_since();
  std::ofstream(config_) << valid;
  EXPECT_TRUE(lab_.running(GatewayProcess::kControlplane));
  EXPECT_EQ(show_json()["peers"], "2");
  std::cout << "--- controlplane log since the test's reloads ---\n" << log_since() << std::endl;
}

}  // namespace
}  // namespace wirespeed::test::lab
