// Tests for the UAPI socket server (controlplane/uapi/server.hpp) over real
// unix sockets in a temporary directory, with a fake Backend: permissions,
// taking over only stale sockets, partial reads, several clients at once,
// pipelined requests, and clients that send garbage, too much, or nothing.
#include "controlplane/uapi/server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

namespace wirespeed::controlplane::uapi {
namespace {

constexpr uint64_t kSecond = 1000ULL * 1000 * 1000;

class CountingBackend : public Backend {
 public:
  DeviceInfo get() override {
    ++gets;
    DeviceInfo info;
    info.listen_port = port;
    return info;
  }
  int set(const SetRequest& request) override {
    ++sets;
    if (request.listen_port) port = *request.listen_port;
    return 0;
  }
  int gets = 0, sets = 0;
  uint16_t port = 51820;
};

class UapiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ws-uapi-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    root_ = tmpl;
    options_.directory = root_ + "/wireguard";  // created by the server
  }
  void TearDown() override {
    server_.reset();
    std::system(("rm -rf " + root_).c_str());
  }

  void start(const char* name = "wsp0") {
    auto s = Server::listen(name, options_);
    ASSERT_TRUE(s.ok()) << s.error().context << ": " << std::strerror(s.error().sys_errno);
    server_ = std::move(*s);
  }

  int connect_client() {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, server_->path().c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << std::strerror(errno);
    return fd;
  }

  void send_text(int fd, const std::string& text) {
    ASSERT_EQ(send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
  }

  void poll_once() {
    std::string message;
    server_->poll(backend_, now_, &message);
    if (!message.empty()) messages_ += message + "\n";
  }

  // Polls the server and reads `fd` until `replies` replies ("errno=N\n\n")
  // arrived, the client saw EOF, or 500 rounds passed. *eof tells which.
  std::string exchange(int fd, int replies = 1, bool* eof = nullptr) {
    std::string got;
    bool closed = false;
    for (int round = 0; round < 500; ++round) {
      poll_once();
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      if (n == 0) {
        closed = true;
        break;
      }
      int seen = 0;
      for (size_t at = got.find("errno="); at != std::string::npos;
           at = got.find("errno=", at + 1)) {
        if (got.find("\n\n", at) != std::string::npos) ++seen;
      }
      if (seen >= replies) break;
      usleep(200);
    }
    if (eof != nullptr) *eof = closed;
    return got;
  }

  // True when the server closed `fd` (EOF within a few polls).
  bool closed_by_server(int fd) {
    bool eof = false;
    exchange(fd, 1000, &eof);
    return eof;
  }

  std::string root_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  CountingBackend backend_;
  uint64_t now_ = 1000 * kSecond;
  std::string messages_;
};

TEST_F(UapiServerTest, SocketIsOwnerOnlyInA0755Directory) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(server_->path(), options_.directory + "/wsp0.sock");
  struct stat st {};
  ASSERT_EQ(stat(options_.directory.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(lstat(server_->path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());
}

TEST_F(UapiServerTest, GetAndSetOverTheSocket) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, "get=1\n\n");
  EXPECT_EQ(exchange(fd), "listen_port=51820\nerrno=0\n\n");
  send_text(fd, "set=1\nlisten_port=51999\n\n");
  EXPECT_EQ(exchange(fd), "errno=0\n\n");
  EXPECT_EQ(backend_.port, 51999);
  close(fd);
}

TEST_F(UapiServerTest, ARequestSplitIntoManyWritesIsAnsweredOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  const std::string request = "set=1\nlisten_port=4242\n\n";
  for (char c : request) {
    EXPECT_EQ(backend_.sets, 0);
    send_text(fd, std::string(1, c));
    poll_once();
  }
  EXPECT_EQ(exchange(fd), "errno=0\n\n");
  EXPECT_EQ(backend_.sets, 1);
  EXPECT_EQ(backend_.port, 4242);
  close(fd);
}

TEST_F(UapiServerTest, PipelinedRequestsAreAnsweredInOrder) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, "get=1\n\nset=1\nlisten_port=7\n\nget=1\n\n");
  EXPECT_EQ(exchange(fd, 3), "listen_port=51820\nerrno=0\n\nerrno=0\n\nlisten_port=7\nerrno=0\n\n");
  close(fd);
}

TEST_F(UapiServerTest, SeveralClientsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start());
  int fds[6];
  for (int& fd : fds) fd = connect_client();
  // Half a request from each, then the rest, in reverse order.
  for (int fd : fds) send_text(fd, "get");
  poll_once();
  EXPECT_EQ(server_->client_count(), 6u);
  for (int i = 5; i >= 0; --i) send_text(fds[i], "=1\n\n");
  for (int fd : fds) EXPECT_EQ(exchange(fd), "listen_port=51820\nerrno=0\n\n");
  EXPECT_EQ(backend_.gets, 6);
  for (int fd : fds) close(fd);
  for (int i = 0; i < 5; ++i) poll_once();
  EXPECT_EQ(server_->client_count(), 0u);
}

TEST_F(UapiServerTest, MalformedSetGetsErrnoAndTheConnectionStaysUsable) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, "set=1\nlisten_port=0\n\n");
  EXPECT_EQ(exchange(fd), "errno=-22\n\n");
  EXPECT_EQ(backend_.sets, 0);
  EXPECT_NE(messages_.find("listen_port"), std::string::npos) << messages_;
  send_text(fd, "get=1\n\n");
  EXPECT_EQ(exchange(fd), "listen_port=51820\nerrno=0\n\n");
  close(fd);
}

