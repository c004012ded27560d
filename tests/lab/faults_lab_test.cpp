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
// Tests assert outcomes. Times are printed ("faults: ..." lines), never
// asserted, except the one bound the issue states: the control plane must
// notice a dead dataplane "within a second"; the test allows 2 s (see there)
// and reads the time it noticed from its log line.
//
// Needs what gateway_lab_test needs (root, scripts/setup.sh's tools, free
// hugepages, the gateway binaries); a missing one fails the test by name.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "tests/lab/gateway_lab.hpp"
#include "tests/lab/lab_fixture.hpp"
#include "tests/lab/wireguard_go_peer.hpp"

namespace wirespeed::test::lab {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr int kHandshakeTimeoutMs = 10 * 1000;
constexpr int kTransferTimeoutMs = 120 * 1000;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Figures go to stdout with one prefix, so that a run's log can be grepped
// for them (the closing note quotes them).
void report(const std::string& line) {
  std::cout << "faults: " << line << std::endl;
}

// Now, and a log line's "YYYY-MM-DDTHH:MM:SS.mmmZ " prefix, as milliseconds
// since midnight UTC; -1e9 when the line has no such prefix.
double wall_ms_of_day() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const double ms = std::chrono::duration<double, std::milli>(since_epoch).count();
  return ms - 86400000.0 * static_cast<double>(static_cast<int64_t>(ms / 86400000.0));
}

double log_ms_of_day(const std::string& prefix) {
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (std::sscanf(prefix.c_str(), "%u-%u-%uT%u:%u:%u.%uZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7) {
    return -1e9;
  }
  return ((h * 60.0 + mi) * 60.0 + s) * 1000.0 + ms;
}

size_t count_entries(const std::string& dir) {
  size_t n = 0;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* e = readdir(d)) {
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
    }
    closedir(d);
  }
  return n;
}

class FaultsLabTest : public LabTest {
 protected:
  size_t peer_records(const ShowState& s) const {
    size_t n = 0;
    for (const auto& p : s.peers) n += p.count("public_key") && p.at("public_key") == remote_key();
    return n;
  }

  // One echo request after another (each waiting up to 1 s) until one is
  // answered; the milliseconds that took, or -1 after timeout_ms.
  double ms_until_ping(Where from, const std::string& to, int timeout_ms) {
    const auto start = Clock::now();
    while (ms_since(start) < timeout_ms) {
      std::string out;
      if (lab_.exec(from, {"ping", "-n", "-c", "1", "-W", "1", to}, &out) == 0) {
        return ms_since(start);
      }
    }
    return -1;
  }

  // Waits for more than `than` handshakes; the milliseconds that took, or -1.
  double ms_until_handshakes_above(int64_t than, int timeout_ms) {
    const auto start = Clock::now();
    ShowState state;
    std::string error;
    if (!lab_.wait_for_show([&](const ShowState& s) { return handshakes(s) > than; }, timeout_ms,
                            &state, &error)) {
      ADD_FAILURE() << "no handshake beyond " << than << ": " << error;
      return -1;
    }
    return ms_since(start);
  }

  // Waits until the control plane's log has `text`; false after timeout_ms.
  bool wait_log(const std::string& text, int timeout_ms) {
    for (int waited = 0; waited <= timeout_ms; waited += 20) {
      if (lab_.log(GatewayProcess::kControlplane).find(text) != std::string::npos) return true;
      sleep_ms(20);
    }
    return false;
  }

  // Runs the control plane in the gateway's namespace with `args` added and
  // waits for it (up to timeout_ms): its exit status; its output in *output.
  // For runs that end by themselves (lab.sh's launch loses the status of a
  // process that exits before the script does).
  int run_controlplane(const std::vector<std::string>& args, int timeout_ms, std::string* output) {
    std::vector<std::string> argv = {lab_.env("CONTROLPLANE"), "--config", lab_.env("CONFIG")};
    argv.insert(argv.end(), args.begin(), args.end());
    Background run = lab_.spawn(Where::kGateway, argv, "controlplane-once");
    const int status = run.wait(timeout_ms);
    *output = run.output();
    return status;
  }

  // What `wirespeed show --json` says of the mbuf pool and the rings, as
  // "mbufs_in_use N" and "ring NAME N" lines.
  std::map<std::string, int64_t> occupancy() {
    const std::string cli = build_root() + "/controlplane/cli/wirespeed";
    const std::string script =
        cli + " show --json --config " + lab_.env("CONFIG") +
        " | python3 -c 'import json,sys; d=json.load(sys.stdin); "
        "print(\"mbufs_in_use\", d[\"mempool\"][\"in_use\"]); "
        "[print(\"ring_\" + r[\"name\"], r[\"count\"]) for r in d[\"rings\"]]'";
    std::string out;
    std::map<std::string, int64_t> values;
    EXPECT_EQ(lab_.exec(Where::kGateway, {"sh", "-c", script}, &out), 0) << out;
    std::istringstream lines(out);
    std::string name;
    int64_t value = 0;
    while (lines >> name >> value) values[name] = value;
    EXPECT_TRUE(values.count("mbufs_in_use")) << out;
    return values;
  }

  // The dataplane's hugepage heap (DPDK telemetry /eal/heap_info, socket 0):
  // {"Alloc_size", "Alloc_count"}; both -1 when unreadable. Control planes
  // (DPDK secondaries) allocate from this heap too.
  std::pair<int64_t, int64_t> heap() {
    const std::string cmd =
        "printf '/eal/heap_info,0\\n' | dpdk-telemetry.py -f " + lab_.env("FILE_PREFIX") + " 2>&1";
    std::string out;
    run_command({"sh", "-c", cmd}, &out);
    const auto field = [&](const std::string& name) -> int64_t {
      const size_t at = out.find("\"" + name + "\": ");
      if (at == std::string::npos) return -1;
      return std::strtoll(out.c_str() + at + name.size() + 4, nullptr, 10);
    };
    const std::pair<int64_t, int64_t> h{field("Alloc_size"), field("Alloc_count")};
    EXPECT_GE(h.second, 0) << "dpdk-telemetry.py (from dpdk, scripts/setup.sh) said:\n" << out;
    return h;
  }
};

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
