// The Prometheus endpoint (metrics.hpp). Control-plane main thread, polled
// by the Agent loop; every socket is non-blocking and nothing here waits.
#include "controlplane/app/metrics.hpp"

#include "dataplane/shm/text.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>

#include "dataplane/base/clock.hpp"

namespace wirespeed::controlplane::app {

namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

std::string response(const char* status, const char* content_type, const std::string& body,
                     bool with_body) {
  std::string out = "HTTP/1.0 ";
  out += status;
  out += "\r\nContent-Type: ";
  out += content_type;
  out += "\r\nContent-Length: ";
  out += std::to_string(body.size());
  out += "\r\nConnection: close\r\n\r\n";
  if (with_body) out += body;
  return out;
}

std::string plain(const char* status, const char* message) {
  return response(status, "text/plain; charset=utf-8", std::string(message) + "\n", true);
}

// The end of the request head (the blank line), or npos. Clients send CRLF;
// a bare LF is accepted as RFC 9112 §2.2 allows.
size_t head_end(std::string_view in) {
  const size_t crlf = in.find("\r\n\r\n");
  const size_t lf = in.find("\n\n");
  return std::min(crlf, lf);
}

bool set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

// --- the HTTP side ------------------------------------------------------------

std::string metrics_response(std::string_view request, const std::function<std::string()>& render) {
  const size_t eol = request.find_first_of("\r\n");
  const std::string_view line = request.substr(0, eol);
  // METHOD SP TARGET SP HTTP/x.y
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos ||
      line.substr(sp2 + 1).substr(0, 5) != "HTTP/") {
    return plain("400 Bad Request", "bad request line");
  }
  const std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (const size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  const bool get = method == "GET";
  const bool head = method == "HEAD";
  if (target != "/metrics") {
    return plain("404 Not Found", "not found; the metrics are at /metrics");
  }
  if (!get && !head) {
    std::string out = plain("405 Method Not Allowed", "use GET");
    out.insert(out.find("\r\n") + 2, "Allow: GET, HEAD\r\n");
    return out;
  }
  return response("200 OK", kContentType, render(), get);
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::listen(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kSystem, "metrics: socket", errno);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // restart within TIME_WAIT
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::kSystem, "metrics: bind 127.0.0.1", err);
  }
  if (::listen(fd, 16) != 0) {
    const int err = errno;
    ::close(fd);
    return make_error(Errc::kSystem, "metrics: listen", err);
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<MetricsServer>(new MetricsServer(fd, ntohs(addr.sin_port)));
}

MetricsServer::~MetricsServer() {
  for (Client& c : clients_) ::close(c.fd);
  if (fd_ >= 0) ::close(fd_);
}

void MetricsServer::accept_clients(uint64_t now_ns) {
  for (;;) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN (none waiting) or a transient error: next pass
    if (clients_.size() >= kMaxClients) {
      // Full: refuse at once rather than let a flood starve real scrapes.
      ::close(fd);
      continue;
    }
    if (!set_nonblocking(fd)) {
      ::close(fd);
      continue;
    }
    clients_.push_back(Client{fd, now_ns, {}, {}, 0, false});
  }
}

bool MetricsServer::serve(Client& c, const std::function<std::string()>& render, uint64_t now_ns) {
  if (!c.answered) {
    char buf[2048];
    for (;;) {
      const ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (c.in.size() > kMaxRequestBytes) break;
        continue;
      }
      if (n == 0) {
        // The client closed its side; answer what it sent, if whole.
        if (head_end(c.in) == std::string_view::npos) return false;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return false;
    }
    const size_t end = head_end(c.in);
    if (end != std::string_view::npos && end <= kMaxRequestBytes) {
      c.out = metrics_response(std::string_view(c.in).substr(0, end), render);
      c.answered = true;
    } else if (c.in.size() > kMaxRequestBytes) {
      c.out = plain("431 Request Header Fields Too Large", "request too large");
      c.answered = true;
    } else if (now_ns - c.since_ns > kClientTimeoutNs) {
      return false;  // never sent a whole request
    } else {
      return true;  // wait for more
    }
    c.in.clear();
  }
  while (c.sent < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
    if (n > 0) {
      c.sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return now_ns - c.since_ns <= kClientTimeoutNs;  // a reader that stopped reading goes
    }
    return false;
  }
  return false;  // all sent: HTTP/1.0, close
}

void MetricsServer::poll(const std::function<std::string()>& render) {
  poll(render, monotonic_ns());
}

void MetricsServer::poll(const std::function<std::string()>& render, uint64_t now_ns) {
  accept_clients(now_ns);
  for (size_t i = 0; i < clients_.size();) {
    if (serve(clients_[i], render, now_ns)) {
      ++i;
      continue;
    }
    ::close(clients_[i].fd);
    clients_[i] = std::move(clients_.back());
    clients_.pop_back();
  }
}

// --- the exposition format -------------------------------------------------------

