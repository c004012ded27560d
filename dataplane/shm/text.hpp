// Text forms of shared-memory values, for every operator's view of them:
// `wirespeed-controlplane --show`, `wirespeed show`, the /wirespeed/
// telemetry commands, the metrics page and the UAPI's get reply. One place,
// so that the views print an endpoint or a key the same way. Any process;
// not for the packet path.
#pragma once

#include <cstdint>
#include <string>

#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::shm {

// "192.0.2.2:51820" or "[2001:db8::2]:51820"; `none` for an endpoint of no
// family (or one inet_ntop cannot print).
std::string endpoint_text(const Endpoint& e, const char* none = "none");

// Standard base64 of a 32-byte public key, as `wg` prints keys.
std::string key_base64(const uint8_t key[32]);

}  // namespace wirespeed::dataplane::shm
