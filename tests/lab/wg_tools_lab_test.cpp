// Debian's `wg` (wireguard-tools) against the running gateway, through the
// control plane's UAPI socket /var/run/wireguard/<name>.sock, each command
// checked by its effect on real traffic with wireguard-go peers:
//   show / show dump     keys, port, endpoint, allowed IPs, a recent latest
//                        handshake, transfer counters that grow with pings
//   showconf | setconf   accepted, nothing changes, no new handshake
//   set                  a second peer (a second wireguard-go in the remote's
//                        namespace) added, passing traffic, changed (allowed
//                        IPs, endpoint, keepalive, preshared key) and removed;
//                        the first peer's session untouched meanwhile
//   set listen-port      the gateway moves; wireguard-go follows it
//   set private-key      a new identity: the remote must learn the new key
//   setconf / syncconf   replace_peers drops a peer, syncconf brings it back
//   raw malformed        errno= replies, the control plane keeps serving
//   SIGHUP reload        during a transfer: the unchanged peer keeps its
//                        session (no new handshake), an added peer works, an
//                        invalid file is rejected whole
//
// The second peer: wireguard-go "w2-TAG" in ns remote-TAG, 10.8.2.2/24, UDP
// 51830, with a policy route so that what it answers from 10.8.2.2 leaves
// through its own tunnel (the first peer's wg-TAG owns 10.8.0.0/24 in the
// main table). The LAN host routes 10.8.2.0/24 through the gateway.
//
// Needs what gateway_lab_test needs (root, wg, wireguard-go, hugepages, the
// gateway binaries); a missing one fails with its name.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "tests/lab/gateway_lab.hpp"
#include "tests/lab/wireguard_go_peer.hpp"

namespace wirespeed::test::lab {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr int kTransferTimeoutMs = 120 * 1000;
constexpr const char* kSecondPort = "51830";

// One line of `wg show NAME dump` for a peer.
struct DumpPeer {
  std::string public_key, preshared_key, endpoint, allowed_ips, keepalive;
  int64_t latest_handshake = -1;
  int64_t rx = -1, tx = -1;
};

struct Dump {
  std::string private_key, public_key;
  std::string listen_port;
  std::map<std::string, DumpPeer> peers;  // by public key
  std::string text;
};

bool parse_dump(const std::string& text, Dump* out) {
  *out = Dump{};
  out->text = text;
  std::istringstream lines(text);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string x; std::getline(fields, x, '\t');) f.push_back(x);
    if (first) {
      if (f.size() != 4) return false;
      out->private_key = f[0];
      out->public_key = f[1];
      out->listen_port = f[2];
      first = false;
      continue;
    }
    if (f.size() != 8) return false;
    DumpPeer p;
    p.public_key = f[0];
    p.preshared_key = f[1];
    p.endpoint = f[2];
    p.allowed_ips = f[3];
    p.latest_handshake = std::atoll(f[4].c_str());
    p.rx = std::atoll(f[5].c_str());
    p.tx = std::atoll(f[6].c_str());
    p.keepalive = f[7];
    out->peers[p.public_key] = p;
  }
  return !first;
}

class WgToolsLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = GatewayLab::missing_gateway();
    ASSERT_TRUE(missing.empty()) << "gateway lab prerequisites missing:" << missing;
    std::string error;
    ASSERT_TRUE(lab_.up({}, &error)) << error;
    ASSERT_TRUE(lab_.start_gateway(&error)) << error;
    name_ = lab_.env("GW_NAME");
    socket_ = "/var/run/wireguard/" + name_ + ".sock";
  }

  void TearDown() override {
    if (HasFailure() && !lab_.dir().empty()) {
      std::cout << lab_.diagnostics() << "--- remote2-wg.log ---\n"
                << read_text(lab_.dir() + "/remote2-wg.log") << std::endl;
      lab_.keep_directory();
    }
    second_wg_ = Background();
    if (!second_if_.empty()) unlink(("/var/run/wireguard/" + second_if_ + ".sock").c_str());
    lab_.down();
  }

  // `wg ARGS...` on the gateway; its output, the test failing on a non-zero exit.
  std::string wg(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"wg"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    const int rc = lab_.exec(Where::kGateway, argv, &out);
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    EXPECT_EQ(rc, 0) << cmd << "failed:\n" << out;
    return out;
  }

  Dump dump() {
    Dump d;
    const std::string text = wg({"show", name_, "dump"});
    EXPECT_TRUE(parse_dump(text, &d)) << "unparsable dump:\n" << text;
    return d;
  }

  // A file in the lab directory, 0600 from the start.
  std::string write_secret(const std::string& name, const std::string& content) {
    const std::string path = lab_.dir() + "/" + name;
    const mode_t old = umask(077);
    std::ofstream(path) << content << "\n";
    umask(old);
    return path;
  }

  std::string genkey() {
    std::string out;
    EXPECT_EQ(run_command({"wg", "genkey"}, &out), 0) << out;
    return trim(out);
  }

  std::string pubkey_of(const std::string& key_path) {
    std::string out;
    EXPECT_EQ(run_command({"sh", "-c", "wg pubkey <" + key_path}, &out), 0) << out;
    return trim(out);
  }

  void expect_ping(Where from, const std::string& to, const std::string& source = "") {
    std::string out;
    EXPECT_EQ(lab_.ping(from, to, 3, 10, &out, source), 0)
        << "ping " << to << " from " << lab_.namespace_of(from) << " failed:\n"
        << out;
  }
  void expect_no_ping(Where from, const std::string& to) {
    std::string out;
    EXPECT_NE(lab_.ping(from, to, 3, 3, &out), 0)
        << "ping " << to << " from " << lab_.namespace_of(from) << " got replies:\n"
        << out;
  }

  ShowState show() {
    ShowState state;
    std::string error;
    EXPECT_TRUE(lab_.show(&state, &error)) << error;
    return state;
  }
  int64_t handshakes(const std::string& key) { return show().peer_number(key, "handshakes"); }

  // The second wireguard-go (see the file comment). Its key is second_key_.
  void start_second_peer() {
    second_if_ = "w2-" + lab_.tag();
    second_key_path_ = write_secret("remote2.key", genkey());
    second_pub_ = pubkey_of(second_key_path_);
    const std::string sock = "/var/run/wireguard/" + second_if_ + ".sock";
    unlink(sock.c_str());
    second_wg_ = lab_.spawn(Where::kRemote, {"wireguard-go", "-f", second_if_}, "remote2-wg");
    struct stat st {};
    for (int i = 0; i < 150 && stat(sock.c_str(), &st) != 0; ++i) sleep_ms(20);
    ASSERT_EQ(stat(sock.c_str(), &st), 0) << "wireguard-go made no " << sock << ":\n"
                                          << second_wg_.output();
    std::string out;
    const auto remote = [&](const std::vector<std::string>& argv) {
      ASSERT_EQ(lab_.exec(Where::kRemote, argv, &out), 0) << argv[0] << " " << argv[1] << ":\n"
                                                          << out;
    };
    remote({"wg", "set", second_if_, "private-key", second_key_path_, "listen-port", kSecondPort,
            "peer", lab_.env("GW_PUB"), "allowed-ips", "10.8.0.0/24", "endpoint",
            "192.0.2.1:51820"});
    remote({"ip", "address", "add", "10.8.2.2/24", "dev", second_if_});
    remote({"ip", "link", "set", second_if_, "up"});
    remote({"ip", "rule", "add", "from", "10.8.2.2", "table", "102"});
    remote({"ip", "route", "add", "10.8.0.0/24", "dev", second_if_, "table", "102"});
    ASSERT_EQ(
        lab_.exec(Where::kLan, {"ip", "route", "add", "10.8.2.0/24", "via", "10.8.0.1"}, &out), 0)
        << out;
  }

  // One raw request on the UAPI socket: everything the server sends back
  // until it closes or 3 s pass.
  std::string raw_request(const std::string& bytes, bool* closed = nullptr) {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ADD_FAILURE() << "connect " << socket_ << ": " << std::strerror(errno);
      close(fd);
      return {};
    }
    timeval tv{3, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (size_t at = 0; at < bytes.size();) {
      const ssize_t n =
          send(fd, bytes.data() + at, std::min<size_t>(65536, bytes.size() - at), MSG_NOSIGNAL);
      if (n <= 0) break;  // the server hung up on us; its reply may still be there
      at += static_cast<size_t>(n);
    }
    std::string got;
    bool eof = false;
    for (;;) {
      char buf[4096];
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        eof = n == 0;
        break;
      }
      got.append(buf, static_cast<size_t>(n));
      // A reply to a well-formed request leaves the connection open.
      if (got.size() >= 2 && got.compare(got.size() - 2, 2, "\n\n") == 0 &&
          got.find("errno=") != std::string::npos) {
        break;
      }
    }
    if (closed != nullptr) *closed = eof;
    close(fd);
    return got;
  }

  GatewayLab lab_;
  std::string name_, socket_;
  std::string second_if_, second_key_path_, second_pub_;
  Background second_wg_;
};

