// Faults in the lab (issue 6): the gateway's processes killed, restarted and
// started out of order, and the outer link going down and up, each with
// real traffic through wireguard-go afterwards. Built on the gateway lab
// (tests/lab/gateway_lab.hpp, scripts/lib/lab.sh); every test makes and
// removes its own lab, and a failed one keeps the lab's directory.
//
//   ControlPlaneStartedBeforeTheDataplane   waits (log line), attaches when it comes;
//                                           --wait-dataplane 0/1: exits 1, says why
//   DataplaneKilled...                      the control plane exits within 2 s with
//                                           its message; both restarted: peer back
//   DataplaneStopped...                     SIGTERM: the control plane goes first
//   DataplaneFrozen...                      SIGSTOP: the heartbeat names it; a new
//                                           control plane resumes the tunnel
//   ControlPlaneRestartedWhile...Initiation a handshake in flight across a restart
//   ControlPlaneRestarted20TimesInARow      no leak, no duplicate peer, traffic intact
//   OuterLinkDownAndUp...                   the gateway's veth end flaps mid-transfer
//   PeerMovesWhileItsLinkIsDown...          the remote changes address and port while
//                                           down; the gateway follows it there and back
//
// The last two live in faults_link_lab_test.cpp, the fixture in
// faults_lab_fixture.hpp.
//
// Tests assert outcomes. Times are printed ("faults: ..." lines), never
// asserted, except the one bound the issue states: the control plane must
// notice a dead dataplane "within a second"; the test allows 2 s (see there)
// and reads the time it noticed from its log line.
//
// Needs what gateway_lab_test needs (root, scripts/setup.sh's tools, free
// hugepages, the gateway binaries); a missing one fails the test by name.
#include "tests/lab/faults_lab_fixture.hpp"

namespace wirespeed::test::lab {
namespace {

// Started with no dataplane: with --wait-dataplane 0 (or a wait that runs
// out) it exits 1 naming the file prefix; SIGTERM ends a wait cleanly; by
// default it waits, says so once, and attaches when the dataplane comes.
TEST_F(FaultsLabTest, ControlPlaneStartedBeforeTheDataplane) {
  ASSERT_NO_FATAL_FAILURE(up({}));
  const std::string prefix = lab_.env("FILE_PREFIX");
  std::string error;

  std::string out;
  EXPECT_EQ(run_controlplane({"--wait-dataplane", "0"}, 5000, &out), 1) << out;
  EXPECT_NE(out.find("wirespeed-controlplane: no dataplane is running with file prefix " + prefix +
                     " (nothing holds /var/run/dpdk/" + prefix +
                     "/config); start "
                     "wirespeed-dataplane with this config first"),
            std::string::npos)
      << out;

  auto start = Clock::now();
  std::string timed_out;
  EXPECT_EQ(run_controlplane({"--wait-dataplane", "1"}, 10000, &timed_out), 1) << timed_out;
  report("--wait-dataplane 1 with no dataplane: exited after " + std::to_string(ms_since(start)) +
         " ms");
  EXPECT_NE(
      timed_out.find("info: waiting for the dataplane (file prefix " + prefix + "), up to 1 s"),
      std::string::npos)
      << timed_out;
  EXPECT_NE(timed_out.find("no dataplane is running with file prefix " + prefix +
                           ": none started within 1 s"),
            std::string::npos)
      << timed_out;

  ASSERT_TRUE(lab_.launch_controlplane({}, &error)) << error;
  ASSERT_TRUE(wait_log("waiting for the dataplane (file prefix " + prefix + ")", 5000))
      << lab_.log(GatewayProcess::kControlplane);
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGTERM, &error)) << error;
  ASSERT_TRUE(lab_.wait_exited(GatewayProcess::kControlplane, 3000))
      << "SIGTERM did not end the wait";
  EXPECT_EQ(lab_.exit_status(GatewayProcess::kControlplane), 0);

