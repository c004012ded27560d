// The faults lab fixture (faults_lab_test.cpp, faults_link_lab_test.cpp: one
// binary, faults_lab_test): a lab per test, the helpers that start, stop and
// time the gateway's processes, and the "faults: ..." report lines.
#pragma once

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

using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr int kHandshakeTimeoutMs = 10 * 1000;
constexpr int kTransferTimeoutMs = 120 * 1000;

inline double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Figures go to stdout with one prefix, so that a run's log can be grepped
// for them (the closing note quotes them).
inline void report(const std::string& line) {
  std::cout << "faults: " << line << std::endl;
}

// Now, and a log line's "YYYY-MM-DDTHH:MM:SS.mmmZ " prefix, as milliseconds
// since midnight UTC; -1e9 when the line has no such prefix.
inline double wall_ms_of_day() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  const double ms = std::chrono::duration<double, std::milli>(since_epoch).count();
  return ms - 86400000.0 * static_cast<double>(static_cast<int64_t>(ms / 86400000.0));
}

inline double log_ms_of_day(const std::string& prefix) {
  unsigned y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (std::sscanf(prefix.c_str(), "%u-%u-%uT%u:%u:%u.%uZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7) {
    return -1e9;
  }
  return ((h * 60.0 + mi) * 60.0 + s) * 1000.0 + ms;
}

inline size_t count_entries(const std::string& dir) {
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

}  // namespace wirespeed::test::lab
