// Telling a hung main lcore from a starved one (controlplane/app/heartbeat.hpp):
// the judgement on scripted thread samples, then sample_thread on real
// threads and processes (running, spinning, sleeping, stopped, gone).
#include "controlplane/app/heartbeat.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace wirespeed::controlplane::app {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kBeat = 1'000 * kMs;  // the heartbeat the tests leave stale
constexpr uint64_t kCheck = 50 * kMs;    // the agent's liveness interval

ThreadSample thread_in(char state, uint64_t cpu_ns = 0) {
  return {true, state, cpu_ns};
}

class Judge : public ::testing::Test {
 protected:
  // One check at now_ns with the heartbeat at beat_ns and the thread as `s`.
  bool check(uint64_t now_ns, ThreadSample s, uint64_t beat_ns = kBeat) {
    why_ = nullptr;
    return judge_.alive(
        now_ns, beat_ns,
        [&] {
          ++samples_;
          return s;
        },
        &why_);
  }
  std::string why() const { return why_ == nullptr ? "(none)" : why_; }

  HeartbeatJudge judge_;
  const char* why_ = nullptr;
  int samples_ = 0;
};

constexpr uint64_t kStale = kBeat + HeartbeatJudge::kStaleAfter + kMs;

TEST_F(Judge, FreshHeartbeatNeverLooksAtTheThread) {
  EXPECT_TRUE(check(kBeat + HeartbeatJudge::kStaleAfter, thread_in('T')));
  EXPECT_TRUE(check(kBeat - kMs, thread_in('T')));  // a beat "from the future": clocks per CPU
  EXPECT_EQ(samples_, 0);
}

TEST_F(Judge, StoppedThreadIsHungAtOnce) {
  EXPECT_FALSE(check(kStale, thread_in('T')));
  EXPECT_NE(why().find("stopped"), std::string::npos) << why();
  HeartbeatJudge traced;
  const char* why = nullptr;
  EXPECT_FALSE(traced.alive(
      kStale, kBeat,
      [] {
        return ThreadSample{true, 't', 0};
      },
      &why));
}

TEST_F(Judge, BlockedThreadIsHungOnTheSecondCheck) {
  EXPECT_TRUE(check(kStale, thread_in('S')));
  EXPECT_FALSE(check(kStale + kCheck, thread_in('D')));
  EXPECT_NE(why().find("blocked"), std::string::npos) << why();
}

TEST_F(Judge, ABeatBetweenTwoSleepingSamplesStartsAgain) {
  EXPECT_TRUE(check(kStale, thread_in('S')));
  // It ran its loop (a new heartbeat) and is in its 200 µs sleep again.
  const uint64_t beat = kBeat + 10 * kMs;
  EXPECT_TRUE(check(beat + HeartbeatJudge::kStaleAfter + kMs, thread_in('S'), beat));
  EXPECT_FALSE(check(beat + HeartbeatJudge::kStaleAfter + kMs + kCheck, thread_in('S'), beat));
}

TEST_F(Judge, RunnableWithoutCpuIsStarvedAndWaitedFor) {
  // 50 s of checks: runnable, CPU time creeping (less than 1 s in all).
  int began = 0;
  for (uint64_t t = kStale, cpu = 7 * kMs; t < kBeat + 50'000 * kMs; t += kCheck, cpu += kMs / 2) {
    ASSERT_TRUE(check(t, thread_in('R', cpu))) << "at " << (t - kBeat) / kMs << " ms: " << why();
    began += judge_.starvation_began();
  }
  EXPECT_EQ(began, 1);
  EXPECT_GT(judge_.starved_checks(), 900u);
  // It gets its CPU and beats: a later stall is a new stretch.
  const uint64_t beat = kBeat + 50'000 * kMs;
  EXPECT_TRUE(check(beat + HeartbeatJudge::kStaleAfter + kMs, thread_in('R', 0), beat));
  EXPECT_TRUE(judge_.starvation_began());
}

