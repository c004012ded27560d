// Finding the dataplane (see attach.hpp).
#include "controlplane/app/attach.hpp"

#include <rte_eal.h>
#include <rte_memzone.h>
#include <rte_ring.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iterator>

#include "controlplane/app/log.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::controlplane::app {

namespace {

constexpr uint64_t kSecond = 1000ULL * 1000 * 1000;
constexpr useconds_t kPollSleepUs = 50 * 1000;

// The primary has created what SharedState::attach() looks up. The zone
// comes first and the rings right after it (SharedState::create), so the
// rings are the last to appear.
bool state_published() {
  return rte_memzone_lookup(dataplane::shm::kStateZoneName) != nullptr &&
         rte_ring_lookup(dataplane::shm::kPuntRingName) != nullptr &&
         rte_ring_lookup(dataplane::shm::kEventRingName) != nullptr &&
         rte_ring_lookup(dataplane::shm::kCommandRingName) != nullptr;
}

}  // namespace

bool process_running(uint32_t pid) {
  if (pid == 0) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  // "PID (COMM) S ...": the state follows the last ')' (COMM may hold one).
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat(std::istreambuf_iterator<char>(in), {});
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

AttachOutcome attach_dataplane(const config::Config& cfg, const char* argv0, unsigned wait_s,
                               const std::atomic<bool>& stop, bool quiet) {
  const std::string& prefix = cfg.file_prefix;
  const uint64_t started = monotonic_ns();
  uint64_t deadline = started + wait_s * kSecond;
  if (!primary_running(prefix)) {
    if (wait_s == 0) return AttachOutcome::kNoDataplane;
    if (!quiet) {
      log(LogLevel::kInfo, "waiting for the dataplane (file prefix %s), up to %u s", prefix.c_str(),
          wait_s);
    }
    while (!primary_running(prefix)) {
      if (stop.load()) return AttachOutcome::kStopped;
      if (monotonic_ns() >= deadline) return AttachOutcome::kNoDataplane;
      usleep(kPollSleepUs);
    }
    if (!quiet) {
      log(LogLevel::kInfo, "the dataplane (file prefix %s) started after %.1f s; attaching",
          prefix.c_str(), static_cast<double>(monotonic_ns() - started) / kSecond);
    }
  }
  // EAL of a secondary waits inside rte_eal_init until the primary's EAL is
  // complete; the primary opens its ports and publishes the state after that.
  if (!dataplane::app::init_secondary_eal(cfg, argv0)) return AttachOutcome::kEalFailed;
  deadline = std::max(deadline, monotonic_ns() + kPublishWaitS * kSecond);
  while (!state_published()) {
    AttachOutcome outcome = AttachOutcome::kAttached;
    if (stop.load()) {
      outcome = AttachOutcome::kStopped;
    } else if (!primary_running(prefix)) {
      outcome = AttachOutcome::kNoDataplane;  // it died during its start-up
    } else if (monotonic_ns() >= deadline) {
      outcome = AttachOutcome::kNotPublished;
    }
    if (outcome != AttachOutcome::kAttached) {
      rte_eal_cleanup();
      return outcome;
    }
    usleep(kPollSleepUs);
  }
  return AttachOutcome::kAttached;
}

}  // namespace wirespeed::controlplane::app
