// libFuzzer target: a cookie reply (type 3) reaching a gateway that has an
// initiation in flight, through Device::on_handshake_datagram: the index
// lookup and CookieMaker::consume_reply (XChaCha20-Poly1305 under the mac1
// it last sent). The seeds (tests/fuzz/corpus/cookie_reply/) are the peer's
// replies to exactly that initiation. A reply that is taken must make the
// next initiation carry a mac2.
// Input: one flags byte, then the datagram (handshake_world.hpp).
#include "tests/fuzz/handshake_world.hpp"

using namespace wirespeed::fuzz;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  use_deterministic_random();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto gateway = gateway_awaiting_response();
  const uint64_t before = gateway->stats().cookie_replies_received;
  feed(*gateway, data, size);
  if (gateway->stats().cookie_replies_received == before) return 0;

  device::Outbox out;
  gateway->force_rekey(0, kNow, out);
  const auto sent = transmitted(out);
  device::wipe_outbox(out);
  if (sent.size() != 1 || sent[0].size() != wire::kInitiationSize) __builtin_trap();
  bool mac2 = false;
  for (size_t i = wire::kMac2Offset<wire::MessageInitiation>; i < wire::kInitiationSize; ++i)
    mac2 = mac2 || sent[0][i] != 0;
  if (!mac2) __builtin_trap();
  return 0;
}
