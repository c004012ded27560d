// Finding the dataplane: before the control plane attaches (it may start
// first, as systemd may start it) and while it runs (the dataplane may die).
// Start-up and the control plane's main thread; no EAL needed for
// primary_running(), so it can be asked before rte_eal_init.
//
// A DPDK primary holds a write lock (fcntl) on <runtime dir>/config from its
// rte_eal_init until it exits; the kernel drops the lock the moment the
// process is gone, before anyone reaps it, and whatever is left in the
// directory. The lock, not the file, says whether a dataplane runs: a
// directory left by a killed dataplane still has its config file.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "dataplane/app/gateway_config.hpp"

namespace wirespeed::controlplane::app {

// Three syscalls; callers on a loop ask at most every few tens of ms.
using dataplane::app::dpdk_runtime_dir;
using dataplane::app::primary_running;

// True when `pid` is a process that has not exited: kill(pid, 0) also
// succeeds on a zombie, which is dead for our purposes.
bool process_running(uint32_t pid);

enum class AttachOutcome {
  kAttached,      // EAL is up as a secondary; the state zone and rings exist
  kNoDataplane,   // none ran (wait_s 0), none came up within wait_s, or it
                  // exited during its start-up
  kNotPublished,  // one runs but published no state zone within the wait
  kStopped,       // `stop` became true while waiting
  kEalFailed,     // rte_eal_init failed; rte_errno says why
};

// Attaches the process to the dataplane of `cfg` as a DPDK secondary. When
// none runs it waits up to `wait_s` seconds (0: not at all) for one, saying
// so once in the log; once a primary runs it also waits (up to the same
// deadline, at least kPublishWait) until the primary has published its state
// zone and rings, so that a control plane started together with its
// dataplane does not race the dataplane's start-up. `quiet`: no log lines
// (--show, which a readiness probe runs in a loop). EAL is initialised only
// when the outcome is kAttached (cleaned up again otherwise, kEalFailed
// aside, where it never came up).
inline constexpr unsigned kPublishWaitS = 10;
AttachOutcome attach_dataplane(const config::Config& cfg, const char* argv0, unsigned wait_s,
                               const std::atomic<bool>& stop, bool quiet);

}  // namespace wirespeed::controlplane::app
