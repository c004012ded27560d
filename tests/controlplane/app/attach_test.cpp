// Finding the dataplane (controlplane/app/attach.hpp) without a dataplane:
// a child process stands in for the DPDK primary by holding a write lock on
// a region of <runtime dir>/config, as EAL's primary does. No EAL here:
// attach_dataplane() is only run where it must give up before rte_eal_init.
#include "controlplane/app/attach.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

namespace wirespeed::controlplane::app {
namespace {

std::string test_prefix() {
  return "wsattach" + std::to_string(getpid());
}

void make_dirs(const std::string& path) {
  for (size_t at = 1; at != std::string::npos; at = path.find('/', at + 1)) {
    mkdir(path.substr(0, at).c_str(), 0700);
  }
  mkdir(path.c_str(), 0700);
}

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = dpdk_runtime_dir(test_prefix());
    config_ = dir_ + "/config";
  }
  void TearDown() override {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    unlink(config_.c_str());
    rmdir(dir_.c_str());
  }

  // A child that locks bytes 64..191 of the config file (EAL's primary
  // locks a region, not the whole file) and then sleeps until killed.
  void start_fake_primary() {
    make_dirs(dir_);
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      const int fd = open(config_.c_str(), O_RDWR | O_CREAT, 0600);
      struct flock lock {};
      lock.l_type = F_WRLCK;
      lock.l_whence = SEEK_SET;
      lock.l_start = 64;
      lock.l_len = 128;
      const char ok = fd >= 0 && fcntl(fd, F_SETLK, &lock) == 0 ? '1' : '0';
      if (write(ready[1], &ok, 1) != 1) _exit(1);
      for (;;) pause();
    }
    close(ready[1]);
    char ok = 0;
    ASSERT_EQ(read(ready[0], &ok, 1), 1);
    close(ready[0]);
    ASSERT_EQ(ok, '1') << "the child could not lock " << config_;
  }

  std::string dir_, config_;
  pid_t child_ = -1;
};

TEST_F(AttachTest, RuntimeDirectoryIsEalsOwn) {
  const std::string dir = dpdk_runtime_dir("wsp0");
  if (getuid() == 0) {
    EXPECT_EQ(dir, "/var/run/dpdk/wsp0");
  } else {
    EXPECT_EQ(dir.substr(dir.size() - 10), "/dpdk/wsp0") << dir;
  }
}

TEST_F(AttachTest, NoDirectoryOrNoLockIsNoPrimary) {
  EXPECT_FALSE(primary_running(test_prefix()));
  make_dirs(dir_);
  const int fd = open(config_.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  close(fd);
  EXPECT_FALSE(primary_running(test_prefix())) << "a file left by a killed primary";
}

// The lock goes the moment the holder dies, before anyone reaps it; so does
// process_running(), which kill(pid, 0) alone would not (zombies).
TEST_F(AttachTest, APrimaryIsSeenUntilItDiesEvenUnreaped) {
  ASSERT_NO_FATAL_FAILURE(start_fake_primary());
  EXPECT_TRUE(primary_running(test_prefix()));
  EXPECT_TRUE(process_running(static_cast<uint32_t>(child_)));
  ASSERT_EQ(kill(child_, SIGKILL), 0);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !primary_running(test_prefix()) && !process_running(static_cast<uint32_t>(child_));
    if (!gone) usleep(5000);
  }
  EXPECT_TRUE(gone) << "still seen 1 s after SIGKILL";
  EXPECT_EQ(kill(child_, 0), 0) << "the test means to look at an unreaped (zombie) child";
  ASSERT_EQ(waitpid(child_, nullptr, 0), child_);
  child_ = -1;
  EXPECT_TRUE(process_running(static_cast<uint32_t>(getpid())));
  EXPECT_FALSE(process_running(0));
}

TEST_F(AttachTest, WithoutADataplaneAttachGivesUpOrStops) {
  config::Config cfg;
  cfg.file_prefix = test_prefix();
  std::atomic<bool> stop{false};
  EXPECT_EQ(attach_dataplane(cfg, "attach_test", 0, stop, true), AttachOutcome::kNoDataplane);
  // The wait is the behaviour under test: a lower bound, never an upper one.
  const auto t1 = std::chrono::steady_clock::now();
  EXPECT_EQ(attach_dataplane(cfg, "attach_test", 1, stop, true), AttachOutcome::kNoDataplane);
  EXPECT_GE(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(1000))
      << "1 means wait a second";
  stop.store(true);
  EXPECT_EQ(attach_dataplane(cfg, "attach_test", 60, stop, true), AttachOutcome::kStopped);
}

}  // namespace
}  // namespace wirespeed::controlplane::app
