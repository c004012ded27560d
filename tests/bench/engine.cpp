// The same work as the ceiling (ceiling.cpp) through wirespeed's own AEAD
// layer, dataplane/crypto (seal_burst / open_burst on an AeadEngine): what
// the wrapper costs over raw IPsec-MB, one of the terms of "where the time
// per packet goes" in docs/performance.md. Main lcore of wirespeed-bench.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dataplane/base/clock.hpp"
#include "dataplane/crypto/chacha_poly.hpp"
#include "tests/bench/bench.hpp"

namespace wirespeed::bench {

namespace crypto = wirespeed::dataplane::crypto;

double engine_ns(unsigned size, bool seal, unsigned min_ms) {
  static auto engine = crypto::AeadEngine::create();
  if (!engine) {
    std::fprintf(stderr, "wirespeed-bench: AeadEngine: %s\n", engine.error().context);
    std::exit(1);
  }
  constexpr unsigned kBurst = 32, kStride = 2048;
  std::vector<uint8_t> bufs(kBurst * kStride, 0x5a);
  uint8_t key[32];
  for (unsigned i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  crypto::AeadOp ops[kBurst];
  uint64_t counter = 0, packets = 0;
  auto burst = [&] {
    for (unsigned i = 0; i < kBurst; ++i) {
      const unsigned len = sealed_len(packet_size(size, static_cast<unsigned>(packets) + i));
      ops[i] = crypto::AeadOp{key, counter++, bufs.data() + i * kStride, len,
                              bufs.data() + i * kStride + len, false};
    }
    if (seal) {
      crypto::seal_burst(*engine, ops);
    } else {
      crypto::open_burst(*engine, ops);  // tags do not verify: same work either way
    }
    packets += kBurst;
  };
  for (unsigned b = 0; b < 64; ++b) burst();
  packets = 0;
  const uint64_t min_ns = static_cast<uint64_t>(min_ms) * 1000000ULL;
  const uint64_t start = monotonic_ns();
  uint64_t now = start;
  while (now - start < min_ns) {
    for (unsigned rep = 0; rep < 16; ++rep) burst();
    now = monotonic_ns();
  }
  return static_cast<double>(now - start) / static_cast<double>(packets);
}

}  // namespace wirespeed::bench