std::string escape_label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void MetricsText::family(const char* name, const char* type, const char* help) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += help;  // our own constant text: no escaping needed
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void MetricsText::head(const char* name, const Labels& labels) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    bool first = true;
    for (const auto& [label, value] : labels) {
      if (!first) text_ += ',';
      first = false;
      text_ += label;
      text_ += "=\"";
      text_ += escape_label_value(value);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
}

void MetricsText::sample(const char* name, const Labels& labels, uint64_t value) {
  head(name, labels);
  text_ += std::to_string(value);
  text_ += '\n';
}

void MetricsText::sample(const char* name, const Labels& labels, double value) {
  head(name, labels);
  char buf[32];
  if (std::isnan(value)) {
    std::snprintf(buf, sizeof(buf), "NaN");
  } else {
    std::snprintf(buf, sizeof(buf), "%.6g", value);
  }
  text_ += buf;
  text_ += '\n';
}

// --- busy ratio -------------------------------------------------------------------

double BusyTracker::update(unsigned row, uint64_t busy_tsc, uint64_t total_tsc) {
  if (row >= last_.size()) last_.resize(row + 1);
  Last& last = last_[row];
  uint64_t busy = busy_tsc, total = total_tsc;
  if (last.seen && total_tsc > last.total && busy_tsc >= last.busy) {
    busy = busy_tsc - last.busy;
    total = total_tsc - last.total;
  }
  last = Last{true, busy_tsc, total_tsc};
  if (total == 0) return 0.0;
  return std::min(1.0, static_cast<double>(busy) / static_cast<double>(total));
}

}  // namespace wirespeed::controlplane::app

// --- the page ------------------------------------------------------------------------

