// Tests for the control plane's log (controlplane/app/log.hpp): one line per
// event with an ISO 8601 UTC time and the level, filtering by level, the
// journal's priority prefix instead of a time under systemd, and peer labels
// that never carry more than a short prefix of a public key.
#include "controlplane/app/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <string>

namespace wirespeed::controlplane::app {
namespace {

// Captures what log() writes to stdout (fd 1) into a temporary file.
class StdoutCapture {
 public:
  StdoutCapture() {
    char path[] = "/tmp/ws-log-test.XXXXXX";
    fd_ = ::mkstemp(path);
    ::unlink(path);
    saved_ = ::dup(STDOUT_FILENO);
    std::fflush(stdout);
    ::dup2(fd_, STDOUT_FILENO);
  }
  ~StdoutCapture() { restore(); }
  std::string text() {
    restore();
    std::string out;
    char buf[4096];
    ::lseek(fd_, 0, SEEK_SET);
    for (ssize_t n; (n = ::read(fd_, buf, sizeof(buf))) > 0;) out.append(buf, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDOUT_FILENO);
    ::close(saved_);
    saved_ = -1;
  }
  int fd_ = -1;
  int saved_ = -1;
};

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { set_log_level(LogLevel::kInfo); }
  void TearDown() override { set_log_level(LogLevel::kInfo); }
};

TEST_F(LogTest, OneLineWithUtcTimeLevelAndMessage) {
  StdoutCapture cap;
  log(LogLevel::kInfo, "peer %s up", "branch-1");
  const std::string out = cap.text();
  // 2026-12-01T06:41:07.123Z info: peer branch-1 up
  const std::regex line(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z info: peer branch-1 up\n)");
  EXPECT_TRUE(std::regex_match(out, line)) << out;
}

TEST_F(LogTest, LevelsBelowTheSetOneAreNotWritten) {
  StdoutCapture cap;
  set_log_level(LogLevel::kWarning);
  log(LogLevel::kDebug, "d");
  log(LogLevel::kInfo, "i");
  log(LogLevel::kWarning, "w");
  log(LogLevel::kError, "e");
  EXPECT_EQ(log_level(), LogLevel::kWarning);
  const std::string out = cap.text();
  EXPECT_EQ(out.find(": d\n"), std::string::npos);
  EXPECT_EQ(out.find(": i\n"), std::string::npos);
  EXPECT_NE(out.find(" warning: w\n"), std::string::npos) << out;
  EXPECT_NE(out.find(" error: e\n"), std::string::npos) << out;
}

TEST_F(LogTest, DebugShowsEverything) {
  StdoutCapture cap;
  set_log_level(LogLevel::kDebug);
  log(LogLevel::kDebug, "handshake initiation sent");
  EXPECT_NE(cap.text().find(" debug: handshake initiation sent\n"), std::string::npos);
}

TEST_F(LogTest, AMessageWithNewlinesStaysOneLine) {
  StdoutCapture cap;
  log(LogLevel::kWarning, "uapi: %s", "bad\nrequest\r\x1b[2J");
  const std::string out = cap.text();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_NE(out.find("uapi: bad?request??[2J\n"), std::string::npos) << out;
}

TEST_F(LogTest, AVeryLongMessageIsCut) {
  StdoutCapture cap;
  const std::string big(5000, 'x');
  log(LogLevel::kInfo, "%s", big.c_str());
  const std::string out = cap.text();
  EXPECT_LT(out.size(), 1200u);
  EXPECT_NE(out.find("x...\n"), std::string::npos);
}

TEST(LogLevelName, EveryLevel) {
  EXPECT_STREQ(log_level_name(LogLevel::kError), "error");
  EXPECT_STREQ(log_level_name(LogLevel::kWarning), "warning");
  EXPECT_STREQ(log_level_name(LogLevel::kInfo), "info");
  EXPECT_STREQ(log_level_name(LogLevel::kDebug), "debug");
}

TEST(PeerLabel, NameWhenGivenElseEightCharactersOfTheKey) {
  uint8_t key[32];
  for (int i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i * 9 + 1);
  EXPECT_EQ(peer_label("branch-1", key), "branch-1");
  const std::string l = peer_label("", key);
  // base64 of 01 0a 13 1c 25 2e ... starts "AQoTHCUu"
  EXPECT_EQ(l, "AQoTHCUu\xE2\x80\xA6");
}

TEST(PeerLabel, ANameCannotBreakTheLine) {
  uint8_t key[32] = {};
  EXPECT_EQ(peer_label("evil\nname", key), "evil?name");
}

// Under systemd, stdout is the journal's stream: the line carries the
// sd-daemon priority and no time (the journal stamps it). Run in a child so
// the decision (made once per process) does not leak into other tests.
TEST(LogJournal, PriorityPrefixInsteadOfATimeWhenStdoutIsTheJournal) {
  char path[] = "/tmp/ws-log-journal.XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::dup2(fd, STDOUT_FILENO);
    struct stat st;
    ::fstat(STDOUT_FILENO, &st);
    const std::string stream = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                               std::to_string(static_cast<unsigned long long>(st.st_ino));
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);
    log(LogLevel::kWarning, "peer %s down", "b");
    log(LogLevel::kError, "oops");
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  std::string out;
  char buf[256];
  ::lseek(fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) out.append(buf, n);
  ::close(fd);
  ::unlink(path);
  EXPECT_EQ(out, "<4>warning: peer b down\n<3>error: oops\n");
}

}  // namespace
}  // namespace wirespeed::controlplane::app
