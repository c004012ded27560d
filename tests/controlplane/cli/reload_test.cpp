// `wirespeed reload`'s way of finding the control plane: SO_PEERCRED on a
// unix socket someone listens on. Tested against a socket this test listens
// on (so the expected pid is ours), a path with nobody behind it, and a file
// that is not a socket. The signal itself is the lab test's (cli_lab_test).
#include "controlplane/cli/reload.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed::controlplane::cli {
namespace {

using test::cli::TempDir;

TEST(ReloadTest, ListenerPidIsThePidOfTheListeningProcess) {
  TempDir dir;
  const std::string path = dir.path() + "/wsp9.sock";
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  std::string error;
  EXPECT_EQ(listener_pid(path, &error), getpid()) << error;
  close(fd);
  // Nobody listens any more: the socket file remains, connect is refused.
  EXPECT_EQ(listener_pid(path, &error), -1);
  EXPECT_EQ(error, path + ": Connection refused");
}

TEST(ReloadTest, NoSocketOrNotASocketIsAnError) {
  TempDir dir;
  std::string error;
  EXPECT_EQ(listener_pid(dir.path() + "/none.sock", &error), -1);
  EXPECT_EQ(error, dir.path() + "/none.sock: No such file or directory");
  const std::string file = dir.write("plain", "x");
  EXPECT_EQ(listener_pid(file, &error), -1);
  EXPECT_EQ(error, file + ": Connection refused");
  EXPECT_EQ(listener_pid(std::string(200, 'x'), &error), -1);
  EXPECT_NE(error.find("path too long"), std::string::npos);
}

TEST(ReloadTest, ProcessNameReadsProcComm) {
  EXPECT_EQ(process_name(getpid()), "cli_test");
  EXPECT_EQ(process_name(0x7ffffff0), "");
}

}  // namespace
}  // namespace wirespeed::controlplane::cli
