// Faults in the lab, the outer link's share (see faults_lab_test.cpp for the
// whole list): the gateway's veth end going down and up mid-transfer, and
// the remote moving while its link is down.
#include "tests/lab/faults_lab_fixture.hpp"

namespace wirespeed::test::lab {
namespace {

// The gateway's own end of the outer link goes down for 2 s in the middle
// of a transfer, then up: the dataplane (net_af_packet on that veth) lives
// on, the transfer resumes and arrives intact. Then short flaps, each
// followed by a single echo (to the gateway, through the tunnel) that must
// be answered.
TEST_F(FaultsLabTest, OuterLinkDownAndUpMidTransferSessionResumes) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  std::string error;
  Transfer transfer;
  ASSERT_TRUE(transfer.start(lab_, 50 * kMiB, 8.0 * kMiB, &error)) << error;
  ASSERT_TRUE(transfer.wait_received(10 * kMiB, 30000)) << "transfer did not get going";
  const int64_t handshakes_before = handshakes(show());

  ASSERT_TRUE(lab_.set_link(Where::kGateway, false, &error)) << error;
  sleep_ms(2000);
  const uint64_t at_up = transfer.received();
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane)) << "the dataplane died with its link";
  const auto up_at = Clock::now();
  ASSERT_TRUE(lab_.set_link(Where::kGateway, true, &error)) << error;
  const bool resumed = transfer.wait_received(at_up + 1 * kMiB, 30000);
  report("gateway's outer link down 2 s mid-transfer: 1 MiB more arrived " +
         std::to_string(ms_since(up_at)) + " ms after link up");
  EXPECT_TRUE(resumed) << "the transfer did not resume after link up";
  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;
  const ShowState state = show();
  EXPECT_EQ(handshakes(state), handshakes_before) << "the session should have survived:\n"
                                                  << state.text;

  // One packet each way after a flap, with nothing else to push it out.
  // The remote's ARP entry for the gateway is made permanent first, so that
  // each echo below is a single exchange: one request, one answer that the
  // gateway sends on its own (the main lcore's queue answers the echo to
  // 192.0.2.1; a worker's queue carries the tunnel's reply from the LAN
  // host). Before net_af_packet's TX rings were kicked (dataplane/app/
  // packet_socket_kick.hpp), such a lone answer stayed in the ring until
  // that queue's next packet: these pings then went unanswered.
  std::string out;
  ASSERT_EQ(lab_.ping(Where::kRemote, "192.0.2.1", 1, 5, &out), 0) << out;
  ASSERT_EQ(lab_.exec(Where::kRemote, {"ip", "-4", "neigh", "show", "192.0.2.1"}, &out), 0);
  const size_t lladdr = out.find("lladdr ");
  ASSERT_NE(lladdr, std::string::npos) << out;
  const std::string mac = out.substr(lladdr + 7, 17);
  ASSERT_EQ(lab_.exec(Where::kRemote,
                      {"ip", "neigh", "replace", "192.0.2.1", "lladdr", mac, "dev",
                       lab_.env("REMOTE_IF"), "nud", "permanent"},
                      &out),
            0)
      << out;
  for (const char* to : {"192.0.2.1", "10.8.0.2"}) {
    ASSERT_TRUE(lab_.set_link(Where::kGateway, false, &error)) << error;
    sleep_ms(500);
    ASSERT_TRUE(lab_.set_link(Where::kGateway, true, &error)) << error;
    const auto up_at = Clock::now();
    const int rc = lab_.exec(Where::kRemote, {"ping", "-n", "-c", "1", "-W", "3", to}, &out);
    report(std::string("0.5 s flap, then one echo to ") + to + ": " +
           (rc == 0 ? "answered after " + std::to_string(ms_since(up_at)) + " ms"
                    : std::string("unanswered")));
    EXPECT_EQ(rc, 0) << "a lone echo to " << to << " after the flap:\n" << out;
  }
  expect_ping(Where::kLan, "10.8.1.2");
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane));
  EXPECT_TRUE(lab_.running(GatewayProcess::kControlplane));
}

// While its link is down, the remote moves: new address (192.0.2.3) and
// new port (51821), as a host that changes network does. After link up its
// first packets carry the new endpoint and the gateway follows; then it
// moves back the same way and the gateway follows it back. The session
// survives both moves (no new handshake is needed: roaming is per packet).
TEST_F(FaultsLabTest, PeerMovesWhileItsLinkIsDownAndTheGatewayFollowsItThereAndBack) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  ASSERT_EQ(endpoint(show()), "192.0.2.2:51820");
  const std::string veth = lab_.env("REMOTE_IF");
  const std::string wg_if = lab_.env("WG_IF");
  std::string error, out;

  struct Place {
    const char* address;
    const char* port;
    const char* endpoint;
  };
  const Place there{"192.0.2.3", "51821", "192.0.2.3:51821"};
  const Place home{"192.0.2.2", "51820", "192.0.2.2:51820"};
  const Place* from = &home;
  for (const Place* to : {&there, &home}) {
    ASSERT_TRUE(lab_.set_link(Where::kRemote, false, &error)) << error;
    ASSERT_EQ(
        lab_.exec(Where::kRemote,
                  {"ip", "address", "del", std::string(from->address) + "/24", "dev", veth}, &out),
        0)
        << out;
    ASSERT_EQ(
        lab_.exec(Where::kRemote,
                  {"ip", "address", "add", std::string(to->address) + "/24", "dev", veth}, &out),
        0)
        << out;
    ASSERT_EQ(lab_.exec(Where::kRemote, {"wg", "set", wg_if, "listen-port", to->port}, &out), 0)
        << out;
    sleep_ms(1000);
    ASSERT_TRUE(lab_.set_link(Where::kRemote, true, &error)) << error;
    const double echo_ms = ms_until_ping(Where::kRemote, "10.8.0.2", kHandshakeTimeoutMs);
    ShowState state;
    EXPECT_TRUE(lab_.wait_for_show([&](const ShowState& s) { return endpoint(s) == to->endpoint; },
                                   5000, &state, &error))
        << "the gateway did not follow the peer to " << to->endpoint << ": " << error;
    report(std::string("remote moved to ") + to->endpoint +
           " while its link was down: first echo " + std::to_string(echo_ms) +
           " ms after link up, gateway's endpoint now " + endpoint(state));
    EXPECT_GE(echo_ms, 0);
    expect_ping(Where::kLan, "10.8.1.2");  // the gateway sends to where the peer is now
    from = to;
  }
  EXPECT_EQ(handshakes(show()), 1) << "roaming should not need a new handshake";
}

}  // namespace
}  // namespace wirespeed::test::lab
