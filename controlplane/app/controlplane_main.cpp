// wirespeed-controlplane: the DPDK secondary (design-brief §1, §3-4).
//
//   wirespeed-controlplane --config FILE [--wait-dataplane SECONDS]
//                                                 run until SIGINT/SIGTERM
//   wirespeed-controlplane --config FILE --show   print the state and exit
//
// SIGUSR1 starts a handshake with every peer now (a forced rekey); SIGHUP
// re-reads the config and applies the difference (`wirespeed reload`).
// `wg` manages it through the UAPI socket /var/run/wireguard/<name>.sock.
//
// It derives its EAL arguments from the config (a secondary on the
// dataplane's file prefix, no devices), attaches to the shared state, checks
// the ABI, and either adopts the sessions a running dataplane holds (after a
// restart) or installs the configured peers. If the dataplane goes away it
// says so and exits 1; a bad config exits 2 before EAL starts.
//
// Started before its dataplane (systemd may start both at once), it waits
// for one to run with the config's file prefix: up to --wait-dataplane
// seconds (default kDefaultWaitS; 0 = do not wait), saying so once in the
// log, then exits 1 naming the file prefix. SIGINT/SIGTERM end the wait
// (exit 0). --show never waits: it is the dataplane unit's readiness probe.
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "controlplane/app/agent.hpp"
#include "controlplane/app/attach.hpp"
#include "controlplane/app/log.hpp"
#include "controlplane/app/status.hpp"
#include "controlplane/device/device.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/base/hardening.hpp"
#include "dataplane/shm/state.hpp"

namespace {

using namespace wirespeed;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_rekey{false};
std::atomic<bool> g_reload{false};

void on_stop(int) {
  g_stop.store(true);
}
void on_rekey(int) {
  g_rekey.store(true);
}
void on_reload(int) {
  g_reload.store(true);
}

// Long enough for a dataplane that systemd starts at the same time to open
// its ports (a second or two; the dataplane unit's own probe allows 60 s).
constexpr unsigned kDefaultWaitS = 60;

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --config FILE [--wait-dataplane SECONDS] [--show]\n", argv0);
  return 2;
}

