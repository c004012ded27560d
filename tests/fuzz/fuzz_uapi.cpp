// libFuzzer target: one UAPI request (controlplane/uapi/protocol.hpp) as a
// client of the socket would send it, answered through a backend that
// accepts every set and reports one peer on get. A request that parses is
// checked against the parser's contract: allowed IPs canonical, at most one
// of "no key" and a key per field.
#include <string>
#include <string_view>

#include "controlplane/peers/allowed_ips.hpp"
#include "controlplane/uapi/protocol.hpp"

namespace {

namespace uapi = wirespeed::controlplane::uapi;
namespace peers = wirespeed::controlplane::peers;

class Backend final : public uapi::Backend {
 public:
  uapi::DeviceInfo get() override {
    uapi::DeviceInfo info;
    info.listen_port = 51820;
    uapi::PeerInfo peer;
    peer.public_key.fill(0x42);
    peer.endpoint.family = 4;
    peer.endpoint.port = 51820;
    peer.endpoint.addr[0] = 192;
    peer.endpoint.addr[3] = 2;
    peer.allowed_ips.push_back(*peers::parse_prefix("10.8.1.0/24"));
    info.peers.push_back(std::move(peer));
    return info;
  }
  int set(const uapi::SetRequest& request) override {
    for (const auto& change : request.peers) {
      for (const auto& prefix : change.allowed_ips) {
        if (!peers::is_valid(prefix) || !(peers::canonicalize(prefix) == prefix)) __builtin_trap();
      }
    }
    return 0;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Backend backend;
  std::string message;
  const uapi::SecretString reply = uapi::handle_request(text, backend, &message);
  // Every reply ends in an errno line and the blank line.
  if (reply.size() < 9 || reply.compare(reply.size() - 2, 2, "\n\n") != 0 ||
      reply.rfind("errno=") == uapi::SecretString::npos)
    __builtin_trap();
  return 0;
}
