// The gateway in the lab: wirespeed-dataplane and wirespeed-controlplane in
// a network namespace between a LAN host (net_tap) and Debian's wireguard-go
// (net_af_packet on a veth), built by scripts/lib/lab.sh. Every test makes
// its own lab and removes it, whatever happens (GatewayLab is RAII); a failed
// test keeps the lab's directory (logs, config) and prints where.
//
// Traffic is real: ping, and a 50 MiB file over TCP whose SHA-256 is checked
// on arrival (scripts/lib/lab_traffic.py). Mid-transfer events (roaming,
// rekey, control-plane crash) happen while the file is in flight: the sender
// is paced so that it takes several seconds.
//
// Needs root, the tools scripts/setup.sh installs, free hugepages and the two
// gateway binaries in the build under test; a missing one fails the test
// with its name.
#include "tests/lab/gateway_lab.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/lab/lab_fixture.hpp"
#include "tests/lab/wireguard_go_peer.hpp"

namespace wirespeed::test::lab {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kFileBytes = 50 * kMiB;
// Paced transfers take about 6 s; events are injected after kEventAfter bytes.
constexpr double kPacedRate = 8.0 * kMiB;
constexpr uint64_t kEventAfter = 10 * kMiB;
constexpr int kTransferTimeoutMs = 120 * 1000;
constexpr int kHandshakeTimeoutMs = 10 * 1000;

// The lab topology alone: no gateway binaries needed.
TEST(GatewayLabTopology, UpAndDownLeaveNothingBehind) {
  const std::string missing = GatewayLab::missing_tools();
  ASSERT_TRUE(missing.empty()) << "lab prerequisites missing:" << missing;
  std::string tag, dir, wg_if, error, out;
  {
    GatewayLab lab;
    ASSERT_TRUE(lab.up(LabOptions{.preshared_key = true}, &error)) << error;
    tag = lab.tag();
    dir = lab.dir();
    wg_if = lab.env("WG_IF");
    ASSERT_EQ(run_command({"ip", "netns", "list"}, &out), 0);
    for (const auto where : {Where::kGateway, Where::kRemote, Where::kLan}) {
      EXPECT_NE(out.find(lab.namespace_of(where)), std::string::npos) << out;
    }
    // The remote: wireguard-go with our gateway as its peer, the outer veth
    // end addressed, checksums finished in software.
    ASSERT_EQ(lab.exec(Where::kRemote, {"wg", "show", wg_if}, &out), 0) << out;
    EXPECT_NE(out.find("peer: " + lab.env("GW_PUB")), std::string::npos) << out;
    EXPECT_NE(out.find("preshared key: (hidden)"), std::string::npos) << out;
    EXPECT_NE(out.find("endpoint: 192.0.2.1:51820"), std::string::npos) << out;
    ASSERT_EQ(lab.exec(Where::kRemote,
                       {"ip", "-br", "address", "show", "dev", lab.env("REMOTE_IF")}, &out),
              0);
    EXPECT_NE(out.find("192.0.2.2/24"), std::string::npos) << out;
    EXPECT_NE(out.find("2001:db8::2/64"), std::string::npos) << out;
    ASSERT_EQ(lab.exec(Where::kRemote, {"ethtool", "-k", lab.env("REMOTE_IF")}, &out), 0);
    EXPECT_NE(out.find("tx-checksumming: off"), std::string::npos) << out;
    // The gateway side of the veth carries no address and no IPv6.
    ASSERT_EQ(lab.exec(Where::kGateway,
                       {"ip", "-br", "address", "show", "dev", lab.env("OUTER_IF")}, &out),
              0);
    EXPECT_EQ(out.find("192.0.2."), std::string::npos) << out;
    EXPECT_EQ(out.find("fe80:"), std::string::npos) << out;
    // The gateway's config and keys.
    const std::string config = dir + "/gateway.yaml";
    struct stat st {};
    ASSERT_EQ(stat(config.c_str(), &st), 0) << config;
    for (const char* key : {"/gateway.key", "/remote.key", "/psk.key"}) {
      ASSERT_EQ(stat((dir + key).c_str(), &st), 0) << key;
      EXPECT_EQ(st.st_mode & 0777, 0600u) << key;
    }
    ASSERT_EQ(run_command({"grep", "-c", "public_key: " + lab.env("REMOTE_PUB"), config}, &out), 0)
        << out;
  }
  ASSERT_EQ(run_command({"ip", "netns", "list"}, &out), 0);
  for (const std::string prefix : {"gw-", "remote-", "lan-"}) {
    EXPECT_EQ(out.find(prefix + tag + " "), std::string::npos) << out;
    EXPECT_EQ(out.find(prefix + tag + "\n"), std::string::npos) << out;
  }
  struct stat st {};
  EXPECT_NE(stat(("/run/wirespeed-lab/" + tag).c_str(), &st), 0) << "lab still recorded";
  EXPECT_NE(stat(("/var/run/wireguard/" + wg_if + ".sock").c_str(), &st), 0)
      << "wireguard-go socket left";
  EXPECT_NE(stat(dir.c_str(), &st), 0) << "lab directory left: " << dir;
}

class GatewayLabTest : public LabTest {
 protected:
  // Waits until the gateway has completed more than `than` handshakes with the remote.
  void expect_handshakes_above(int64_t than) {
    ShowState state;
    std::string error;
    EXPECT_TRUE(lab_.wait_for_show([&](const ShowState& s) { return handshakes(s) > than; },
                                   kHandshakeTimeoutMs, &state, &error))
        << "no handshake beyond " << than << ": " << error;
  }
};

TEST_F(GatewayLabTest, PingIpv4AndIpv6InnerOverIpv4Outer) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kLan, "fd00:1::2");
  expect_ping(Where::kRemote, "10.8.0.2");
  expect_ping(Where::kRemote, "fd00:8::2");
  const ShowState state = show();
  EXPECT_EQ(endpoint(state), "192.0.2.2:51820") << state.text;
  EXPECT_GE(handshakes(state), 1) << state.text;
  // 4 pings of 3 requests and 3 replies each, in each direction.
  EXPECT_GE(state.peer_number(remote_key(), "rx_packets"), 12) << state.text;
  EXPECT_GE(state.peer_number(remote_key(), "tx_packets"), 12) << state.text;
  EXPECT_GE(state.counter("decrypted"), 12u) << state.text;
  EXPECT_GE(state.counter("encrypted"), 12u) << state.text;
}

