// libFuzzer target: a handshake initiation (type 1) reaching the gateway
// through Device::on_handshake_datagram, the control plane's entry point for
// punted handshake messages — so mac1/mac2, the cookie reply under load, the
// rate limiter, open_initiation (es, static key), the peer lookup and
// consume_initiation (ss, timestamp, psk) and the response all run on input
// that the seeds (tests/fuzz/corpus/initiation/) make valid to start with.
// Input: one flags byte, then the datagram (handshake_world.hpp).
#include "tests/fuzz/handshake_world.hpp"

using namespace wirespeed::fuzz;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  use_deterministic_random();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A fresh gateway per input: no replay timestamp, flood or cookie state
  // carries over, so every input reproduces alone.
  auto gateway = gateway_for_initiations();
  feed(*gateway, data, size);
  return 0;
}