TEST_F(WgToolsLabTest, ShowDumpShowconfSetconfAndMalformedRequests) {
  const std::string remote = lab_.env("REMOTE_PUB");
  // The socket as the issue asks: a socket, 0600, owner root.
  struct stat st {};
  ASSERT_EQ(lstat(socket_.c_str(), &st), 0) << socket_;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_uid, 0u);

  expect_ping(Where::kLan, "10.8.1.2");
  const std::string text = wg({"show", name_});
  EXPECT_NE(text.find("interface: " + name_), std::string::npos) << text;
  EXPECT_NE(text.find("public key: " + lab_.env("GW_PUB")), std::string::npos) << text;
  EXPECT_NE(text.find("listening port: 51820"), std::string::npos) << text;
  EXPECT_NE(text.find("peer: " + remote), std::string::npos) << text;
  EXPECT_NE(text.find("endpoint: 192.0.2.2:51820"), std::string::npos) << text;
  EXPECT_NE(text.find("allowed ips: 10.8.1.0/24, fd00:1::/64"), std::string::npos) << text;
  EXPECT_NE(text.find("latest handshake: "), std::string::npos) << text;
  EXPECT_NE(text.find("transfer: "), std::string::npos) << text;

  const Dump before = dump();
  EXPECT_EQ(before.public_key, lab_.env("GW_PUB"));
  EXPECT_EQ(before.private_key, trim(read_text(lab_.dir() + "/gateway.key")));
  EXPECT_EQ(before.listen_port, "51820");
  ASSERT_EQ(before.peers.count(remote), 1u) << before.text;
  const DumpPeer& p = before.peers.at(remote);
  EXPECT_EQ(p.preshared_key, "(none)");
  EXPECT_EQ(p.endpoint, "192.0.2.2:51820");
  EXPECT_EQ(p.allowed_ips, "10.8.1.0/24,fd00:1::/64");
  EXPECT_EQ(p.keepalive, "off");
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  EXPECT_GT(p.latest_handshake, 0) << before.text;
  EXPECT_LE(std::llabs(now - p.latest_handshake), 60) << "latest handshake is not recent";
  EXPECT_GT(p.rx, 0);
  EXPECT_GT(p.tx, 0);

  // 20 pings of 1000 bytes each way: both counters grow by at least that.
  std::string out;
  ASSERT_EQ(lab_.exec(Where::kLan,
                      {"ping", "-n", "-q", "-c", "20", "-i", "0.05", "-s", "1000", "-w", "10",
                       "10.8.1.2"},
                      &out),
            0)
      << out;
  const Dump after = dump();
  ASSERT_EQ(after.peers.count(remote), 1u);
  EXPECT_GE(after.peers.at(remote).tx - p.tx, 20 * 1000) << after.text;
  EXPECT_GE(after.peers.at(remote).rx - p.rx, 20 * 1000) << after.text;

  // showconf's output is accepted by setconf and changes nothing: same dump
  // (but the counters), the session kept (no new handshake).
  const int64_t hs = handshakes(remote);
  const std::string conf = wg({"showconf", name_});
  EXPECT_NE(conf.find("PrivateKey = " + before.private_key), std::string::npos) << conf;
  EXPECT_NE(conf.find("ListenPort = 51820"), std::string::npos) << conf;
  EXPECT_NE(conf.find("PublicKey = " + remote), std::string::npos) << conf;
  const std::string conf_path = write_secret("showconf.conf", conf);
  wg({"setconf", name_, conf_path});
  wg({"syncconf", name_, conf_path});
  const Dump again = dump();
  EXPECT_EQ(again.private_key, before.private_key);
  EXPECT_EQ(again.listen_port, before.listen_port);
  ASSERT_EQ(again.peers.size(), 1u) << again.text;
  EXPECT_EQ(again.peers.at(remote).endpoint, p.endpoint);
  EXPECT_EQ(again.peers.at(remote).allowed_ips, p.allowed_ips);
  expect_ping(Where::kLan, "10.8.1.2");
  EXPECT_EQ(handshakes(remote), hs) << "setconf of an unchanged config made a new handshake";

  // Malformed requests: an errno reply each, never a crash.
  struct Bad {
    std::string request;
    std::string reply;
  };
  const Bad bad[] = {
      {"hello\n\n", "errno=-22\n\n"},
      {"get=1\nfoo=1\n\n", "errno=-22\n\n"},
      {"set=1\nlisten_port=0\n\n", "errno=-22\n\n"},
      {"set=1\nlisten_port=70000\n\n", "errno=-22\n\n"},
      {"set=1\npublic_key=zz\n\n", "errno=-22\n\n"},
      {"set=1\npublic_key=" + std::string(64, 'a') + "\nallowed_ip=10.0.0.0/99\n\n",
       "errno=-22\n\n"},
      {"set=1\nprivate_key=" + std::string(64, '0') + "\n\n", "errno=-22\n\n"},
      {std::string("\0\xff\x01garbage\n", 11), "errno=-22\n\n"},
      {std::string(2 * kMiB, 'a'), "errno=-" + std::to_string(EMSGSIZE) + "\n\n"},
  };
  for (const Bad& b : bad) {
    EXPECT_EQ(raw_request(b.request), b.reply) << "request: " << b.request.substr(0, 60);
  }
  // wg reports a refusal in words (the errno's sign is wireguard-go's).
  EXPECT_NE(lab_.exec(Where::kGateway, {"wg", "set", name_, "listen-port", "0"}, &out), 0);
  EXPECT_NE(out.find("Invalid argument"), std::string::npos) << out;
  // A client that sends half a request and stays stops nobody else, and
  // what it sent never applies.
  {
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    const std::string half = "set=1\nlisten_port=4000\n";
    ASSERT_EQ(send(fd, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
    EXPECT_EQ(dump().listen_port, "51820");
    close(fd);
  }
  EXPECT_TRUE(lab_.running(GatewayProcess::kControlplane));
  EXPECT_EQ(dump().listen_port, "51820");
  ASSERT_EQ(after.peers.count(remote), 1u);
  expect_ping(Where::kLan, "10.8.1.2");
  const std::string log = read_text(lab_.dir() + "/controlplane.log");
  EXPECT_NE(log.find("uapi: "), std::string::npos) << "malformed requests were not logged";
  EXPECT_EQ(log.find(before.private_key), std::string::npos) << "the private key reached the log";
}

TEST_F(WgToolsLabTest, SetAddsChangesAndRemovesAPeerOthersKeepTheirSession) {
  const std::string remote = lab_.env("REMOTE_PUB");
  ASSERT_NO_FATAL_FAILURE(start_second_peer());
  expect_ping(Where::kLan, "10.8.1.2");
  const int64_t hs_first = handshakes(remote);
  ASSERT_GE(hs_first, 1);
  expect_no_ping(Where::kLan, "10.8.2.2");  // not a peer of the gateway yet

  // Added with `wg set`: passes traffic both ways.
  wg({"set", name_, "peer", second_pub_, "allowed-ips", "10.8.2.0/24", "endpoint",
      std::string("192.0.2.2:") + kSecondPort});
  expect_ping(Where::kLan, "10.8.2.2");
  expect_ping(Where::kRemote, "10.8.0.2", "10.8.2.2");
  Dump d = dump();
  ASSERT_EQ(d.peers.count(second_pub_), 1u) << d.text;
  EXPECT_GT(d.peers.at(second_pub_).latest_handshake, 0) << d.text;
  EXPECT_GT(d.peers.at(second_pub_).rx, 0) << d.text;

  // Allowed IPs replaced: 10.8.2.0/24 is no longer routed to it.
  wg({"set", name_, "peer", second_pub_, "allowed-ips", "10.8.3.0/24"});
  EXPECT_EQ(dump().peers[second_pub_].allowed_ips, "10.8.3.0/24");
  expect_no_ping(Where::kLan, "10.8.2.2");
  wg({"set", name_, "peer", second_pub_, "allowed-ips", "10.8.2.0/24,10.8.3.0/24"});
  expect_ping(Where::kLan, "10.8.2.2");

  // Endpoint: the peer moves to another port; only once told does the
  // gateway reach it there.
  std::string out;
  ASSERT_EQ(lab_.exec(Where::kRemote, {"wg", "set", second_if_, "listen-port", "51831"}, &out), 0)
      << out;
  expect_no_ping(Where::kLan, "10.8.2.2");
  wg({"set", name_, "peer", second_pub_, "endpoint", "192.0.2.2:51831"});
  expect_ping(Where::kLan, "10.8.2.2");
  EXPECT_EQ(dump().peers[second_pub_].endpoint, "192.0.2.2:51831");

  // Persistent keepalive: the peer hears from us without any traffic.
  wg({"set", name_, "peer", second_pub_, "persistent-keepalive", "1"});
  EXPECT_EQ(dump().peers[second_pub_].keepalive, "1");
  ASSERT_EQ(lab_.exec(Where::kRemote, {"wg", "show", second_if_, "dump"}, &out), 0) << out;
  Dump remote_before;
  ASSERT_TRUE(parse_dump(out, &remote_before)) << out;
  sleep_ms(3500);
  ASSERT_EQ(lab_.exec(Where::kRemote, {"wg", "show", second_if_, "dump"}, &out), 0) << out;
  Dump remote_after;
  ASSERT_TRUE(parse_dump(out, &remote_after)) << out;
  const std::string gw = lab_.env("GW_PUB");
  EXPECT_GE(remote_after.peers[gw].rx - remote_before.peers[gw].rx, 2 * 32)
      << "no keepalives arrived in 3.5 s";
  wg({"set", name_, "peer", second_pub_, "persistent-keepalive", "off"});
  EXPECT_EQ(dump().peers[second_pub_].keepalive, "off");

  // The first peer kept its session through all of it.
  EXPECT_EQ(handshakes(remote), hs_first) << "a change to another peer touched this one";
  expect_ping(Where::kLan, "10.8.1.2");

  // Removed: it can no longer pass traffic; the first peer still can.
  wg({"set", name_, "peer", second_pub_, "remove"});
  d = dump();
  EXPECT_EQ(d.peers.count(second_pub_), 0u) << d.text;
  expect_no_ping(Where::kLan, "10.8.2.2");
  expect_ping(Where::kLan, "10.8.1.2");
  EXPECT_EQ(handshakes(remote), hs_first);

  // Added again, with a preshared key both sides share: a handshake with
  // the key is the only way traffic passes.
  const std::string psk_path = write_secret("psk2.key", [&] {
    std::string psk;
    EXPECT_EQ(run_command({"wg", "genpsk"}, &psk), 0);
    return trim(psk);
  }());
  ASSERT_EQ(lab_.exec(Where::kRemote,
                      {"wg", "set", second_if_, "peer", gw, "preshared-key", psk_path}, &out),
            0)
      << out;
  wg({"set", name_, "peer", second_pub_, "allowed-ips", "10.8.2.0/24", "endpoint",
      "192.0.2.2:51831", "preshared-key", psk_path});
  expect_ping(Where::kLan, "10.8.2.2");
  d = dump();
  EXPECT_EQ(d.peers[second_pub_].preshared_key, trim(read_text(psk_path)));
  EXPECT_NE(wg({"show", name_}).find("preshared key: (hidden)"), std::string::npos);
}

TEST_F(WgToolsLabTest, ListenPortSetconfSyncconfAndANewPrivateKey) {
  const std::string remote = lab_.env("REMOTE_PUB");
  ASSERT_NO_FATAL_FAILURE(start_second_peer());
  expect_ping(Where::kLan, "10.8.1.2");
  // Listen port: the gateway answers and sends on the new one; wireguard-go
  // follows it (roaming) on the first authenticated packet from it.
  wg({"set", name_, "listen-port", "51825"});
  EXPECT_EQ(dump().listen_port, "51825");
  EXPECT_EQ(show().interface["listen_port"], "51825");
  expect_ping(Where::kLan, "10.8.1.2");
  std::string out;
  ASSERT_EQ(lab_.exec(Where::kRemote, {"wg", "show", lab_.env("WG_IF"), "endpoints"}, &out), 0);
  EXPECT_NE(out.find(lab_.env("GW_PUB") + "\t192.0.2.1:51825"), std::string::npos) << out;
  expect_ping(Where::kRemote, "10.8.0.2");
  ASSERT_EQ(lab_.exec(Where::kRemote,
                      {"wg", "set", second_if_, "peer", lab_.env("GW_PUB"), "endpoint",
                       "192.0.2.1:51825"},
                      &out),
            0)
      << out;

  // setconf = replace_peers: a file with only the second peer drops the first.
  const std::string priv = trim(read_text(lab_.dir() + "/gateway.key"));
  const std::string only_second =
      "[Interface]\nPrivateKey = " + priv +
      "\nListenPort = 51825\n\n[Peer]\nPublicKey = " + second_pub_ +
      "\nAllowedIPs = 10.8.2.0/24\nEndpoint = 192.0.2.2:" + kSecondPort + "\n";
  wg({"setconf", name_, write_secret("only-second.conf", only_second)});
  Dump d = dump();
  EXPECT_EQ(d.peers.count(remote), 0u) << d.text;
  ASSERT_EQ(d.peers.count(second_pub_), 1u) << d.text;
  expect_ping(Where::kLan, "10.8.2.2");
  expect_no_ping(Where::kLan, "10.8.1.2");

  // syncconf with both: the first comes back, the second keeps its session.
  const int64_t hs_second = handshakes(second_pub_);
  ASSERT_GE(hs_second, 1);
  const std::string both = only_second + "\n[Peer]\nPublicKey = " + remote +
                           "\nAllowedIPs = 10.8.1.0/24, fd00:1::/64\nEndpoint = 192.0.2.2:51820\n";
  wg({"syncconf", name_, write_secret("both.conf", both)});
  d = dump();
  EXPECT_EQ(d.peers.size(), 2u) << d.text;
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kLan, "10.8.2.2");
  EXPECT_EQ(handshakes(second_pub_), hs_second) << "syncconf touched an unchanged peer";

  // A new private key: a new identity. The remote, which knows the old
  // public key, can no longer reach us; told the new one, it can.
  const std::string new_key = write_secret("gateway-new.key", genkey());
  const std::string new_pub = pubkey_of(new_key);
  wg({"set", name_, "private-key", new_key});
  d = dump();
  EXPECT_EQ(d.public_key, new_pub) << d.text;
  EXPECT_NE(wg({"show", name_}).find("public key: " + new_pub), std::string::npos);
  expect_no_ping(Where::kLan, "10.8.1.2");
  ASSERT_EQ(
      lab_.exec(Where::kRemote,
                {"wg", "set", lab_.env("WG_IF"), "peer", lab_.env("GW_PUB"), "remove", "peer",
                 new_pub, "allowed-ips", "10.8.0.0/24,fd00:8::/64", "endpoint", "192.0.2.1:51825"},
                &out),
      0)
      << out;
  expect_ping(Where::kLan, "10.8.1.2");
  expect_ping(Where::kRemote, "10.8.0.2");
}