TEST_F(GatewayLabTest, PingIpv4InnerOverIpv6Outer) {
  ASSERT_NO_FATAL_FAILURE(start({.outer = OuterFamily::kIpv6}));
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");
  const ShowState state = show();
  EXPECT_EQ(endpoint(state), "[2001:db8::2]:51820") << state.text;
  EXPECT_GE(handshakes(state), 1) << state.text;
}

// Only the gateway knows where its peer is: a LAN packet makes it initiate.
TEST_F(GatewayLabTest, GatewayInitiatesTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(start({.remote_knows_endpoint = false}));
  const ShowState before = show();
  EXPECT_EQ(handshakes(before), 0) << before.text;
  expect_ping(Where::kLan, "10.8.1.2");
  EXPECT_GE(handshakes(show()), 1);
  // wireguard-go learnt our endpoint from the initiation.
  std::string out;
  ASSERT_EQ(lab_.exec(Where::kRemote, {"wg", "show", lab_.env("WG_IF"), "endpoints"}, &out), 0)
      << out;
  EXPECT_NE(out.find(lab_.env("GW_PUB") + "\t192.0.2.1:51820"), std::string::npos) << out;
}

// Only the remote knows where the gateway is: it initiates, the gateway
// responds and learns the endpoint.
TEST_F(GatewayLabTest, RemoteInitiatesTheHandshake) {
  ASSERT_NO_FATAL_FAILURE(start({.gateway_knows_endpoint = false}));
  const ShowState before = show();
  EXPECT_EQ(endpoint(before), "none") << before.text;
  EXPECT_EQ(handshakes(before), 0) << before.text;
  expect_ping(Where::kRemote, "10.8.0.2");
  const ShowState after = show();
  EXPECT_EQ(endpoint(after), "192.0.2.2:51820") << after.text;
  EXPECT_GE(handshakes(after), 1) << after.text;
  expect_ping(Where::kLan, "10.8.1.2");
}