  // The default: wait (60 s), then attach to the dataplane that comes.
  ASSERT_TRUE(lab_.launch_controlplane({}, &error)) << error;
  ASSERT_TRUE(wait_log("waiting for the dataplane (file prefix " + prefix + ")", 5000))
      << lab_.log(GatewayProcess::kControlplane);
  sleep_ms(1500);
  ASSERT_TRUE(lab_.running(GatewayProcess::kControlplane))
      << lab_.log(GatewayProcess::kControlplane);
  start = Clock::now();
  ASSERT_TRUE(lab_.start_dataplane(&error)) << error;
  const double dataplane_ms = ms_since(start);
  ASSERT_TRUE(wait_log("info: ready", 15000)) << lab_.log(GatewayProcess::kControlplane);
  report("control plane started first: ready " + std::to_string(ms_since(start)) +
         " ms after the dataplane was started (" + std::to_string(dataplane_ms) +
         " ms of which the dataplane's own start-up)");
  const std::string log = lab_.log(GatewayProcess::kControlplane);
  EXPECT_NE(log.find("the dataplane (file prefix " + prefix + ") started after "),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("error"), std::string::npos) << log;
  const ShowState state = show();
  EXPECT_EQ(state.interface.count("controlplane_pid") ? state.interface.at("controlplane_pid") : "",
            std::to_string(lab_.pid(GatewayProcess::kControlplane)))
      << state.text;
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");
}

// SIGKILL to the dataplane: the control plane notices and exits 1 with a
// message; a control plane started now finds no dataplane (the DPDK runtime
// directory is still there: the lock tells); starting both again brings the
// peer back, no manual step.
TEST_F(FaultsLabTest, DataplaneKilledThenBothRestartedBringThePeerBack) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  const pid_t old_dataplane = lab_.pid(GatewayProcess::kDataplane);
  std::string error;

  const auto killed = Clock::now();
  const double killed_ms_of_day = wall_ms_of_day();
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kDataplane, SIGKILL, &error)) << error;
  const bool exited = lab_.wait_exited(GatewayProcess::kControlplane, 5000);
  const double exit_ms = ms_since(killed);
  const std::string log = lab_.log(GatewayProcess::kControlplane);
  const std::string message = "error: the dataplane has exited (dataplane pid " +
                              std::to_string(old_dataplane) + ", file prefix " +
                              lab_.env("FILE_PREFIX") + "); exiting";
  const size_t at = log.find(message);
  ASSERT_NE(at, std::string::npos) << log;
  // The log line's own time (ISO 8601, ms) says when it noticed.
  const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
  double noticed_ms = log_ms_of_day(log.substr(line, at - line)) - killed_ms_of_day;
  if (noticed_ms < -43200000) noticed_ms += 86400000;  // midnight in between
  report("dataplane SIGKILLed: the control plane logged its exit " + std::to_string(noticed_ms) +
         " ms later, and had exited itself after " + std::to_string(exit_ms) + " ms");
  // The issue: "notices within a second". It checks every 50 ms (and takes
  // ~50 ms here when idle); 2 s, and 5 s for the exit, leave room for a
  // 2-core runner loaded by parallel builds (seen: 1.4 s at load 24).
  EXPECT_LT(noticed_ms, 2000) << log;
  ASSERT_TRUE(exited) << "the control plane still runs 5 s after the dataplane died:\n" << log;
  EXPECT_EQ(lab_.exit_status(GatewayProcess::kControlplane), 1);
  // A SIGKILLed dataplane drops its lock early in its exit; unmapping its
  // hugepages and closing its tap take longer. Wait for all of it.
  ASSERT_TRUE(lab_.stop_dataplane(true, &error)) << error;

  struct stat st {};
  EXPECT_EQ(stat(("/var/run/dpdk/" + lab_.env("FILE_PREFIX") + "/config").c_str(), &st), 0)
      << "expected the killed dataplane's runtime directory to be left behind";
  std::string out;
  EXPECT_EQ(run_controlplane({"--wait-dataplane", "0"}, 5000, &out), 1) << out;
  EXPECT_NE(out.find("no dataplane is running with file prefix " + lab_.env("FILE_PREFIX")),
            std::string::npos)
      << out;

  const auto restart = Clock::now();
  ASSERT_TRUE(lab_.start_gateway(&error)) << error;
  const double started_ms = ms_since(restart);
  const double ping_ms = ms_until_ping(Where::kLan, "10.8.1.2", kHandshakeTimeoutMs);
  report("both restarted in " + std::to_string(started_ms) +
         " ms; first LAN->remote echo answered " + std::to_string(ping_ms) +
         " ms later (the gateway initiates)");
  ASSERT_GE(ping_ms, 0) << "no echo through the tunnel within 10 s of the restart";
  const ShowState state = show();
  EXPECT_GE(handshakes(state), 1) << state.text;
  EXPECT_EQ(peer_records(state), 1u) << state.text;
  EXPECT_EQ(endpoint(state), "192.0.2.2:51820") << state.text;
  expect_ping(Where::kRemote, "10.8.0.2");
}

