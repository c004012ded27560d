// The UAPI socket server (see server.hpp). Control-plane main thread only;
// every call is non-blocking.
#include "controlplane/uapi/server.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace wirespeed::controlplane::uapi {

namespace {

constexpr int kBacklog = 16;
constexpr unsigned kAcceptsPerPoll = 16;
constexpr unsigned kRoundsPerPoll = 4;  // reads/answers per client per poll
constexpr size_t kReadChunk = 64 * 1024;
constexpr uint64_t kAcceptNoteInterval = 1000ULL * 1000 * 1000;

bool valid_name(std::string_view name) {
  // What wg accepts as an interface name (IFNAMSIZ - 1) that is also a safe
  // file name.
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0' || c == '\n') return false;
  }
  return true;
}

bool fill_address(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

// True when some process accepts connections on `path`.
bool served(const sockaddr_un& addr, int* error) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = errno;
    return true;  // cannot tell: do not take it over
  }
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  *error = rc == 0 ? 0 : errno;
  close(fd);
  return rc == 0 || (*error != ECONNREFUSED && *error != ENOENT);
}

SecretString secret_copy(const std::string& text) {
  return SecretString(text.begin(), text.end());
}

void note(std::string* message, const std::string& text) {
  if (message == nullptr) return;
  if (!message->empty()) *message += "; ";
  *message += text;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::listen(std::string_view name,
                                               const ServerOptions& options) {
  if (!valid_name(name)) {
    return make_error(Errc::kInvalidArgument, "uapi: interface name unusable as a socket name");
  }
  if (mkdir(options.directory.c_str(), 0755) == 0) {
    chmod(options.directory.c_str(), 0755);  // whatever the umask: wg only needs to search it
  } else if (errno != EEXIST) {
    return make_error(Errc::kSystem, "uapi: cannot create the socket directory", errno);
  }
  struct stat dir_st {};
  if (stat(options.directory.c_str(), &dir_st) != 0 || !S_ISDIR(dir_st.st_mode)) {
    return make_error(Errc::kSystem, "uapi: the socket directory is not a directory", ENOTDIR);
  }
  std::string path = options.directory + "/" + std::string(name) + ".sock";
  sockaddr_un addr;
  if (!fill_address(path, &addr)) {
    return make_error(Errc::kInvalidArgument, "uapi: socket path too long", ENAMETOOLONG);
  }

  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return make_error(Errc::kInvalidArgument,
                        "uapi: the socket path exists and is not a socket; not removing it",
                        EEXIST);
    }
    int probe_error = 0;
    if (served(addr, &probe_error)) {
      return make_error(Errc::kSystem,
                        "uapi: another process serves the UAPI socket (a second control plane "
                        "for this interface?)",
                        probe_error == 0 ? EADDRINUSE : probe_error);
    }
    // Stale: left by a process that died. wg itself removes such sockets.
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return make_error(Errc::kSystem, "uapi: cannot remove the stale socket", errno);
    }
  }

  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(Errc::kSystem, "uapi: socket()", errno);
  // Created 0600 from the start (no window in which others could connect);
  // the chmod after bind is for umasks that would have left it narrower.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  umask(old_mask);
  if (bound != 0) {
    close(fd);
    return make_error(Errc::kSystem, "uapi: cannot bind the socket", bind_errno);
  }
  if (chmod(path.c_str(), 0600) != 0 || ::listen(fd, kBacklog) != 0 ||
      stat(path.c_str(), &st) != 0) {
    const int e = errno;
    unlink(path.c_str());
    close(fd);
    return make_error(Errc::kSystem, "uapi: cannot listen on the socket", e);
  }
  return std::unique_ptr<Server>(new Server(fd, std::move(path), options, st.st_ino));
}

Server::Server(int fd, std::string path, ServerOptions options, uint64_t ino)
    : fd_(fd), path_(std::move(path)), options_(std::move(options)), ino_(ino) {}

Server::~Server() {
  for (auto& c : clients_) {
    close(c->fd);
    crypto::wipe_string(c->in);
    crypto::wipe_string(c->out);
  }
  // A successor that replaced our socket keeps its own.
  struct stat st {};
  if (stat(path_.c_str(), &st) == 0 && st.st_ino == ino_) unlink(path_.c_str());
  close(fd_);
}

