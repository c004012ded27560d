// The cross-platform WireGuard userspace API (wireguard.com/xplatform), the
// protocol `wg` speaks to a userspace implementation over
// /var/run/wireguard/<name>.sock: "get=1\n\n" and "set=1\n<key=value>...\n\n",
// keys in hex, every reply ending "errno=0\n\n" or "errno=-E\n\n".
//
// Pure text in, text out: no sockets (server.hpp) and no Device (the control
// plane's Agent implements Backend). Control-plane main thread.
//
// Parsing never trusts its input: every key, value and length is checked, an
// unknown key or a bad value makes the whole request fail with an errno reply,
// and a failed set request changes nothing (it is validated whole before the
// Backend sees it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "controlplane/crypto/blake2s.hpp"
#include "controlplane/crypto/secret.hpp"
#include "controlplane/crypto/x25519.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::controlplane::uapi {

// One peer's part of a set request: everything between its public_key= line
// and the next public_key= (or the end).
struct PeerChange {
  crypto::PublicKey public_key{};
  bool remove = false;       // remove=true
  bool update_only = false;  // update_only=true: ignore the change if the peer does not exist
  // preshared_key=: a set key; an all-zero key means "no preshared key" (as wg sends it).
  std::optional<crypto::Key> preshared_key;
  std::optional<config::Endpoint> endpoint;      // endpoint=IP:PORT / [IPv6]:PORT
  std::optional<uint16_t> persistent_keepalive;  // persistent_keepalive_interval=, 0 = off
  bool replace_allowed_ips = false;              // replace_allowed_ips=true
  std::vector<config::Prefix> allowed_ips;       // allowed_ip=, canonical, in order
};

struct SetRequest {
  std::optional<crypto::PrivateKey> private_key;  // private_key=; never all-zero (refused)
  std::optional<uint16_t> listen_port;            // listen_port=; 0 is refused (no random port)
  bool replace_peers = false;                     // replace_peers=true
  std::vector<PeerChange> peers;                  // in request order
};

enum class RequestKind : uint8_t { kGet, kSet };

struct Request {
  RequestKind kind = RequestKind::kGet;
  SetRequest set;  // kSet only
};

// What a get reply reports of one peer.
struct PeerInfo {
  crypto::PublicKey public_key{};
  std::optional<crypto::Key> preshared_key;
  dataplane::shm::Endpoint endpoint;    // family 0 = none known
  uint64_t last_handshake_unix_ns = 0;  // 0 = never
  uint64_t rx_bytes = 0;
  uint64_t tx_bytes = 0;
  uint16_t persistent_keepalive = 0;
  std::vector<config::Prefix> allowed_ips;
};

struct DeviceInfo {
  const crypto::PrivateKey* private_key = nullptr;  // not owned; null = none
  uint16_t listen_port = 0;
  std::vector<PeerInfo> peers;
};

// What the control plane does with a request. set() gets a request that has
// already parsed whole; it returns 0 or a positive errno (the reply carries it
// negated, see format_errno).
class Backend {
 public:
  virtual ~Backend() = default;
  virtual DeviceInfo get() = 0;
  virtual int set(const SetRequest& request) = 0;
};

struct ParseResult {
  std::optional<Request> request;  // set on success
  int error = 0;                   // positive errno (EINVAL, EPROTO, ...) on failure
  std::string message;             // for the log: which line and why; never a key's value
};

// Parses one request: its text up to and including the terminating blank
// line ("get=1\n\n", "set=1\n...\n\n").
ParseResult parse_request(std::string_view text);

using crypto::SecretString;

// The get reply body, "errno=0\n\n" included. Keys in lower-case hex, so
// the text is a SecretString: no copy of it outlives the reply.
SecretString format_get(const DeviceInfo& info);

// "errno=0\n\n", or for a positive errno E "errno=-E\n\n" (wireguard-go's
// sign, which `wg` expects).
std::string format_errno(int error);

// Parses `text` as one request and answers it through `backend`: the whole
// reply text, always ending "errno=N\n\n". Parse failures are logged through
// `message` (may be null) and never reach the backend.
SecretString handle_request(std::string_view text, Backend& backend, std::string* message);

}  // namespace wirespeed::controlplane::uapi