// SIGTERM to the dataplane while the control plane runs: the dataplane
// tells it (heartbeat 0) and waits for it to go before freeing the shared
// memory, so the control plane exits 1 with its message instead of dying
// on unmapped memory, and the dataplane's EAL has no secondary to wait for.
TEST_F(FaultsLabTest, DataplaneStoppedWhileTheControlPlaneRuns) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  std::string error;
  const auto stop = Clock::now();
  ASSERT_TRUE(lab_.stop_dataplane(false, &error)) << error;
  const double stop_ms = ms_since(stop);
  ASSERT_TRUE(lab_.wait_exited(GatewayProcess::kControlplane, 5000)) << "the control plane runs on";
  report("dataplane stopped by SIGTERM with the control plane attached: gone after " +
         std::to_string(stop_ms) + " ms");
  EXPECT_EQ(lab_.exit_status(GatewayProcess::kControlplane), 1);
  const std::string log = lab_.log(GatewayProcess::kControlplane);
  EXPECT_NE(log.find("error: the dataplane is stopping (dataplane pid "), std::string::npos) << log;
  const std::string dataplane_log = lab_.log(GatewayProcess::kDataplane);
  // What EAL says when it frees memory a live secondary still maps.
  EXPECT_EQ(dataplane_log.find("Could not send sync request"), std::string::npos) << dataplane_log;
  EXPECT_EQ(dataplane_log.find("did not exit"), std::string::npos) << dataplane_log;
  ASSERT_TRUE(lab_.start_gateway(&error)) << error;
  expect_ping(Where::kLan, "10.8.1.2");
}

// SIGSTOP to the dataplane: its process lives and holds its lock, only its
// heartbeat stops. The control plane reads the main lcore's state
// (heartbeat.hpp), names it and exits 1; the dataplane, continued, never
// noticed, and a new control plane brings the tunnel back.
TEST_F(FaultsLabTest, DataplaneFrozenTheControlPlaneNamesItAndANewOneResumes) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  std::string error;
  const auto frozen = Clock::now();
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kDataplane, SIGSTOP, &error)) << error;
  const bool exited = lab_.wait_exited(GatewayProcess::kControlplane, 15000);
  const double exit_ms = ms_since(frozen);
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kDataplane, SIGCONT, &error)) << error;
  const std::string log = lab_.log(GatewayProcess::kControlplane);
  ASSERT_TRUE(exited) << "the control plane still runs 15 s after the dataplane froze:\n" << log;
  report("dataplane SIGSTOPped: the control plane exited after " + std::to_string(exit_ms) +
         " ms (heartbeat stale after 3000 ms)");
  EXPECT_EQ(lab_.exit_status(GatewayProcess::kControlplane), 1);
  EXPECT_NE(log.find("error: the dataplane's main lcore is stopped (SIGSTOP or a debugger)"),
            std::string::npos)
      << log;
  ASSERT_TRUE(lab_.running(GatewayProcess::kDataplane)) << lab_.log(GatewayProcess::kDataplane);
  ASSERT_TRUE(lab_.start_controlplane(&error)) << error;
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");
}

// The remote initiates; the control plane is stopped, so its initiation
// waits in the punt ring; then the control plane is killed and a new one
// started. The handshake must complete and traffic flow.
TEST_F(FaultsLabTest, ControlPlaneRestartedWhileTheRemotesInitiationIsPunted) {
  ASSERT_NO_FATAL_FAILURE(start({.gateway_knows_endpoint = false}));
  std::string error;
  const ShowState before = show();
  ASSERT_EQ(handshakes(before), 0) << before.text;
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGSTOP, &error)) << error;
  Background ping = lab_.spawn(Where::kRemote, {"ping", "-n", "-c", "100", "-i", "0.2", "10.8.0.2"},
                               "ping-remote");
  ShowState punted;
  ASSERT_TRUE(lab_.wait_for_show(
      [&](const ShowState& s) { return s.counter("punted") > before.counter("punted"); }, 5000,
      &punted, &error))
      << "the remote's initiation was not punted: " << error;
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGKILL, &error)) << error;
  ASSERT_TRUE(lab_.wait_exited(GatewayProcess::kControlplane, 2000));
  EXPECT_EQ(handshakes(show()), 0);

  const auto restart = Clock::now();
  ASSERT_TRUE(lab_.start_controlplane(&error)) << error;
  const double ready_ms = ms_since(restart);
  const double handshake_ms = ready_ms + ms_until_handshakes_above(0, kHandshakeTimeoutMs);
  report("restart with the remote's initiation in the punt ring: ready after " +
         std::to_string(ready_ms) + " ms, handshake " + std::to_string(handshake_ms) +
         " ms after the restart began");
  expect_ping(Where::kRemote, "10.8.0.2");
  expect_ping(Where::kLan, "10.8.1.2");
  EXPECT_EQ(endpoint(show()), "192.0.2.2:51820");
}