namespace wirespeed::controlplane::app {

namespace {

namespace shm = dataplane::shm;

constexpr double kNsPerSecond = 1e9;

using shm::key_base64;

const char* port_role(unsigned p) {
  return p == 0 ? "outer" : "inner";
}

}  // namespace

std::string render_page(const shm::Snapshot& s, const std::vector<std::string>& peer_names,
                        BusyTracker& busy) {
  MetricsText m;
  using L = MetricsText::Labels;

  m.family("wirespeed_dataplane_uptime_seconds", "gauge", "Time since the dataplane started.");
  m.sample("wirespeed_dataplane_uptime_seconds", {}, s.uptime_ns / kNsPerSecond);
  m.family("wirespeed_dataplane_heartbeat_age_seconds", "gauge",
           "Time since the dataplane's main lcore last looped.");
  m.sample("wirespeed_dataplane_heartbeat_age_seconds", {}, s.heartbeat_age_ns / kNsPerSecond);
  m.family("wirespeed_listen_port", "gauge", "UDP port the gateway listens on.");
  m.sample("wirespeed_listen_port", {}, uint64_t{s.listen_port});
  m.family("wirespeed_peers", "gauge", "Peers configured in the dataplane.");
  m.sample("wirespeed_peers", {}, uint64_t{s.peers.size()});

  // Ports: our pipelines' counts, summed over lcores.
  struct PortFigure {
    const char* name;
    const char* help;
    uint64_t shm::PortSnapshot::*field;
  };
  static constexpr PortFigure kPortFigures[] = {
      {"wirespeed_port_rx_packets_total", "Frames the pipelines took from the port.",
       &shm::PortSnapshot::rx_packets},
      {"wirespeed_port_rx_bytes_total", "Bytes of the frames taken from the port.",
       &shm::PortSnapshot::rx_bytes},
      {"wirespeed_port_tx_packets_total", "Frames the pipelines sent on the port.",
       &shm::PortSnapshot::tx_packets},
      {"wirespeed_port_tx_bytes_total", "Bytes of the frames sent on the port.",
       &shm::PortSnapshot::tx_bytes},
  };
  for (const PortFigure& f : kPortFigures) {
    m.family(f.name, "counter", f.help);
    for (unsigned p = 0; p < shm::kPortCount; ++p) {
      m.sample(f.name, L{{"port", port_role(p)}}, s.ports[p].*f.field);
    }
  }

  // Lcores.
  m.family("wirespeed_lcore_busy_ratio", "gauge",
           "Share of the lcore's loop time spent in passes that had work (a worker: received "
           "packets; the main lcore: applied commands), since the previous scrape.");
  for (const shm::LcoreSnapshot& l : s.lcores) {
    m.sample("wirespeed_lcore_busy_ratio",
             L{{"lcore", std::to_string(l.lcore_id)}, {"role", l.row == 0 ? "main" : "worker"}},
             busy.update(l.row, l.busy_tsc, l.total_tsc));
  }
  m.family("wirespeed_lcore_busy_cycles_total", "counter",
           "TSC cycles of loop passes that had work.");
  for (const shm::LcoreSnapshot& l : s.lcores) {
    m.sample("wirespeed_lcore_busy_cycles_total",
             L{{"lcore", std::to_string(l.lcore_id)}, {"role", l.row == 0 ? "main" : "worker"}},
             l.busy_tsc);
  }
  m.family("wirespeed_lcore_cycles_total", "counter", "TSC cycles of all loop passes.");
  for (const shm::LcoreSnapshot& l : s.lcores) {
    m.sample("wirespeed_lcore_cycles_total",
             L{{"lcore", std::to_string(l.lcore_id)}, {"role", l.row == 0 ? "main" : "worker"}},
             l.total_tsc);
  }
  m.family("wirespeed_tsc_hz", "gauge", "TSC cycles per second on the dataplane's machine.");
  m.sample("wirespeed_tsc_hz", {}, s.tsc_hz);

  uint64_t decrypted = 0, encrypted = 0, punted = 0;
  for (const shm::LcoreSnapshot& l : s.lcores) {
    decrypted += l.decrypted;
    encrypted += l.encrypted;
    punted += l.punted;
  }
  m.family("wirespeed_decrypted_packets_total", "counter", "Data messages decrypted.");
  m.sample("wirespeed_decrypted_packets_total", {}, decrypted);
  m.family("wirespeed_encrypted_packets_total", "counter", "Data messages encrypted.");
  m.sample("wirespeed_encrypted_packets_total", {}, encrypted);
  m.family("wirespeed_punted_packets_total", "counter",
           "Frames handed to the control plane (handshakes, ARP, ND, echo).");
  m.sample("wirespeed_punted_packets_total", {}, punted);

  m.family("wirespeed_drops_total", "counter", "Packets dropped, by reason.");
  for (unsigned d = 0; d < shm::kDropReasonCount; ++d) {
    m.sample("wirespeed_drops_total",
             L{{"reason", shm::drop_reason_name(static_cast<shm::DropReason>(d))}}, s.drops[d]);
  }

  if (!s.rings.empty()) {
    m.family("wirespeed_ring_entries", "gauge", "Messages waiting in a shared ring.");
    for (const shm::RingSnapshot& r : s.rings) {
      m.sample("wirespeed_ring_entries", L{{"ring", r.name}}, uint64_t{r.count});
    }
    m.family("wirespeed_ring_capacity", "gauge", "Capacity of a shared ring.");
    for (const shm::RingSnapshot& r : s.rings) {
      m.sample("wirespeed_ring_capacity", L{{"ring", r.name}}, uint64_t{r.capacity});
    }
  }
  if (s.mempool) {
    m.family("wirespeed_mbufs_in_use", "gauge", "Mbufs of the packet pool in use.");
    m.sample("wirespeed_mbufs_in_use", {}, uint64_t{s.mempool->in_use});
    m.family("wirespeed_mbufs_size", "gauge", "Mbufs in the packet pool.");
    m.sample("wirespeed_mbufs_size", {}, uint64_t{s.mempool->size});
  }

  // Peers, labelled by public key (and name when configured): never a secret.
  std::vector<L> labels;
  labels.reserve(s.peers.size());
  for (const shm::PeerSnapshot& p : s.peers) {
    L l{{"public_key", key_base64(p.public_key)}};
    if (p.slot < peer_names.size() && !peer_names[p.slot].empty()) {
      l.emplace_back("name", peer_names[p.slot]);
    }
    labels.push_back(std::move(l));
  }
  struct PeerFigure {
    const char* name;
    const char* help;
    uint64_t shm::PeerSnapshot::*field;
  };
  static constexpr PeerFigure kPeerFigures[] = {
      {"wirespeed_peer_rx_bytes_total", "Bytes of authenticated data messages from the peer.",
       &shm::PeerSnapshot::rx_bytes},
      {"wirespeed_peer_rx_packets_total", "Authenticated data messages from the peer.",
       &shm::PeerSnapshot::rx_packets},
      {"wirespeed_peer_tx_bytes_total", "Bytes of data messages sent to the peer.",
       &shm::PeerSnapshot::tx_bytes},
      {"wirespeed_peer_tx_packets_total", "Data messages sent to the peer.",
       &shm::PeerSnapshot::tx_packets},
      {"wirespeed_peer_handshakes_total", "Sessions installed for the peer.",
       &shm::PeerSnapshot::handshakes},
  };
  for (const PeerFigure& f : kPeerFigures) {
    m.family(f.name, "counter", f.help);
    for (size_t i = 0; i < s.peers.size(); ++i) m.sample(f.name, labels[i], s.peers[i].*f.field);
  }
  m.family("wirespeed_peer_last_handshake_age_seconds", "gauge",
           "Time since the peer's newest session was made (absent: never).");
  for (size_t i = 0; i < s.peers.size(); ++i) {
    if (!s.peers[i].last_handshake_age_ns) continue;
    m.sample("wirespeed_peer_last_handshake_age_seconds", labels[i],
             *s.peers[i].last_handshake_age_ns / kNsPerSecond);
  }
  return m.take();
}

}  // namespace wirespeed::controlplane::app