// Both sides hold the same PSK: a gateway that left it out of the handshake
// would not agree with wireguard-go on a single key.
TEST_F(GatewayLabTest, PresharedKey) {
  ASSERT_NO_FATAL_FAILURE(start({.preshared_key = true}));
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "fd00:8::2");
  EXPECT_GE(handshakes(show()), 1);
}

TEST_F(GatewayLabTest, FileOverTcpArrivesWithTheSameSha256) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  Transfer transfer;
  std::string error;
  ASSERT_TRUE(transfer.start(lab_, kFileBytes, 0, &error)) << error;
  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;
  EXPECT_GE(show().counter("encrypted"), kFileBytes / 1420)
      << "the file went through the gateway's encap";
}

// wireguard-go moves to another source port while it sends a file; the
// gateway must follow the latest authenticated source, or the TCP ACKs it
// sends back go to the closed port and the transfer stalls. (The peer that
// moves must be the one talking: a silent peer announces nothing.)
TEST_F(GatewayLabTest, PeerRoamsToANewSourcePortMidTransfer) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  Transfer transfer;
  std::string error, out;
  ASSERT_TRUE(transfer.start(lab_, kFileBytes, kPacedRate, &error, Where::kRemote)) << error;
  ASSERT_TRUE(transfer.wait_received(kEventAfter, 30000))
      << "transfer did not get going; " << transfer.received() << " bytes arrived";
  EXPECT_EQ(endpoint(show()), "192.0.2.2:51820");
  ASSERT_EQ(
      lab_.exec(Where::kRemote, {"wg", "set", lab_.env("WG_IF"), "listen-port", "51821"}, &out), 0)
      << out;
  EXPECT_LT(transfer.received(), kFileBytes) << "the transfer ended before the port changed";
  // The next data message names the new port; waiting for wireguard-go's own
  // recovery (a new handshake after 15 s of silence) is not roaming.
  ShowState state;
  EXPECT_TRUE(lab_.wait_for_show(
      [&](const ShowState& s) { return endpoint(s) == "192.0.2.2:51821"; }, 5000, &state, &error))
      << "the gateway did not follow the peer to port 51821: " << error;
  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;
  EXPECT_EQ(endpoint(show()), "192.0.2.2:51821");
}

// wireguard-go is restarted (same keys, no session): its next packet brings
// a new handshake, which the gateway accepts.
TEST_F(GatewayLabTest, PeerRestartsAndANewHandshakeFollows) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  const int64_t before = handshakes(show());
  ASSERT_GE(before, 1);
  std::string error;
  ASSERT_TRUE(lab_.restart_remote(&error)) << error;
  expect_ping(Where::kRemote, "10.8.0.2");
  expect_handshakes_above(before);
  expect_ping(Where::kLan, "10.8.1.2");
}

// The remote sends from 10.99.0.1, an address outside the gateway's allowed
// IPs for it: wireguard-go encrypts it (10.8.0.0/24 is allowed on its side),
// the gateway decrypts it and must drop it, count it, and not forward it.
TEST_F(GatewayLabTest, SourceOutsideAllowedIpsIsDroppedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  std::string out;
  ASSERT_EQ(lab_.exec(Where::kRemote,
                      {"ip", "address", "add", "10.99.0.1/32", "dev", lab_.env("WG_IF")}, &out),
            0)
      << out;
  Background capture = lab_.spawn(
      Where::kLan, {"tcpdump", "-n", "-l", "-i", lab_.env("TAP_IF"), "src", "host", "10.99.0.1"},
      "tcpdump-lan");
  for (int i = 0; i < 100 && capture.output().find("listening on") == std::string::npos; ++i)
    sleep_ms(50);
  ASSERT_NE(capture.output().find("listening on"), std::string::npos) << capture.output();
  const ShowState before = show();

  EXPECT_NE(lab_.ping(Where::kRemote, "10.8.0.2", 5, 3, &out, "10.99.0.1"), 0) << "got replies:\n"
                                                                               << out;
  sleep_ms(500);
  const ShowState after = show();
  EXPECT_GE(after.drop("source_not_allowed"), before.drop("source_not_allowed") + 5) << after.text;
  capture.signal(SIGINT);
  capture.wait(3000);
  EXPECT_NE(capture.output().find("\n0 packets captured"), std::string::npos)
      << "the LAN host received packets from 10.99.0.1:\n"
      << capture.output();
  expect_ping(Where::kRemote, "10.8.0.2");
}