// The gateway initiates; its initiation is on the wire (wireguard-go is
// stopped, so no answer yet) when the control plane is killed. The answer
// reaches a control plane that never sent that initiation; the new one must
// start its own handshake (the dataplane keeps asking while packets wait).
TEST_F(FaultsLabTest, ControlPlaneRestartedWhileItsOwnInitiationIsInFlight) {
  ASSERT_NO_FATAL_FAILURE(start({.remote_knows_endpoint = false}));
  std::string error;
  ASSERT_EQ(handshakes(show()), 0);
  const pid_t wg = lab_.remote_pid();
  ASSERT_GT(wg, 0);
  // The initiation (type 1) as it arrives at the remote's veth.
  Background capture = lab_.spawn(Where::kRemote,
                                  {"tcpdump", "-n", "-l", "-c", "1", "-i", lab_.env("REMOTE_IF"),
                                   "udp dst port 51820 and udp[8] = 1"},
                                  "tcpdump-initiation");
  for (int i = 0; i < 100 && capture.output().find("listening on") == std::string::npos; ++i)
    sleep_ms(50);
  ASSERT_NE(capture.output().find("listening on"), std::string::npos) << capture.output();
  ASSERT_EQ(kill(wg, SIGSTOP), 0);
  Background ping =
      lab_.spawn(Where::kLan, {"ping", "-n", "-c", "100", "-i", "0.2", "10.8.1.2"}, "ping-lan");
  const int captured = capture.wait(10000);
  ASSERT_EQ(captured, 0) << "no initiation reached the remote:\n" << capture.output();
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGKILL, &error)) << error;
  ASSERT_TRUE(lab_.wait_exited(GatewayProcess::kControlplane, 2000));
  ASSERT_EQ(kill(wg, SIGCONT), 0);  // it answers an initiation nobody remembers
  sleep_ms(300);

  const auto restart = Clock::now();
  ASSERT_TRUE(lab_.start_controlplane(&error)) << error;
  const double ready_ms = ms_since(restart);
  const double handshake_ms = ready_ms + ms_until_handshakes_above(0, kHandshakeTimeoutMs);
  report("restart with the gateway's initiation in flight: ready after " +
         std::to_string(ready_ms) + " ms, handshake " + std::to_string(handshake_ms) +
         " ms after the restart began");
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");
}