bool parse_seconds(const char* text, unsigned* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long v = std::strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v > 24UL * 3600) return false;
  *out = static_cast<unsigned>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (auto hardened = disable_core_dumps(); !hardened) {  // before any key is read
    std::fprintf(stderr, "wirespeed-controlplane: %s: %s\n", hardened.error().context,
                 std::strerror(hardened.error().sys_errno));
    return 1;
  }
  std::string config_path;
  bool show = false;
  unsigned wait_s = kDefaultWaitS;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      config_path = argv[++i];
    } else if (std::strncmp(argv[i], "--config=", 9) == 0) {
      config_path = argv[i] + 9;
    } else if (std::strcmp(argv[i], "--show") == 0) {
      show = true;
    } else if (std::strcmp(argv[i], "--wait-dataplane") == 0 && i + 1 < argc) {
      if (!parse_seconds(argv[++i], &wait_s)) return usage(argv[0]);
    } else if (std::strncmp(argv[i], "--wait-dataplane=", 17) == 0) {
      if (!parse_seconds(argv[i] + 17, &wait_s)) return usage(argv[0]);
    } else {
      return usage(argv[0]);
    }
  }
  if (config_path.empty()) return usage(argv[0]);

  config::LoadResult loaded = config::load_config(config_path);
  if (!loaded.config) {
    std::fprintf(stderr, "wirespeed-controlplane: %s\n", loaded.error.to_string().c_str());
    return 2;
  }
  const config::Config& cfg = *loaded.config;

  // Installed before the wait, so that a stop request ends it.
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  using controlplane::app::AttachOutcome;
  switch (controlplane::app::attach_dataplane(cfg, argv[0], show ? 0 : wait_s, g_stop, show)) {
    case AttachOutcome::kAttached:
      break;
    case AttachOutcome::kStopped:
      return 0;
    case AttachOutcome::kNoDataplane:
      if (show || wait_s == 0) {
        std::fprintf(stderr,
                     "wirespeed-controlplane: no dataplane is running with file prefix %s (nothing "
                     "holds %s/config); start wirespeed-dataplane with this config first\n",
                     cfg.file_prefix.c_str(),
                     controlplane::app::dpdk_runtime_dir(cfg.file_prefix).c_str());
      } else {
        std::fprintf(stderr,
                     "wirespeed-controlplane: no dataplane is running with file prefix %s: none "
                     "started within %u s (--wait-dataplane)\n",
                     cfg.file_prefix.c_str(), wait_s);
      }
      return 1;
    case AttachOutcome::kNotPublished:
      std::fprintf(stderr,
                   "wirespeed-controlplane: the dataplane with file prefix %s runs but did not "
                   "publish its shared state within %u s (still opening its ports?)\n",
                   cfg.file_prefix.c_str(), std::max(wait_s, controlplane::app::kPublishWaitS));
      return 1;
    case AttachOutcome::kEalFailed:
      std::fprintf(stderr,
                   "wirespeed-controlplane: cannot attach to the dataplane (file prefix %s): %s; "
                   "is wirespeed-dataplane running with this config?\n",
                   cfg.file_prefix.c_str(), rte_strerror(rte_errno));
      return 1;
  }
  int rc = 0;
  {
    auto state = dataplane::shm::SharedState::attach();
    if (!state) {
      std::fprintf(stderr, "wirespeed-controlplane: refusing to start: %s\n",
                   state.error().context);
      rte_eal_cleanup();
      return 1;
    }
    dataplane::shm::StateZone& zone = state->zone();
    if (show) {
      controlplane::app::print_status(stdout, cfg, zone, monotonic_ns());
      rte_eal_cleanup();
      return 0;
    }
    // A killed control plane leaves its pid behind; a zombie is not attached.
    const uint32_t other = zone.header.controlplane_pid.load();
    if (other != 0 && other != static_cast<uint32_t>(getpid()) &&
        controlplane::app::process_running(other)) {
      std::fprintf(stderr, "wirespeed-controlplane: another control plane (pid %u) is attached\n",
                   other);
      rte_eal_cleanup();
      return 1;
    }
    // Keys in the heap stay out of swap. After EAL has reserved its address
    // space: without CAP_IPC_LOCK this fails here, with a warning, instead
    // of making EAL's reservations fail against RLIMIT_MEMLOCK later.
    if (auto locked = lock_memory(); !locked) {
      std::fprintf(stderr, "wirespeed-controlplane: warning: %s: %s; keys may reach swap\n",
                   locked.error().context, std::strerror(locked.error().sys_errno));
    }
    const size_t configured = cfg.peers.size();
    auto agent = controlplane::app::Agent::create(std::move(*loaded.config), *state);
    if (!agent) {
      const Error& e = agent.error();
      std::fprintf(stderr, "wirespeed-controlplane: %s%s%s\n", e.context,
                   e.sys_errno != 0 ? ": " : "",
                   e.sys_errno != 0 ? std::strerror(e.sys_errno) : "");
      rte_eal_cleanup();
      return 1;
    }
    zone.header.controlplane_pid.store(static_cast<uint32_t>(getpid()));

    std::signal(SIGUSR1, on_rekey);
    std::signal(SIGHUP, on_reload);
    std::signal(SIGPIPE, SIG_IGN);

    using controlplane::app::log;
    using controlplane::app::LogLevel;
    const unsigned adopted = (*agent)->start(monotonic_ns());
    log(LogLevel::kInfo, "%zu peer(s), %u live session(s) adopted from the dataplane", configured,
        adopted);
    log(LogLevel::kInfo, "uapi on %s", (*agent)->uapi_path().c_str());
    log(LogLevel::kInfo, "ready");

    while (!g_stop.load()) {
      const uint64_t now = monotonic_ns();
      if (g_rekey.exchange(false)) {
        log(LogLevel::kInfo, "SIGUSR1: new handshake with every peer");
        (*agent)->force_rekey_all(now);
      }
      if (g_reload.exchange(false)) {
        log(LogLevel::kInfo, "SIGHUP: reloading %s", (*agent)->config().source_path.c_str());
        (*agent)->reload(now);
      }
      const char* why = nullptr;
      if (!(*agent)->poll(now, &why)) {
        log(LogLevel::kError, "%s (dataplane pid %u, file prefix %s); exiting", why,
            zone.header.dataplane_pid, (*agent)->config().file_prefix.c_str());
        rc = 1;
        break;
      }
      usleep(500);
    }
    uint32_t me = static_cast<uint32_t>(getpid());
    zone.header.controlplane_pid.compare_exchange_strong(me, 0);
  }
  rte_eal_cleanup();
  return rc;
}