void Server::poll(Backend& backend, uint64_t now_ns, std::string* message) {
  accept_clients(now_ns, message);
  for (size_t i = 0; i < clients_.size();) {
    Client& c = *clients_[i];
    if (serve(c, backend, now_ns, message)) {
      ++i;
      continue;
    }
    close(c.fd);
    crypto::wipe_string(c.in);
    crypto::wipe_string(c.out);
    clients_.erase(clients_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

void Server::accept_clients(uint64_t now_ns, std::string* message) {
  for (unsigned n = 0; n < kAcceptsPerPoll; ++n) {
    const int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // EMFILE and the like repeat every poll until they clear: once a second.
        if (now_ns >= next_accept_note_ns_) {
          note(message, std::string("accept: ") + std::strerror(errno));
          next_accept_note_ns_ = now_ns + kAcceptNoteInterval;
        }
      }
      return;
    }
    if (clients_.size() >= options_.max_clients) {
      close(fd);
      if (now_ns >= next_accept_note_ns_) {
        note(message, "too many UAPI clients at once; refusing more");
        next_accept_note_ns_ = now_ns + kAcceptNoteInterval;
      }
      continue;
    }
    auto c = std::make_unique<Client>();
    c->in.reserve(256);  // on the heap from the first byte: a key is never inline
    c->fd = fd;
    c->last_activity_ns = now_ns;
    clients_.push_back(std::move(c));
  }
}

bool Server::flush(Client& c, uint64_t now_ns) {
  while (c.out_sent < c.out.size()) {
    const ssize_t n = send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_sent += static_cast<size_t>(n);
      c.last_activity_ns = now_ns;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;  // the client went away
  }
  crypto::wipe_string(c.out);  // a get reply holds the private key
  c.out_sent = 0;
  return true;
}

// Answers the first request in `in` if it is complete, or refuses what can
// never become one. Leaves `out` empty when there is nothing to say yet.
void Server::answer(Client& c, Backend& backend, std::string* message) {
  const size_t first_line = c.in.find('\n');
  if (first_line != SecretString::npos) {
    const std::string_view op(c.in.data(), first_line);
    if (op != "get=1" && op != "set=1") {
      // Not the protocol: say so and hang up rather than wait for a blank
      // line that may never come.
      c.out = secret_copy(format_errno(EINVAL));
      c.closing = true;
      note(message, "a client sent neither get=1 nor set=1; disconnected");
      return;
    }
  }
  const size_t end = c.in.find("\n\n");
  if (end == SecretString::npos || end + 2 > options_.max_request) {
    if (c.in.size() > options_.max_request) {
      c.out = secret_copy(format_errno(EMSGSIZE));
      c.closing = true;
      note(message,
           "a request exceeded " + std::to_string(options_.max_request) + " bytes; disconnected");
    }
    return;
  }
  std::string log;
  c.out = handle_request(std::string_view(c.in.data(), end + 2), backend, &log);
  c.out_sent = 0;
  sodium_memzero(c.in.data(), end + 2);  // a set may carry keys
  c.in.erase(0, end + 2);
  if (!log.empty()) note(message, log);
}

bool Server::serve(Client& c, Backend& backend, uint64_t now_ns, std::string* message) {
  static thread_local char buffer[kReadChunk];
  for (unsigned round = 0; round < kRoundsPerPoll; ++round) {
    if (!flush(c, now_ns)) return false;
    if (!c.out.empty()) break;  // the client is not reading fast enough: later
    if (c.closing) return false;
    answer(c, backend, message);
    if (!c.out.empty()) continue;
    if (c.peer_closed) return false;  // nothing complete will come any more
    const ssize_t n = recv(c.fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      c.in.append(buffer, static_cast<size_t>(n));
      sodium_memzero(buffer, static_cast<size_t>(n));  // a set may carry keys
      c.last_activity_ns = now_ns;
      continue;
    }
    if (n == 0) {
      c.peer_closed = true;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return false;
  }
  if (now_ns > c.last_activity_ns && now_ns - c.last_activity_ns > options_.idle_timeout_ns) {
    note(message, "a UAPI client was idle too long; disconnected");
    return false;
  }
  return true;
}

}  // namespace wirespeed::controlplane::uapi
