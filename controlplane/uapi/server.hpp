// The UAPI socket: a unix stream socket at /var/run/wireguard/<name>.sock
// (wireguard.com/xplatform), where `wg` finds a userspace WireGuard device.
//
// Owned by the control plane's main thread and polled from its loop: every
// descriptor is non-blocking and poll() never waits, so a slow, silent or
// hostile client cannot stall handshakes. Each client may send several
// requests on one connection (as wireguard-go allows); requests are answered
// in order, one at a time (the next is read only once the previous reply has
// been written, so a client that does not read cannot make us buffer more).
//
// Robustness contract: a request larger than the limit, a first line that is
// neither get=1 nor set=1, or a client idle past the timeout gets an errno
// reply where one makes sense and is disconnected; nothing a client sends can
// do more than that. The socket is 0600 (root only, the process's owner) in
// a directory created 0755 if missing. A live socket of another process is
// never taken over; a stale one (nobody accepts on it) is replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/uapi/protocol.hpp"
#include "dataplane/base/result.hpp"

namespace wirespeed::controlplane::uapi {

struct ServerOptions {
  std::string directory = "/var/run/wireguard";  // tests use a temporary one
  size_t max_request = 1 << 20;                  // bytes of one request, its blank line included
  unsigned max_clients = 16;                     // connections beyond it are closed at once
  uint64_t idle_timeout_ns = 10ULL * 1000 * 1000 * 1000;  // without a byte in either direction
};

class Server {
 public:
  // Creates DIRECTORY/NAME.sock. Fails (kSystem, EADDRINUSE) when another
  // process accepts on it, (kInvalidArgument) for a name wg could not use
  // (empty, longer than 15, '/', "." or ".."), or when the path exists and is
  // not a socket.
  static Result<std::unique_ptr<Server>> listen(std::string_view name,
                                                const ServerOptions& options = {});
  // Closes every client and removes the socket if it is still ours.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Accepts, reads, answers through `backend` and writes whatever is ready,
  // without blocking. Problems worth a log line (a malformed request, a
  // client cut off) are appended to *message, "; "-separated (may be null).
  void poll(Backend& backend, uint64_t now_ns, std::string* message);

  const std::string& path() const noexcept { return path_; }
  size_t client_count() const noexcept { return clients_.size(); }

 private:
  struct Client {
    int fd = -1;
    // Both may hold keys in hex (a set's, a get reply's): every block they
    // release is wiped, `out` once sent.
    SecretString in;   // bytes received, not yet answered; never inline (reserved)
    SecretString out;  // reply bytes not yet written
    size_t out_sent = 0;
    uint64_t last_activity_ns = 0;
    bool closing = false;  // close once `out` is written
    bool peer_closed = false;
  };

  Server(int fd, std::string path, ServerOptions options, uint64_t ino);
  void accept_clients(uint64_t now_ns, std::string* message);
  // False when the client is done with (closed or to be dropped).
  bool serve(Client& client, Backend& backend, uint64_t now_ns, std::string* message);
  bool flush(Client& client, uint64_t now_ns);
  void answer(Client& client, Backend& backend, std::string* message);

  int fd_ = -1;
  std::string path_;
  ServerOptions options_;
  uint64_t ino_ = 0;                  // of the socket we bound: removed on exit only if still ours
  uint64_t next_accept_note_ns_ = 0;  // accept problems are logged at most once a second
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace wirespeed::controlplane::uapi
