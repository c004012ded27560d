// libFuzzer target: the data-message receive path of the dataplane's decap
// (dataplane/pipeline/decap.cpp) without the mbufs: the stage-1 checks of a
// UDP payload on the listen port, the type-4 header parse, the receiver
// index, the replay window's pre-check, ChaCha20-Poly1305 open through
// IPsec-MB (dataplane/crypto) in place, the window update after
// authentication, and the inner packet parse. Several messages per input
// share one window (data_world.hpp), which is checked against a naive model:
// a counter is fresh iff it was never accepted, is below
// REJECT_AFTER_MESSAGES and is within the window of the greatest accepted.
// Seeds (tests/fuzz/corpus/data/) are messages sealed under the fixed key.
#include <sanitizer/asan_interface.h>

#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "dataplane/crypto/chacha_poly.hpp"
#include "dataplane/net/frame.hpp"
#include "dataplane/replay/replay_window.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/fuzz/data_world.hpp"

namespace {

namespace crypto = wirespeed::dataplane::crypto;
namespace net = wirespeed::dataplane::net;
namespace replay = wirespeed::dataplane::replay;
namespace wire = wirespeed::dataplane::wire;
using wirespeed::fuzz::kDataKey;
using wirespeed::fuzz::kDataReceiverIndex;

crypto::AeadEngine* engine = nullptr;

struct Model {
  std::set<uint64_t> accepted;
  bool fresh(uint64_t counter) const {
    if (counter >= replay::ReplayWindow::kRejectAfterMessages) return false;
    if (accepted.contains(counter)) return false;
    return accepted.empty() || counter + replay::ReplayWindow::kWindowSize >= *accepted.rbegin();
  }
};

void receive(std::span<const uint8_t> payload, replay::ReplayWindow& window, Model& model) {
  // An exact-size copy on the heap: ASan sees any read past the datagram,
  // and open() decrypts in place as the dataplane does in the mbuf.
  std::vector<uint8_t> buf(payload.begin(), payload.end());
  const size_t len = buf.size();
  const wire::MessageType type = wire::classify(buf);
  // decap stage 1: reserved bytes, then the type-4 minimum.
  if (len < 4 || buf[1] != 0 || buf[2] != 0 || buf[3] != 0 ||
      buf[0] != static_cast<uint8_t>(wire::MessageType::kData) || len < wire::kKeepaliveSize) {
    if (type == wire::MessageType::kData) __builtin_trap();  // the two checks disagree
    return;
  }
  auto header = wire::parse_data_header(buf);
  if (!header || type != wire::MessageType::kData) __builtin_trap();
  if (header->receiver_index.get() != kDataReceiverIndex) return;  // unknown index
  const uint64_t counter = header->counter.get();
  if (!window.check(counter)) {
    if (model.fresh(counter)) __builtin_trap();  // a fresh counter refused before opening
    return;
  }

  uint8_t* body = buf.data() + wire::kDataHeaderSize;
  const size_t body_len = len - wire::kDataHeaderSize - wire::kTagLen;
  // IPsec-MB is not instrumented: check its reads here.
  if (__asan_region_is_poisoned(body, body_len + wire::kTagLen) != nullptr) __builtin_trap();
  if (!crypto::open(*engine, kDataKey, counter, body, body_len, body + body_len)) return;

  const bool expected = model.fresh(counter);
  if (window.update(counter) != expected) __builtin_trap();
  if (!expected) return;
  model.accepted.insert(counter);
  if (body_len == 0) return;  // keepalive
  const net::InnerView inner = net::parse_inner(body, body_len);
  if (inner.ok && (inner.ip_len > body_len || (inner.family != 4 && inner.family != 6)))
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto created = crypto::AeadEngine::create();
  if (!created) __builtin_trap();
  engine = new crypto::AeadEngine(std::move(*created));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto window = std::make_unique<replay::ReplayWindow>();
  Model model;
  for (const auto& record : wirespeed::fuzz::split_records(data, size))
    receive(record, *window, model);
  return 0;
}
