// The Prometheus endpoint of wirespeed-controlplane: http://127.0.0.1:PORT/metrics
// (config `metrics: {port: PORT}`), served from the Agent's loop.
//
//   MetricsServer  a tiny HTTP/1.0 server on a non-blocking loopback socket,
//                  polled once per Agent pass: GET (or HEAD) /metrics answers
//                  200 text/plain; version=0.0.4 with what the render
//                  function returns; any other path 404, other methods 405,
//                  a malformed or oversized request 400 / 431. One response
//                  per connection, then close. Bounded: at most kMaxClients
//                  connections, kMaxRequestBytes per request, and a client
//                  that has not sent a whole request within kClientTimeoutNs
//                  is dropped.
//   MetricsText    writes the text exposition format (HELP/TYPE lines,
//                  escaped label values).
//   BusyTracker    an lcore's busy ratio over the interval between two
//                  scrapes, from the dataplane's cumulative cycle counters.
//   render_page    the page itself, from one shm::Snapshot (the figures
//                  `wirespeed show` and the telemetry commands print).
//
// Control-plane main thread only; no locks. Only loopback: the page names
// peers by public key and endpoint, which an operator may not want on the
// network (a reverse proxy can publish it deliberately).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dataplane/base/result.hpp"
#include "dataplane/shm/snapshot.hpp"

namespace wirespeed::controlplane::app {

class MetricsServer {
 public:
  static constexpr size_t kMaxClients = 16;
  static constexpr size_t kMaxRequestBytes = 8192;
  static constexpr uint64_t kClientTimeoutNs = 5'000'000'000ULL;

  // Binds 127.0.0.1:port (0 = any free port, see port()) and listens. Fails
  // with the errno of socket/bind/listen (EADDRINUSE: another process has it).
  static Result<std::unique_ptr<MetricsServer>> listen(uint16_t port);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // One pass: accept waiting connections, read what they sent, answer
  // complete requests (calling `render` only for GET/HEAD /metrics), write
  // what the sockets take, close finished or stale connections. Never
  // blocks. `render` may be called more than once per pass.
  void poll(const std::function<std::string()>& render);
  // The same with an explicit clock (tests).
  void poll(const std::function<std::string()>& render, uint64_t now_ns);

  uint16_t port() const noexcept { return port_; }
  size_t clients() const noexcept { return clients_.size(); }

 private:
  struct Client {
    int fd = -1;
    uint64_t since_ns = 0;
    std::string in;
    std::string out;
    size_t sent = 0;
    bool answered = false;
  };
  MetricsServer(int fd, uint16_t port) noexcept : fd_(fd), port_(port) {}
  void accept_clients(uint64_t now_ns);
  // False when the client is done (answered and flushed, failed or stale).
  bool serve(Client& c, const std::function<std::string()>& render, uint64_t now_ns);

  int fd_;
  uint16_t port_;
  std::vector<Client> clients_;
};

// The answer to one request (exposed for tests): the HTTP/1.0 response for
// the bytes of a complete request head.
std::string metrics_response(std::string_view request, const std::function<std::string()>& render);

class MetricsText {
 public:
  using Labels = std::vector<std::pair<const char*, std::string>>;

  // "# HELP name help\n# TYPE name type\n"; type is "counter" or "gauge".
  void family(const char* name, const char* type, const char* help);
  void sample(const char* name, const Labels& labels, uint64_t value);
  void sample(const char* name, const Labels& labels, double value);
  const std::string& text() const noexcept { return text_; }
  std::string take() { return std::move(text_); }

 private:
  void head(const char* name, const Labels& labels);
  std::string text_;
};

// `text` as a label value: backslash, double quote and newline escaped.
std::string escape_label_value(std::string_view text);

class BusyTracker {
 public:
  // The busy ratio of counter row `row` since the previous call for that
  // row, from cumulative busy/total cycle counts. On the first call for a
  // row, or when the counts went backwards (a restarted dataplane), or when
  // no cycles passed, the ratio since the counters started. Always 0..1.
  double update(unsigned row, uint64_t busy_tsc, uint64_t total_tsc);

 private:
  struct Last {
    bool seen = false;
    uint64_t busy = 0, total = 0;
  };
  std::vector<Last> last_;
};

// The metrics page for one snapshot: gateway, ports, lcores (busy ratio
// through `busy`), rings and mbufs, drops by reason (every reason, zeros
// included), and per peer rx/tx bytes and packets, handshakes and the age
// of the last one (no sample for a peer that never completed one).
// `peer_names[slot]` labels a peer when non-empty. Every family has its
// HELP and TYPE lines.
std::string render_page(const dataplane::shm::Snapshot& snapshot,
                        const std::vector<std::string>& peer_names, BusyTracker& busy);

}  // namespace wirespeed::controlplane::app