TEST_F(Judge, RunnableThatBurnsCpuWithoutBeatingSpins) {
  EXPECT_TRUE(check(kStale, thread_in('R', 5'000 * kMs)));
  EXPECT_TRUE(check(kStale + kCheck, thread_in('R', 5'900 * kMs)));
  EXPECT_FALSE(check(kStale + 2 * kCheck, thread_in('R', 6'000 * kMs)));
  EXPECT_NE(why().find("spins"), std::string::npos) << why();
}

TEST_F(Judge, AMinuteStaleIsHungWhateverTheThreadDoes) {
  EXPECT_TRUE(check(kStale, thread_in('R', 0)));
  EXPECT_FALSE(check(kBeat + HeartbeatJudge::kGiveUpAfter + kMs, thread_in('R', 0)));
  EXPECT_NE(why().find("minute"), std::string::npos) << why();
}

TEST_F(Judge, AThreadThatIsGoneIsLeftToTheLivenessCheck) {
  EXPECT_TRUE(check(kStale, ThreadSample{}));
  EXPECT_TRUE(check(kStale + kCheck, ThreadSample{}));
}

// --- sample_thread on real threads ---

pid_t fork_or_die(void (*body)()) {
  const pid_t pid = fork();
  if (pid == 0) {
    body();
    _exit(0);
  }
  return pid;
}

void reap(pid_t pid) {
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// Polls until the child's main thread is in `state` (up to 2 s).
ThreadSample wait_for_state(pid_t pid, char state) {
  ThreadSample s;
  for (int i = 0; i < 200; ++i) {
    s = sample_thread(pid, pid);
    if (s.ok && s.state == state) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return s;
}

TEST(SampleThread, ThisThreadRunsAndItsCpuTimeGrows) {
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  const ThreadSample before = sample_thread(getpid(), tid);
  ASSERT_TRUE(before.ok);
  EXPECT_EQ(before.state, 'R');  // reading its own stat, it is running
  // Spins until the kernel has charged it 20 ms more (a couple of clock
  // ticks), giving up after 10 s.
  const auto t0 = std::chrono::steady_clock::now();
  ThreadSample after = before;
  volatile uint64_t spin = 0;
  while (after.ok && after.cpu_ns < before.cpu_ns + 20 * kMs &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    for (int i = 0; i < 1'000'000; ++i) spin = spin + 1;
    after = sample_thread(getpid(), tid);
  }
  ASSERT_TRUE(after.ok);
  EXPECT_GE(after.cpu_ns, before.cpu_ns + 20 * kMs) << "10 s of spinning were not charged";
}

TEST(SampleThread, SleepingStoppedAndGoneChildren) {
  const pid_t sleeper = fork_or_die([] {
    for (;;) pause();
  });
  ASSERT_GT(sleeper, 0);
  EXPECT_EQ(wait_for_state(sleeper, 'S').state, 'S');

  kill(sleeper, SIGSTOP);
  int status = 0;
  ASSERT_EQ(waitpid(sleeper, &status, WUNTRACED), sleeper);
  ASSERT_TRUE(WIFSTOPPED(status));
  const ThreadSample stopped = sample_thread(sleeper, sleeper);
  ASSERT_TRUE(stopped.ok);
  EXPECT_EQ(stopped.state, 'T');
  reap(sleeper);

  EXPECT_FALSE(sample_thread(sleeper, sleeper).ok) << "a reaped child has no stat";
}

TEST(SampleThread, ASpinningChildIsRunnableAndJudgedSpinning) {
  const pid_t spinner = fork_or_die([] {
    volatile uint64_t spin = 0;
    for (;;) spin = spin + 1;
  });
  ASSERT_GT(spinner, 0);
  // A heartbeat that never moves, judged on the child as the agent would.
  HeartbeatJudge judge;
  const char* why = nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  bool alive = true;
  uint64_t now = kStale;
  while (alive && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    alive = judge.alive(
        now, kBeat, [&] { return sample_thread(spinner, spinner); }, &why);
    now += kCheck;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  reap(spinner);
  EXPECT_FALSE(alive) << "a child spinning for 10 s was never judged hung";
  ASSERT_NE(why, nullptr);
  EXPECT_NE(std::string(why).find("spins"), std::string::npos) << why;
}

}  // namespace
}  // namespace wirespeed::controlplane::app
