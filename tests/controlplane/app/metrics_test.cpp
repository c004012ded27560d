// Tests for the Prometheus endpoint (controlplane/app/metrics.hpp): the
// HTTP answers by request, the server on a real loopback socket (partial,
// oversized, stale and too many clients), the text format's escaping, the
// busy ratio between scrapes, and the page rendered from a hand-filled
// state zone.
#include "controlplane/app/metrics.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wirespeed::controlplane::app {
namespace {

namespace shm = dataplane::shm;

// ---- the answer to one request ----------------------------------------------

struct Rendered {
  int calls = 0;
  std::function<std::string()> fn() {
    return [this] {
      ++calls;
      return std::string("wirespeed_up 1\n");
    };
  }
};

TEST(MetricsResponse, GetMetricsIsThePageAsPrometheusText) {
  Rendered r;
  const std::string out = metrics_response("GET /metrics HTTP/1.1\r\nHost: x\r\n", r.fn());
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ(out.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << out;
  EXPECT_NE(out.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("\r\nContent-Length: 15\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 19), "\r\n\r\nwirespeed_up 1\n");
}

TEST(MetricsResponse, QueryStringIsIgnoredAndHeadHasNoBody) {
  Rendered r;
  EXPECT_EQ(metrics_response("GET /metrics?name[]=x HTTP/1.0", r.fn()).rfind("HTTP/1.0 200", 0),
            0u);
  const std::string head = metrics_response("HEAD /metrics HTTP/1.0", r.fn());
  EXPECT_EQ(head.rfind("HTTP/1.0 200", 0), 0u);
  EXPECT_NE(head.find("Content-Length: 15\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");  // no body
}

TEST(MetricsResponse, OtherPathsMethodsAndGarbage) {
  Rendered r;
  struct Case {
    const char* request;
    const char* status;
  };
  const Case cases[] = {
      {"GET / HTTP/1.0", "HTTP/1.0 404 Not Found\r\n"},
      {"GET /metricsx HTTP/1.0", "HTTP/1.0 404 Not Found\r\n"},
      {"GET /../metrics HTTP/1.0", "HTTP/1.0 404 Not Found\r\n"},
      {"POST /metrics HTTP/1.0", "HTTP/1.0 405 Method Not Allowed\r\nAllow: GET, HEAD\r\n"},
      {"DELETE /metrics HTTP/1.1", "HTTP/1.0 405 Method Not Allowed\r\n"},
      {"GET /metrics", "HTTP/1.0 400 Bad Request\r\n"},
      {"GET  /metrics HTTP/1.0", "HTTP/1.0 400 Bad Request\r\n"},
      {"GET /metrics HTTP/1.0 extra", "HTTP/1.0 400 Bad Request\r\n"},
      {"GET /metrics SPDY/3", "HTTP/1.0 400 Bad Request\r\n"},
      {"", "HTTP/1.0 400 Bad Request\r\n"},
      {"\x16\x03\x01\x02\x00", "HTTP/1.0 400 Bad Request\r\n"},  // TLS hello
  };
  for (const Case& c : cases) {
    const std::string out = metrics_response(c.request, r.fn());
    EXPECT_EQ(out.rfind(c.status, 0), 0u) << "request \"" << c.request << "\" got\n" << out;
  }
  EXPECT_EQ(r.calls, 0);  // nothing rendered for a request that gets no page
}

// ---- the server on a real socket --------------------------------------------------

int connect_to(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << std::strerror(errno);
  timeval tv{5, 0};  // a broken server fails the test instead of hanging it
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void send_text(int fd, const std::string& text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Polls the server until the client has the whole response (the server
// closes after it), or gives up after many passes.
std::string exchange(MetricsServer& server, int fd, const std::function<std::string()>& render,
                     uint64_t now_ns = 1) {
  std::string got;
  for (int pass = 0; pass < 2000; ++pass) {
    server.poll(render, now_ns);
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (n == 0) return got;
    usleep(100);
  }
  ADD_FAILURE() << "no complete response; got so far: " << got;
  return got;
}

TEST(MetricsServer, ServesAScrapeOnLoopbackAndCloses) {
  auto server = MetricsServer::listen(0);
  ASSERT_TRUE(server) << server.error().context;
  ASSERT_NE((*server)->port(), 0);
  Rendered r;
  const int fd = connect_to((*server)->port());
  send_text(fd, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n");
  const std::string got = exchange(**server, fd, r.fn());
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(got.substr(got.size() - 15), "wirespeed_up 1\n");
  EXPECT_EQ(r.calls, 1);
  EXPECT_EQ((*server)->clients(), 0u);
}

TEST(MetricsServer, ARequestInPiecesIsAnsweredOnceWhole) {
  auto server = MetricsServer::listen(0);
  ASSERT_TRUE(server);
  Rendered r;
  const int fd = connect_to((*server)->port());
  send_text(fd, "GET /metr");
  for (int i = 0; i < 20; ++i) (*server)->poll(r.fn(), 1);
  EXPECT_EQ(r.calls, 0);
  EXPECT_EQ((*server)->clients(), 1u);
  send_text(fd, "ics HTTP/1.0\n\n");  // bare LF line ends are accepted
  const std::string got = exchange(**server, fd, r.fn());
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << got;
  EXPECT_EQ(r.calls, 1);
}

TEST(MetricsServer, OversizedRequestGets431AndNoPage) {
  auto server = MetricsServer::listen(0);
  ASSERT_TRUE(server);
  Rendered r;
  const int fd = connect_to((*server)->port());
  send_text(fd, "GET /metrics HTTP/1.0\r\nX-Junk: " +
                    std::string(MetricsServer::kMaxRequestBytes, 'a') + "\r\n\r\n");
  const std::string got = exchange(**server, fd, r.fn());
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.0 431 ", 0), 0u) << got.substr(0, 80);
  EXPECT_EQ(r.calls, 0);
}

TEST(MetricsServer, AClientThatNeverFinishesIsDroppedAfterTheTimeout) {
  auto server = MetricsServer::listen(0);
  ASSERT_TRUE(server);
  Rendered r;
  const int fd = connect_to((*server)->port());
  send_text(fd, "GET /metrics HTTP/1.0\r\n");
  for (int i = 0; i < 20 && (*server)->clients() == 0; ++i) {
    (*server)->poll(r.fn(), 1000);
    usleep(100);
  }
  ASSERT_EQ((*server)->clients(), 1u);
  (*server)->poll(r.fn(), 1000 + MetricsServer::kClientTimeoutNs);  // not yet
  EXPECT_EQ((*server)->clients(), 1u);
  (*server)->poll(r.fn(), 1001 + MetricsServer::kClientTimeoutNs);
  EXPECT_EQ((*server)->clients(), 0u);
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // closed without an answer
  ::close(fd);
  EXPECT_EQ(r.calls, 0);
}

TEST(MetricsServer, ConnectionsBeyondTheLimitAreClosedAtOnce) {
  auto server = MetricsServer::listen(0);
  ASSERT_TRUE(server);
  Rendered r;
  std::vector<int> fds;
  // Accept as we go: the listen backlog must not fill (a blocked connect
  // would wait for SYN retries).
  for (size_t i = 0; i < MetricsServer::kMaxClients + 4; ++i) {
    fds.push_back(connect_to((*server)->port()));
    (*server)->poll(r.fn(), 1);
  }
  (*server)->poll(r.fn(), 1);
  EXPECT_EQ((*server)->clients(), MetricsServer::kMaxClients);
  // The extra ones were closed by the server: they read end-of-file.
  char c;
  EXPECT_EQ(::recv(fds.back(), &c, 1, 0), 0);
  // A slot frees once a held client is answered; a new scrape then works.
  send_text(fds[0], "GET /metrics HTTP/1.0\r\n\r\n");
  const std::string first = exchange(**server, fds[0], r.fn());
  EXPECT_EQ(first.rfind("HTTP/1.0 200 OK", 0), 0u);
  for (int fd : fds) ::close(fd);
}

TEST(MetricsServer, APortInUseIsAnErrorWithItsErrno) {
  auto first = MetricsServer::listen(0);
  ASSERT_TRUE(first);
  auto second = MetricsServer::listen((*first)->port());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().sys_errno, EADDRINUSE);
}

TEST(MetricsServer, ListensOnLoopbackOnly) {
  auto server = MetricsServer::listen(0);
  ASSERT_TRUE(server);
  // The kernel's socket table: the listener's local address is 127.0.0.1
  // (0100007F in /proc/net/tcp), not 0.0.0.0.
  FILE* f = std::fopen("/proc/net/tcp", "r");
  ASSERT_NE(f, nullptr);
  char line[512];
  char want[32];
  std::snprintf(want, sizeof(want), "0100007F:%04X", (*server)->port());
  bool found = false;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strstr(line, want) != nullptr) found = true;
  }
  std::fclose(f);
  EXPECT_TRUE(found) << "no listener on " << want << " (127.0.0.1) in /proc/net/tcp";
}

// ---- the text format and the busy ratio ----------------------------------------

TEST(MetricsText, FamiliesAndEscapedLabels) {
  MetricsText m;
  m.family("x_total", "counter", "Things.");
  m.sample("x_total", {{"name", "a\"b\\c\nd"}, {"k", "v"}}, uint64_t{18446744073709551615ULL});
  m.sample("x_total", {}, 0.25);
  EXPECT_EQ(m.text(),
            "# HELP x_total Things.\n# TYPE x_total counter\n"
            "x_total{name=\"a\\\"b\\\\c\\nd\",k=\"v\"} 18446744073709551615\n"
            "x_total 0.25\n");
}

TEST(BusyTracker, FirstScrapeSinceStartThenBetweenScrapes) {
  BusyTracker b;
  EXPECT_DOUBLE_EQ(b.update(1, 100, 400), 0.25);              // since start
  EXPECT_DOUBLE_EQ(b.update(1, 100 + 300, 400 + 400), 0.75);  // the last interval
  EXPECT_DOUBLE_EQ(b.update(2, 0, 0), 0.0);                   // nothing counted
  EXPECT_DOUBLE_EQ(b.update(1, 400, 800), 0.5);               // no cycles passed: since start
  EXPECT_DOUBLE_EQ(b.update(1, 10, 20), 0.5);                 // went backwards: a new dataplane
  EXPECT_DOUBLE_EQ(b.update(1, 30, 30), 1.0);                 // 20 of 10 cycles: clamped
}

// ---- the page ------------------------------------------------------------------

TEST(RenderPage, EveryFamilyHasHelpAndTypeAndPeersHaveTheirFigures) {
  auto zone = std::make_unique<shm::StateZone>();
  zone->header.worker_count = 1;
  zone->header.lcore_ids[1] = 1;
  zone->header.started_ns = 1'000'000'000;
  zone->header.heartbeat_ns.store(10'000'000'000);
  zone->lcore_counters[1].busy_tsc.set(30);
  zone->lcore_counters[1].total_tsc.set(120);
  zone->lcore_counters[1].drops[static_cast<unsigned>(shm::DropReason::kReplay)].set(4);
  zone->lcore_counters[1].port[0].rx_packets.set(9);
  zone->peers[2].state.store(shm::PeerState::kActive);
  zone->peers[2].public_key[0] = 0xff;
  zone->peers[2].handshakes.set(1);
  zone->peers[2].last_handshake_ns.set(8'000'000'000);
  zone->peer_counters[1][2].rx_bytes.set(1500);
  zone->peer_counters[1][2].rx_packets.set(10);
  zone->peer_counters[0][2].tx_bytes.set(700);
  zone->peer_counters[0][2].tx_packets.set(5);
  zone->peers[3].state.store(shm::PeerState::kActive);  // never had a handshake
  zone->peers[3].public_key[0] = 0x01;

  const shm::Snapshot s = shm::summarise(*zone, 10'500'000'000);
  BusyTracker busy;
  const std::string page = render_page(s, {"", "", "branch \"1\"", ""}, busy);

  const std::string key2 = "/wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const std::string key3 = "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  const std::string labels2 = "{public_key=\"" + key2 + "\",name=\"branch \\\"1\\\"\"}";
  const std::string labels3 = "{public_key=\"" + key3 + "\"}";
  for (const std::string& want : {
           "wirespeed_peer_rx_bytes_total" + labels2 + " 1500\n",
           "wirespeed_peer_rx_packets_total" + labels2 + " 10\n",
           "wirespeed_peer_tx_bytes_total" + labels2 + " 700\n",
           "wirespeed_peer_tx_packets_total" + labels2 + " 5\n",
           "wirespeed_peer_handshakes_total" + labels2 + " 1\n",
           "wirespeed_peer_last_handshake_age_seconds" + labels2 + " 2.5\n",
           "wirespeed_peer_rx_bytes_total" + labels3 + " 0\n",
           std::string("wirespeed_drops_total{reason=\"replay\"} 4\n"),
           std::string("wirespeed_drops_total{reason=\"bad_mac\"} 0\n"),
           std::string("wirespeed_lcore_busy_ratio{lcore=\"1\",role=\"worker\"} 0.25\n"),
           std::string("wirespeed_lcore_busy_ratio{lcore=\"0\",role=\"main\"} 0\n"),
           std::string("wirespeed_port_rx_packets_total{port=\"outer\"} 9\n"),
           std::string("wirespeed_peers 2\n"),
           std::string("wirespeed_dataplane_heartbeat_age_seconds 0.5\n"),
       }) {
    EXPECT_NE(page.find(want), std::string::npos) << "missing: " << want << "\n" << page;
  }
  // Every drop reason by name.
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    const std::string name = shm::drop_reason_name(static_cast<shm::DropReason>(d));
    EXPECT_NE(page.find("wirespeed_drops_total{reason=\"" + name + "\"}"), std::string::npos)
        << name;
  }
  // The peer that never completed a handshake has no age sample.
  EXPECT_EQ(page.find("wirespeed_peer_last_handshake_age_seconds" + labels3), std::string::npos);

  // Every sample's family was introduced by HELP and TYPE before it.
  std::string current;
  size_t start = 0;
  while (start < page.size()) {
    const size_t end = page.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "last line unterminated";
    const std::string line = page.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# HELP ", 0) == 0) {
      current = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_EQ(line.substr(7, current.size()), current) << line;
      const std::string type = line.substr(8 + current.size());
      EXPECT_TRUE(type == "counter" || type == "gauge") << line;
      continue;
    }
    const std::string name = line.substr(0, line.find_first_of("{ "));
    EXPECT_EQ(name, current) << "sample outside its family: " << line;
    if (name.size() > 6 && name.substr(name.size() - 6) == "_total") {
      EXPECT_NE(page.find("# TYPE " + name + " counter\n"), std::string::npos) << name;
    }
  }
}

TEST(RenderPage, NeverContainsKeyMaterialOfKeypairs) {
  auto zone = std::make_unique<shm::StateZone>();
  zone->header.worker_count = 1;
  zone->peers[0].state.store(shm::PeerState::kActive);
  shm::KeypairSlot& k = zone->keypairs[0];
  k.state.store(shm::SlotState::kLive);
  k.peer = 0;
  for (uint8_t& b : k.send_key) b = 0xAB;
  for (uint8_t& b : k.receive_key) b = 0xCD;
  zone->peers[0].current.store(0);
  BusyTracker busy;
  const std::string page = render_page(shm::summarise(*zone, 1), {}, busy);
  // base64 of 32 bytes of 0xAB / 0xCD starts "q6ur" / "zc3N".
  EXPECT_EQ(page.find("q6ur"), std::string::npos);
  EXPECT_EQ(page.find("zc3N"), std::string::npos);
}

}  // namespace
}  // namespace wirespeed::controlplane::app
