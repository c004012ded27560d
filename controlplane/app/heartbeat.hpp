// Is the dataplane's main lcore hung, or only starved? (agent.cpp, poll())
//
// The main lcore stores CLOCK_MONOTONIC in the state header every pass of
// its loop (200 µs sleeps when idle). A heartbeat that has not moved for
// kStaleAfter says only that the thread has not run its loop; on a machine
// loaded far past its cores a healthy thread can wait that long for a CPU.
// So a stale heartbeat is judged by what the thread is doing, from
// /proc/<pid>/task/<pid>/stat (the main lcore is the process's main thread):
//   stopped ('T', 't': SIGSTOP, a debugger)          hung at once
//   blocked (any state but 'R', on two checks in a row, the heartbeat
//            unmoved between them: a sleep of 200 µs cannot last 50 ms
//            unless something else holds the thread)  hung
//   runnable ('R') and it has had kCpuWhileStale of CPU since the heartbeat
//            was first seen stale: it spins without passing its loop   hung
//   runnable without that CPU: starved, waited for
//   stale for kGiveUpAfter whatever it is doing      hung
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>

namespace wirespeed::controlplane::app {

struct ThreadSample {
  bool ok = false;      // false: no such thread (the liveness check sees the exit)
  char state = '?';     // the one-letter state of proc(5)
  uint64_t cpu_ns = 0;  // utime + stime
};

// /proc/<pid>/task/<tid>/stat, read and parsed; no allocation.
ThreadSample sample_thread(pid_t pid, pid_t tid);

class HeartbeatJudge {
 public:
  static constexpr uint64_t kStaleAfter = 3'000'000'000ull;
  static constexpr uint64_t kCpuWhileStale = 1'000'000'000ull;
  static constexpr uint64_t kGiveUpAfter = 60'000'000'000ull;

  // Called every liveness check with the heartbeat just read (non-zero);
  // `sample` is only called when the heartbeat is stale. Returns false, with
  // *why set, when the main lcore is hung.
  bool alive(uint64_t now_ns, uint64_t beat_ns, const std::function<ThreadSample()>& sample,
             const char** why);

  // Checks that found the heartbeat stale but judged the thread starved.
  uint64_t starved_checks() const { return starved_checks_; }
  // The last alive() was the first of this stale stretch to judge it starved.
  bool starvation_began() const { return starvation_began_; }

 private:
  uint64_t last_beat_ns_ = 0;
  bool have_cpu_baseline_ = false;
  uint64_t cpu_baseline_ns_ = 0;
  unsigned blocked_checks_ = 0;
  uint64_t starved_checks_ = 0;
  bool starved_this_stretch_ = false;
  bool starvation_began_ = false;
};

}  // namespace wirespeed::controlplane::app