TEST_F(WgToolsLabTest, SighupReloadDuringATransfer) {
  const std::string remote = lab_.env("REMOTE_PUB");
  ASSERT_NO_FATAL_FAILURE(start_second_peer());
  expect_ping(Where::kLan, "10.8.1.2");
  const std::string config = lab_.dir() + "/gateway.yaml";
  const std::string original = read_text(config);
  const size_t log_start = read_text(lab_.dir() + "/controlplane.log").size();
  const auto log_since = [&] {
    return read_text(lab_.dir() + "/controlplane.log").substr(log_start);
  };
  const auto wait_log = [&](const std::string& what) {
    for (int i = 0; i < 100; ++i) {
      if (log_since().find(what) != std::string::npos) return true;
      sleep_ms(50);
    }
    return false;
  };

  Transfer transfer;
  std::string error;
  ASSERT_TRUE(transfer.start(lab_, 50 * kMiB, 8.0 * kMiB, &error)) << error;
  ASSERT_TRUE(transfer.wait_received(10 * kMiB, 30000))
      << "transfer did not get going; " << transfer.received() << " bytes arrived";
  const int64_t hs = handshakes(remote);
  ASSERT_GE(hs, 1);

  // The file gains a peer: SIGHUP applies it, the first peer is untouched.
  const std::string added = original + "  - name: second\n    public_key: " + second_pub_ +
                            "\n    endpoint: \"192.0.2.2:" + kSecondPort +
                            "\"\n    allowed_ips: [\"10.8.2.0/24\"]\n";
  std::ofstream(config) << added;
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGHUP, &error)) << error;
  ASSERT_TRUE(wait_log("reloaded ")) << log_since();
  EXPECT_LT(transfer.received(), 50 * kMiB) << "the reload did not happen mid-transfer";
  expect_ping(Where::kLan, "10.8.2.2");

  // An invalid file (an unknown key) that would also drop the second peer:
  // rejected whole, the running state stays.
  std::ofstream(config) << original << "colour: blue\n";
  ASSERT_TRUE(lab_.send_signal(GatewayProcess::kControlplane, SIGHUP, &error)) << error;
  ASSERT_TRUE(wait_log("reload rejected")) << log_since();
  EXPECT_NE(log_since().find("colour"), std::string::npos) << log_since();
  const Dump d = dump();
  EXPECT_EQ(d.peers.size(), 2u) << d.text;
  expect_ping(Where::kLan, "10.8.2.2");
  // `--show` reads the file too: give it back the running configuration.
  std::ofstream(config) << added;

  EXPECT_TRUE(transfer.finish(kTransferTimeoutMs, &error)) << error;
  EXPECT_EQ(handshakes(remote), hs) << "the reload made the unchanged peer handshake again";
  EXPECT_TRUE(lab_.running(GatewayProcess::kControlplane));
}

}  // namespace
}  // namespace wirespeed::test::lab
