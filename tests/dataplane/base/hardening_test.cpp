// Tests for dataplane/base/hardening.hpp. disable_core_dumps() changes the
// calling process for good, so it runs in a forked child that reports what
// the kernel then says: PR_GET_DUMPABLE and RLIMIT_CORE.
#include "dataplane/base/hardening.hpp"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace wirespeed {
namespace {

// What the child saw, written to a pipe as one struct.
struct ChildReport {
  int call_ok = -1;
  int dumpable_before = -1;
  int dumpable_after = -1;
  rlim_t core_soft = 1;
  rlim_t core_hard = 1;
};

ChildReport run_in_child() {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    ChildReport r;
    r.dumpable_before = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    r.call_ok = disable_core_dumps().ok() ? 1 : 0;
    r.dumpable_after = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    rlimit lim{};
    getrlimit(RLIMIT_CORE, &lim);
    r.core_soft = lim.rlim_cur;
    r.core_hard = lim.rlim_max;
    const ssize_t n = write(fds[1], &r, sizeof(r));
    _exit(n == static_cast<ssize_t>(sizeof(r)) ? 0 : 1);
  }
  close(fds[1]);
  ChildReport r;
  EXPECT_EQ(read(fds[0], &r, sizeof(r)), static_cast<ssize_t>(sizeof(r)));
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return r;
}

TEST(Hardening, DisableCoreDumpsClearsDumpableAndTheCoreLimit) {
  const ChildReport r = run_in_child();
  EXPECT_EQ(r.dumpable_before, 1) << "the control: a test process starts dumpable";
  EXPECT_EQ(r.call_ok, 1);
  EXPECT_EQ(r.dumpable_after, 0);
  EXPECT_EQ(r.core_soft, 0u);
  EXPECT_EQ(r.core_hard, 0u);
}

// Resident locked memory ("Locked:" of /proc/self/smaps_rollup), in KiB; -1
// if absent. (VmLck in status counts whole locked mappings, touched or not.)
long locked_kib() {
  FILE* f = std::fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::sscanf(line, "Locked: %ld kB", &kib) == 1) break;
  }
  std::fclose(f);
  return kib;
}

// lock_memory() too changes the process for good: a child locks, then
// touches 8 MiB of new heap, which must count as locked.
TEST(Hardening, LockMemoryLocksTheHeapAsItIsTouched) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    long r[4] = {locked_kib(), 0, 0, 0};
    r[1] = lock_memory().ok() ? 1 : 0;
    r[2] = locked_kib();
    constexpr size_t kBytes = 8u << 20;
    auto* p = static_cast<volatile uint8_t*>(std::malloc(kBytes));
    for (size_t i = 0; p != nullptr && i < kBytes; i += 4096) p[i] = 1;
    r[3] = locked_kib();
    std::free(const_cast<uint8_t*>(p));
    const ssize_t n = write(fds[1], r, sizeof(r));
    _exit(n == static_cast<ssize_t>(sizeof(r)) ? 0 : 1);
  }
  close(fds[1]);
  long r[4] = {-1, -1, -1, -1};
  EXPECT_EQ(read(fds[0], r, sizeof(r)), static_cast<ssize_t>(sizeof(r)));
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(r[0], 0) << "the control: nothing is locked before";
  EXPECT_EQ(r[1], 1) << "mlockall refused (the tests run as root, with CAP_IPC_LOCK)";
  EXPECT_GE(r[3] - r[2], 8L * 1024) << "KiB locked before touching " << r[2] << ", after " << r[3];
}

TEST(Hardening, SecureWipeZeroesEveryByte) {
  uint8_t key[32];
  std::memset(key, 0xA5, sizeof(key));
  secure_wipe(key, sizeof(key));
  for (uint8_t b : key) EXPECT_EQ(b, 0);
  secure_wipe(nullptr, 0);  // allowed: nothing to do
}

}  // namespace
}  // namespace wirespeed