// SIGUSR1 makes the control plane initiate now; the session changes keys
// under a running transfer without losing a packet to the change.
TEST_F(GatewayLabTest, ForcedRekeyMidTransferLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  Transfer transfer;
  std::string error;
  ASSERT_TRUE(transfer.start(lab_, kFileBytes, kPacedRate, &error)) << error;
  ASSERT_TRUE(transfer.wait_received(kEventAfter, 30000))
      << "transfer did not get going; " << transfer.received() << " bytes arrived";
  const ShowState before = show();
  ASSERT_GE(handshakes(before), 1) << before.text;
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGUSR1, &error)) << error;
  expect_handshakes_above(handshakes(before));
  EXPECT_LT(transfer.received(), kFileBytes) << "the rekey did not happen mid-transfer";
  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;
  // Drops a botched key change would cause.
  const ShowState after = show();
  for (const char* reason :
       {"unknown_receiver_index", "bad_mac", "no_keypair", "keypair_expired", "stage_full"}) {
    EXPECT_EQ(after.drop(reason), before.drop(reason)) << reason << "\n" << after.text;
  }
}

// The data path survives its control plane: SIGKILL mid-transfer, the file
// still arrives intact; a restarted control plane re-attaches and can make a
// new handshake.
TEST_F(GatewayLabTest, ControlPlaneKilledMidTransferThenRestarted) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  Transfer transfer;
  std::string error;
  ASSERT_TRUE(transfer.start(lab_, kFileBytes, kPacedRate, &error)) << error;
  ASSERT_TRUE(transfer.wait_received(kEventAfter, 30000))
      << "transfer did not get going; " << transfer.received() << " bytes arrived";
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGKILL, &error)) << error;
  for (int i = 0; i < 50 && lab_.running(GatewayProcess::kControlplane); ++i) sleep_ms(20);
  ASSERT_FALSE(lab_.running(GatewayProcess::kControlplane))
      << "SIGKILL did not stop the control plane";
  EXPECT_LT(transfer.received(), kFileBytes) << "the kill did not happen mid-transfer";
  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane))
      << "the dataplane died with its control plane";

  ASSERT_TRUE(lab_.start_controlplane(&error)) << error;
  const ShowState restarted = show();
  const int64_t before = handshakes(restarted);
  ASSERT_GE(before, 0) << "the restarted control plane shows no peer record:\n" << restarted.text;
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGUSR1, &error)) << error;
  expect_handshakes_above(before);
  expect_ping(Where::kLan, "10.8.1.2");
}

// Garbage at the listen port, over IPv4 and IPv6: dropped, counted under a
// reason, nothing crashes, the tunnel still works.
TEST_F(GatewayLabTest, MalformedPacketsAtTheListenPortAreDroppedAndCounted) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");  // a live session: data messages have a table to miss
  const ShowState before = show();
  std::map<std::string, uint64_t> sent;
  const std::string script = source_root() + "/scripts/lib/lab_traffic.py";
  int seed = 1;
  for (const char* to : {"192.0.2.1", "2001:db8::1"}) {
    std::string out;
    ASSERT_EQ(lab_.exec(Where::kRemote,
                        {"python3", script, "malformed", "--to", to, "--port", "51820", "--seed",
                         std::to_string(seed++)},
                        &out),
              0)
        << out;
    std::istringstream lines(out);
    std::string category;
    uint64_t count = 0;
    while (lines >> category >> count) sent[category] += count;
  }
  ASSERT_GT(sent["total"], 0u);
  sleep_ms(500);
  const ShowState after = show();
  const auto delta = [&](const char* reason) { return after.drop(reason) - before.drop(reason); };
  const uint64_t bad = sent["short"] + sent["wrong_type"] + sent["wrong_size"] + sent["random"];
  EXPECT_GE(delta("malformed") + delta("bad_message"), bad)
      << "short, wrong type, wrong size and random datagrams: " << bad << " sent\n"
      << after.text;
  EXPECT_GE(delta("unknown_receiver_index"), sent["unknown_index"]) << after.text;
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane)) << "the dataplane died";
  EXPECT_TRUE(lab_.running(GatewayProcess::kControlplane)) << "the control plane died";
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");
}

}  // namespace
}  // namespace wirespeed::test::lab
