// No key the UAPI handles in hex outlives the request or reply it is in
// (controlplane/uapi/protocol.cpp, server.cpp, crypto/secret.hpp's
// SecretString). This binary replaces the global operator new and delete:
// while armed, every heap block freed is searched for the hex of the keys
// under test before it goes back to malloc. Stack copies are not seen here;
// the one there is (append_key_line) is wiped by hand.
#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "controlplane/uapi/protocol.hpp"
#include "controlplane/uapi/server.hpp"

namespace {

// What the replaced delete looks for: up to four 64-character needles, in
// static storage (delete must not allocate).
constexpr int kMaxNeedles = 4;
char g_needles[kMaxNeedles][64];
int g_needle_count = 0;
std::atomic<bool> g_armed{false};
std::atomic<int> g_leaked_blocks{0};

void inspect(void* p) noexcept {
  if (p == nullptr || !g_armed.load(std::memory_order_relaxed)) return;
  const size_t size = malloc_usable_size(p);
  for (int i = 0; i < g_needle_count; ++i) {
    if (memmem(p, size, g_needles[i], 64) != nullptr) {
      g_leaked_blocks.fetch_add(1);
      return;
    }
  }
}

}  // namespace

void* operator new(size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) {
  return operator new(n);
}
void operator delete(void* p) noexcept {
  inspect(p);
  std::free(p);
}
void operator delete[](void* p) noexcept {
  operator delete(p);
}
void operator delete(void* p, size_t) noexcept {
  operator delete(p);
}
void operator delete[](void* p, size_t) noexcept {
  operator delete(p);
}

namespace wirespeed::controlplane::uapi {
namespace {

std::string hex_of(const uint8_t* key) {
  char text[65];
  sodium_bin2hex(text, sizeof(text), key, 32);
  return std::string(text, 64);
}

crypto::Key key_of(uint8_t seed) {
  crypto::Key k;
  for (size_t i = 0; i < 32; ++i) k.data()[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return k;
}

class UapiWipe : public ::testing::Test {
 protected:
  void SetUp() override {
    g_needle_count = 0;
    g_leaked_blocks = 0;
  }
  void TearDown() override { g_armed = false; }

  void look_for(const crypto::Key& key) {
    ASSERT_LT(g_needle_count, kMaxNeedles);
    std::memcpy(g_needles[g_needle_count++], hex_of(key.data()).data(), 64);
  }
  // Blocks freed with a needle in them while `f` ran.
  template <typename F>
  int leaks_during(F f) {
    g_leaked_blocks = 0;
    g_armed = true;
    f();
    g_armed = false;
    return g_leaked_blocks.load();
  }
};

// The net under the rest: a std::string holding a key's hex, freed, is seen.
TEST_F(UapiWipe, TheScannerSeesAPlainStringFreed) {
  const crypto::Key key = key_of(1);
  look_for(key);
  EXPECT_EQ(leaks_during([&] {
              std::string copy = hex_of(key.data());
              copy += std::string(100, 'x');  // grows: the first block is freed too
            }),
            2);
  EXPECT_EQ(leaks_during([&] {
              crypto::SecretString copy;
              copy.reserve(80);
              const std::string hex = hex_of(key.data());  // freed unwiped: 1
              copy.append(hex);
              copy += std::string(200, 'x');  // grows: the old block is wiped
            }),
            1);
}

// A get reply big enough to reallocate as it is built: private key and
// preshared keys in hex, and nothing of them left once the reply is gone.
TEST_F(UapiWipe, GetReplyLeavesNoKeyBehind) {
  const crypto::Key private_key = key_of(2);
  const crypto::Key psk_first = key_of(3), psk_last = key_of(4);
  look_for(private_key);
  look_for(psk_first);
  look_for(psk_last);
  DeviceInfo info;
  info.private_key = &private_key;
  info.listen_port = 51820;
  for (int i = 0; i < 40; ++i) {
    PeerInfo p;
    std::memcpy(p.public_key.data(), key_of(static_cast<uint8_t>(10 + i)).data(), 32);
    if (i == 0) p.preshared_key = psk_first.clone();
    if (i == 39) p.preshared_key = psk_last.clone();
    for (int a = 0; a < 20; ++a) {  // well past the 320 bytes a peer is reserved
      auto prefix =
          peers::parse_prefix("10." + std::to_string(i) + "." + std::to_string(a) + ".0/24");
      ASSERT_TRUE(prefix.ok());
      p.allowed_ips.push_back(*prefix);
    }
    info.peers.push_back(std::move(p));
  }
  size_t reply_size = 0;
  EXPECT_EQ(leaks_during([&] {
              SecretString reply = format_get(info);
              reply_size = reply.size();
            }),
            0);
  EXPECT_GT(reply_size, 40u * 20u * 20u) << "the reply should have outgrown its reservation";
}

class KeyBackend : public Backend {
 public:
  explicit KeyBackend(const crypto::PrivateKey* key) : key_(key) {}
  DeviceInfo get() override {
    DeviceInfo info;
    info.private_key = key_;
    return info;
  }
  int set(const SetRequest& request) override {
    if (request.private_key) took_key = request.private_key->equals(*key_);
    return 0;
  }
  bool took_key = false;

 private:
  const crypto::PrivateKey* key_;
};

// A set carrying the private key, sent in pieces so the server's buffer
// grows, then a get whose reply carries it back; the client hangs up. The
// server, polled only while armed, frees nothing with the key in it.
TEST_F(UapiWipe, ServerLeavesNoKeyBehind) {
  char tmpl[] = "/tmp/ws-uapi-wipe-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  const crypto::Key key = key_of(5);
  look_for(key);
  KeyBackend backend(&key);
  ServerOptions options;
  options.directory = root;
  auto server = Server::listen("wswipe0", options);
  ASSERT_TRUE(server.ok()) << server.error().context;

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, (*server)->path().c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
      << std::strerror(errno);
  std::string request = "set=1\nprivate_key=" + hex_of(key.data()) + "\nlisten_port=51820\n";
  for (int i = 0; i < 40; ++i)
    request += "public_key=" + hex_of(key_of(static_cast<uint8_t>(20 + i)).data()) + "\n";
  request += "\nget=1\n\n";
  std::string message;
  uint64_t now = 1'000'000'000;
  int leaks = 0;
  // In pieces of 17 bytes, polled after each: the request grows in the server.
  for (size_t at = 0; at < request.size(); at += 17) {
    const size_t n = std::min<size_t>(17, request.size() - at);
    ASSERT_EQ(send(fd, request.data() + at, n, MSG_NOSIGNAL), static_cast<ssize_t>(n));
    leaks += leaks_during([&] { (*server)->poll(backend, now += 1000, &message); });
  }
  std::string reply;
  char buf[4096];
  for (int round = 0; round < 200 && reply.find("private_key=") == std::string::npos; ++round) {
    leaks += leaks_during([&] { (*server)->poll(backend, now += 1000, &message); });
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  for (int round = 0; round < 5; ++round) {
    leaks += leaks_during([&] { (*server)->poll(backend, now += 1000, &message); });
  }
  EXPECT_EQ((*server)->client_count(), 0u) << message;
  leaks += leaks_during([&] { server->reset(); });
  EXPECT_TRUE(backend.took_key) << message;
  EXPECT_NE(reply.find("private_key=" + hex_of(key.data())), std::string::npos) << reply;
  EXPECT_EQ(leaks, 0) << "heap blocks freed with the key's hex in them";
  std::system(("rm -rf " + root).c_str());
}

}  // namespace
}  // namespace wirespeed::controlplane::uapi
