// libFuzzer target: a handshake response (type 2) reaching a gateway that has
// an initiation in flight to its peer, through Device::on_handshake_datagram:
// mac1 (mac2 under load), the receiver-index lookup, consume_response (ee,
// se, psk, the empty payload's tag) and begin_session. The seeds
// (tests/fuzz/corpus/response/) are responses to exactly that initiation.
// Input: one flags byte, then the datagram (handshake_world.hpp).
#include "tests/fuzz/handshake_world.hpp"

using namespace wirespeed::fuzz;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  use_deterministic_random();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto gateway = gateway_awaiting_response();
  const uint64_t before = gateway->stats().responses_received;
  feed(*gateway, data, size);
  // A consumed response leaves a usable session, never half a one.
  if (gateway->stats().responses_received != before && !gateway->peer_view(0).has_current)
    __builtin_trap();
  return 0;
}
