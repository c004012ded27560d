#include "controlplane/app/heartbeat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace wirespeed::controlplane::app {

ThreadSample sample_thread(pid_t pid, pid_t tid) {
  ThreadSample out;
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", static_cast<int>(pid),
                static_cast<int>(tid));
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char text[1024];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return out;
  text[n] = '\0';
  // "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
  // the fields start after the last ')'.
  const char* p = std::strrchr(text, ')');
  if (p == nullptr) return out;
  char state = '?';
  unsigned long long utime = 0, stime = 0;
  // Fields 3..15: state, then ppid pgrp session tty_nr tpgid flags minflt
  // cminflt majflt cmajflt (10 skipped), then utime stime.
  if (std::sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &utime,
                  &stime) != 3) {
    return out;
  }
  const long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) return out;
  out.ok = true;
  out.state = state;
  out.cpu_ns = (utime + stime) * (1'000'000'000ull / static_cast<unsigned long long>(hz));
  return out;
}

bool HeartbeatJudge::alive(uint64_t now_ns, uint64_t beat_ns,
                           const std::function<ThreadSample()>& sample, const char** why) {
  starvation_began_ = false;
  if (beat_ns != last_beat_ns_) {
    last_beat_ns_ = beat_ns;
    have_cpu_baseline_ = false;
    blocked_checks_ = 0;
    starved_this_stretch_ = false;
  }
  if (now_ns <= beat_ns || now_ns - beat_ns <= kStaleAfter) return true;
  if (now_ns - beat_ns > kGiveUpAfter) {
    *why = "the dataplane's heartbeat stopped a minute ago (main lcore not running)";
    return false;
  }
  const ThreadSample s = sample();
  if (!s.ok) return true;  // gone: the liveness check says so next
  if (s.state == 'T' || s.state == 't') {
    *why = "the dataplane's main lcore is stopped (SIGSTOP or a debugger)";
    return false;
  }
  if (s.state != 'R') {
    blocked_checks_ += 1;
    if (blocked_checks_ >= 2) {
      *why = "the dataplane's heartbeat stopped (main lcore blocked)";
      return false;
    }
    return true;
  }
  blocked_checks_ = 0;
  if (!have_cpu_baseline_) {
    have_cpu_baseline_ = true;
    cpu_baseline_ns_ = s.cpu_ns;
  } else if (s.cpu_ns >= cpu_baseline_ns_ + kCpuWhileStale) {
    *why = "the dataplane's heartbeat stopped (main lcore spins without passing its loop)";
    return false;
  }
  starved_checks_ += 1;
  starvation_began_ = !starved_this_stretch_;
  starved_this_stretch_ = true;
  return true;
}

}  // namespace wirespeed::controlplane::app