TEST_F(UapiServerTest, GarbageGetsErrnoAndIsDisconnected) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n", 12));
  bool eof = false;
  EXPECT_EQ(exchange(fd, 1000, &eof), "errno=-22\n\n");
  EXPECT_TRUE(eof);
  EXPECT_EQ(backend_.gets + backend_.sets, 0);
  close(fd);
  // Still serving.
  const int again = connect_client();
  send_text(again, "get=1\n\n");
  EXPECT_EQ(exchange(again), "listen_port=51820\nerrno=0\n\n");
  close(again);
}

TEST_F(UapiServerTest, TooLargeARequestGetsEmsgsizeAndIsDisconnected) {
  options_.max_request = 4096;
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  std::string big = "set=1\n";
  while (big.size() < 3 * options_.max_request) big += "listen_port=1\n";
  send_text(fd, big);
  bool eof = false;
  EXPECT_EQ(exchange(fd, 1000, &eof), "errno=-" + std::to_string(EMSGSIZE) + "\n\n");
  EXPECT_TRUE(eof);
  EXPECT_EQ(backend_.sets, 0);
  close(fd);
  // A request just under the limit is fine.
  const int ok = connect_client();
  std::string fits = "set=1\n";
  while (fits.size() + 16 < options_.max_request) fits += "listen_port=1\n";
  send_text(ok, fits + "\n");
  EXPECT_EQ(exchange(ok), "errno=0\n\n");
  close(ok);
}

TEST_F(UapiServerTest, ClientThatConnectsAndClosesIsHarmless) {
  ASSERT_NO_FATAL_FAILURE(start());
  close(connect_client());
  const int half = connect_client();
  send_text(half, "set=1\nlisten_port=9\n");  // no blank line, then gone
  close(half);
  for (int i = 0; i < 5; ++i) poll_once();
  EXPECT_EQ(server_->client_count(), 0u);
  EXPECT_EQ(backend_.sets, 0);
}

TEST_F(UapiServerTest, HalfClosedClientStillGetsItsReply) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, "get=1\n\n");
  shutdown(fd, SHUT_WR);
  bool eof = false;
  EXPECT_EQ(exchange(fd, 1000, &eof), "listen_port=51820\nerrno=0\n\n");
  EXPECT_TRUE(eof);
  close(fd);
}

TEST_F(UapiServerTest, IdleClientIsDisconnected) {
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, "get=");
  poll_once();
  EXPECT_EQ(server_->client_count(), 1u);
  now_ += options_.idle_timeout_ns + kSecond;
  EXPECT_TRUE(closed_by_server(fd));
  EXPECT_EQ(server_->client_count(), 0u);
  EXPECT_NE(messages_.find("idle"), std::string::npos) << messages_;
  close(fd);
}

TEST_F(UapiServerTest, ClientsBeyondTheLimitAreClosed) {
  options_.max_clients = 2;
  ASSERT_NO_FATAL_FAILURE(start());
  const int a = connect_client(), b = connect_client();
  poll_once();
  const int c = connect_client();
  EXPECT_TRUE(closed_by_server(c));
  // Many more in the same second: each closed, the log told once.
  int extra[5];
  for (int& fd : extra) fd = connect_client();
  for (int fd : extra) EXPECT_TRUE(closed_by_server(fd));
  for (int fd : extra) close(fd);
  size_t notes = 0;
  for (size_t at = messages_.find("refusing more"); at != std::string::npos;
       at = messages_.find("refusing more", at + 1)) {
    ++notes;
  }
  EXPECT_EQ(notes, 1u) << messages_;
  send_text(a, "get=1\n\n");
  EXPECT_EQ(exchange(a), "listen_port=51820\nerrno=0\n\n");
  close(a);
  close(b);
  close(c);
}

TEST_F(UapiServerTest, RefusesASocketAnotherProcessServes) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto second = Server::listen("wsp0", options_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().sys_errno, EADDRINUSE);
  EXPECT_NE(std::string(second.error().context).find("another process"), std::string::npos);
  // The first one is untouched and still answers.
  const int fd = connect_client();
  send_text(fd, "get=1\n\n");
  EXPECT_EQ(exchange(fd), "listen_port=51820\nerrno=0\n\n");
  close(fd);
}

TEST_F(UapiServerTest, ReplacesAStaleSocket) {
  ASSERT_EQ(mkdir(options_.directory.c_str(), 0755), 0);
  const std::string path = options_.directory + "/wsp0.sock";
  const int stale = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(stale, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(stale);  // the file stays; nobody accepts on it
  ASSERT_NO_FATAL_FAILURE(start());
  const int fd = connect_client();
  send_text(fd, "get=1\n\n");
  EXPECT_EQ(exchange(fd), "listen_port=51820\nerrno=0\n\n");
  close(fd);
}

TEST_F(UapiServerTest, LeavesAFileThatIsNotASocketAlone) {
  ASSERT_EQ(mkdir(options_.directory.c_str(), 0755), 0);
  const std::string path = options_.directory + "/wsp0.sock";
  ASSERT_EQ(std::system(("echo keep >" + path).c_str()), 0);
  auto s = Server::listen("wsp0", options_);
  ASSERT_FALSE(s.ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(UapiServerTest, RejectsNamesWgCannotUse) {
  for (const char* bad : {"", "a/b", "..", ".", "sixteen-chars-xx"}) {
    auto s = Server::listen(bad, options_);
    EXPECT_FALSE(s.ok()) << "'" << bad << "'";
  }
}

TEST_F(UapiServerTest, RemovesItsSocketOnDestruction) {
  ASSERT_NO_FATAL_FAILURE(start());
  const std::string path = server_->path();
  server_.reset();
  struct stat st {};
  EXPECT_NE(lstat(path.c_str(), &st), 0);
}

}  // namespace
}  // namespace wirespeed::controlplane::uapi