// Twenty restarts (ten SIGTERM, then ten SIGKILL) under a running transfer:
// the file arrives intact, the peer is there once, the pids are right, and
// the dataplane holds no more mbufs, ring entries or file descriptors than
// before, nor shared heap after the clean stops. A forced rekey afterwards
// proves the last control plane works.
TEST_F(FaultsLabTest, ControlPlaneRestarted20TimesInARow) {
  ASSERT_NO_FATAL_FAILURE(start({}));
  expect_ping(Where::kLan, "10.8.1.2");
  const pid_t dataplane = lab_.pid(GatewayProcess::kDataplane);
  const std::string fd_dir = "/proc/" + std::to_string(dataplane) + "/fd";
  const std::string runtime_dir = "/var/run/dpdk/" + lab_.env("FILE_PREFIX");
  sleep_ms(300);
  const std::map<std::string, int64_t> before = occupancy();
  const size_t fds_before = count_entries(fd_dir);
  const size_t runtime_before = count_entries(runtime_dir);
  const std::pair<int64_t, int64_t> heap_before = heap();
  std::pair<int64_t, int64_t> heap_after_terms;

  Transfer transfer;
  std::string error;
  // Paced to outlast the restarts (about 20 x 0.5-1 s).
  ASSERT_TRUE(transfer.start(lab_, 40 * kMiB, 2.0 * kMiB, &error)) << error;
  ASSERT_TRUE(transfer.wait_received(2 * kMiB, 30000)) << "transfer did not get going";

  constexpr int kRestarts = 20;
  double total_ms = 0, worst_ms = 0;
  const auto loop = Clock::now();
  for (int i = 0; i < kRestarts; ++i) {
    // Ten clean stops, then ten kills: the heap is compared after each half.
    if (i == kRestarts / 2) heap_after_terms = heap();
    const int sig = i < kRestarts / 2 ? SIGTERM : SIGKILL;
    const auto t = Clock::now();
    ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, sig, &error)) << i << ": " << error;
    ASSERT_TRUE(lab_.wait_exited(GatewayProcess::kControlplane, 6000)) << i << ": did not exit";
    if (sig == SIGTERM) {
      EXPECT_EQ(lab_.exit_status(GatewayProcess::kControlplane), 0) << i;
    }
    ASSERT_TRUE(lab_.start_controlplane(&error)) << i << ": " << error;
    const double ms = ms_since(t);
    total_ms += ms;
    worst_ms = std::max(worst_ms, ms);
  }
  const double loop_ms = ms_since(loop);
  const uint64_t received_during = transfer.received();
  report(std::to_string(kRestarts) + " control-plane restarts in " + std::to_string(loop_ms) +
         " ms: " + std::to_string(total_ms / kRestarts) +
         " ms each on average (signal to ready), " + std::to_string(worst_ms) +
         " ms the longest; " + std::to_string(received_during) +
         " bytes of the transfer had arrived");
  EXPECT_LT(received_during, 40 * kMiB) << "the transfer ended before the restarts did";
  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;

  ShowState state = show();
  EXPECT_EQ(peer_records(state), 1u) << state.text;
  EXPECT_EQ(state.peers.size(), 1u) << state.text;
  EXPECT_EQ(state.interface["controlplane_pid"],
            std::to_string(lab_.pid(GatewayProcess::kControlplane)))
      << state.text;
  EXPECT_EQ(state.interface["dataplane_pid"], std::to_string(dataplane)) << state.text;
  const int64_t handshakes_before = handshakes(state);
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGUSR1, &error)) << error;
  const double rekey_ms = ms_until_handshakes_above(handshakes_before, kHandshakeTimeoutMs);
  report("after the restarts, a forced rekey completed in " + std::to_string(rekey_ms) + " ms");
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");

  sleep_ms(500);  // idle: nothing in flight
  const std::map<std::string, int64_t> after = occupancy();
  const size_t fds_after = count_entries(fd_dir);
  const size_t runtime_after = count_entries(runtime_dir);
  report("dataplane mbufs in use " + std::to_string(before.at("mbufs_in_use")) + " -> " +
         std::to_string(after.at("mbufs_in_use")) + ", fds " + std::to_string(fds_before) + " -> " +
         std::to_string(fds_after) + ", DPDK runtime dir entries " +
         std::to_string(runtime_before) + " -> " + std::to_string(runtime_after));
  // The RX rings hold a fixed number; caches and TX buffers can hold up to a
  // burst or two more at any instant. 20 leaked punt/command mbufs per
  // restart would be hundreds.
  EXPECT_LE(after.at("mbufs_in_use"), before.at("mbufs_in_use") + 64);
  for (const char* ring : {"ring_ws_punt", "ring_ws_events", "ring_ws_commands"}) {
    EXPECT_EQ(after.count(ring) ? after.at(ring) : -1, 0) << ring;
  }
  EXPECT_EQ(fds_after, fds_before) << "the dataplane's file descriptors changed";

  // A control plane that exits cleanly returns what its EAL took from the
  // shared heap. One that is SIGKILLed cannot: DPDK's secondary EAL init
  // allocates there (the service library's tables, ~150 KiB) and only
  // rte_eal_cleanup frees it. Known, printed, not fixable from here.
  const std::pair<int64_t, int64_t> heap_after = heap();
  report("dataplane heap: " + std::to_string(heap_before.first) + " B in " +
         std::to_string(heap_before.second) + " allocations; after 10 SIGTERM restarts " +
         std::to_string(heap_after_terms.first) + " B in " +
         std::to_string(heap_after_terms.second) + "; after 10 SIGKILL restarts " +
         std::to_string(heap_after.first) + " B in " + std::to_string(heap_after.second) + " (" +
         std::to_string((heap_after.first - heap_after_terms.first) / (kRestarts / 2)) +
         " B per SIGKILL)");
  EXPECT_EQ(heap_after_terms, heap_before) << "clean control-plane restarts leaked shared heap";
  EXPECT_TRUE(lab_.running(GatewayProcess::kDataplane));
}

}  // namespace
}  // namespace wirespeed::test::lab
