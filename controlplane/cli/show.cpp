// `wirespeed show` (show.hpp): EAL attach, snapshot, print, maybe repeat.
#include "controlplane/cli/show.hpp"

#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "controlplane/cli/keys.hpp"
#include "controlplane/cli/show_render.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "dataplane/base/clock.hpp"
#include "dataplane/shm/snapshot.hpp"
#include "dataplane/shm/state.hpp"

namespace wirespeed::controlplane::cli {

namespace {

std::atomic<bool> g_stop{false};
void on_stop(int) {
  g_stop.store(true);
}

int usage() {
  std::fputs("Usage: wirespeed show [--config FILE] [--json] [--watch [SECONDS]]\n", stderr);
  return 1;
}

// SECONDS of --watch: a plain decimal like 2 or 0.5 within 0.1..3600.
bool parse_interval(const char* text, double* out) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || !std::isfinite(v) || v < 0.1 || v > 3600) {
    return false;
  }
  *out = v;
  return true;
}

ShowContext context_of(const config::Config& cfg) {
  ShowContext ctx;
  ctx.interface_name = cfg.name;
  ctx.public_key = key_to_base64(crypto::public_key(cfg.private_key));
  ctx.port_names[0] = cfg.outer.port;
  ctx.port_names[1] = cfg.inner.port;
  for (const config::PeerConfig& p : cfg.peers) {
    if (!p.name.empty()) ctx.peer_names[key_to_base64(p.public_key)] = p.name;
  }
  return ctx;
}

// Sleeps `seconds` unless a signal asks us to stop first.
void pause_for(double seconds) {
  const uint64_t until = monotonic_ns() + static_cast<uint64_t>(seconds * 1e9);
  while (!g_stop.load()) {
    const uint64_t now = monotonic_ns();
    if (now >= until) return;
    const uint64_t left = std::min<uint64_t>(until - now, 100000000);  // re-check every 100 ms
    timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace

int show_command(int argc, char** argv, const char* argv0) {
  std::string config_path = kDefaultConfig;
  bool json = false;
  bool watch = false;
  double interval = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.starts_with("--config=")) {
      config_path = std::string(a.substr(9));
    } else if (a == "--json") {
      json = true;
    } else if (a == "--watch") {
      watch = true;
      if (i + 1 < argc && argv[i + 1][0] != '-') {
        if (!parse_interval(argv[++i], &interval)) {
          std::fprintf(stderr,
                       "wirespeed show: --watch: expected seconds from 0.1 to 3600, got \"%s\"\n",
                       argv[i]);
          return 1;
        }
      }
    } else {
      return usage();
    }
  }

  const config::LoadResult loaded = config::load_config(config_path);
  if (!loaded.config) {
    std::fprintf(stderr, "%s\n", loaded.error.to_string().c_str());
    return 2;
  }
  const config::Config& cfg = *loaded.config;
  const ShowContext ctx = context_of(cfg);

  if (!dataplane::app::primary_running(cfg.file_prefix)) {
    std::fprintf(stderr,
                 "wirespeed show: no dataplane runs with file prefix %s (nothing holds %s/config); is "
                 "wirespeed-dataplane running with this config?\n",
                 cfg.file_prefix.c_str(), dataplane::app::dpdk_runtime_dir(cfg.file_prefix).c_str());
    return 1;
  }
  if (!dataplane::app::init_secondary_eal(cfg, argv0)) {
    std::fprintf(stderr,
                 "wirespeed show: cannot attach to the dataplane (file prefix %s): %s; is "
                 "wirespeed-dataplane running with this config?\n",
                 cfg.file_prefix.c_str(), rte_strerror(rte_errno));
    return 1;
  }
  int rc = 0;
  {
    auto state = dataplane::shm::SharedState::attach();
    if (!state) {
      std::fprintf(stderr, "wirespeed show: %s\n", state.error().context);
      rte_eal_cleanup();
      return 1;
    }
    const dataplane::shm::StateZone& zone = state->zone();
    std::signal(SIGINT, on_stop);
    std::signal(SIGTERM, on_stop);
    // A closed pipe (`wirespeed show --watch | head`) becomes a write error,
    // so that we still detach from EAL on the way out.
    std::signal(SIGPIPE, SIG_IGN);
    const bool redraw = watch && !json && isatty(STDOUT_FILENO) == 1;
    do {
      const dataplane::shm::Snapshot snap = dataplane::shm::take_snapshot(zone, monotonic_ns());
      const std::string text = json ? render_json(snap, ctx, !watch) : render_text(snap, ctx);
      if (redraw) std::fputs("\033[H\033[2J", stdout);
      std::fputs(text.c_str(), stdout);
      if (watch && !json && !redraw) std::fputs("\n", stdout);
      if (std::fflush(stdout) != 0) {
        rc = 1;  // the reader went away (a closed pipe)
        break;
      }
      if (!watch) break;
      pause_for(interval);
      // The zone outlives its creator (hugepages stay mapped): ask the kernel.
      if (!g_stop.load() && snap.dataplane_pid != 0 &&
          kill(static_cast<pid_t>(snap.dataplane_pid), 0) != 0 && errno == ESRCH) {
        std::fprintf(stderr, "wirespeed show: the dataplane (pid %u) has exited\n",
                     snap.dataplane_pid);
        rc = 1;
        break;
      }
    } while (!g_stop.load());
  }
  rte_eal_cleanup();
  return rc;
}

}  // namespace wirespeed::controlplane::cli
