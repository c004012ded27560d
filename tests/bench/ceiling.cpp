// The ceiling: raw Intel IPsec-MB ChaCha20-Poly1305 on one core, with no
// wirespeed code in the loop (not even dataplane/crypto): bursts of 32 jobs
// on 32 buffers that stay in cache, submitted without the library's job
// checks and flushed per burst, as fast as this CPU seals or opens. Nonce,
// key and AAD handling are WireGuard's (12-byte nonce, 32-byte key, no AAD).
// Runs on the main lcore of wirespeed-bench before any data-path run.
#include <intel-ipsec-mb.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "dataplane/base/clock.hpp"
#include "tests/bench/bench.hpp"

namespace wirespeed::bench {

namespace {

constexpr unsigned kBurst = 32;

struct Manager {
  IMB_MGR* mgr = nullptr;
  IMB_ARCH arch = IMB_ARCH_NONE;
  Manager() {
    mgr = alloc_mb_mgr(0);
    if (mgr == nullptr) {
      std::fprintf(stderr, "wirespeed-bench: alloc_mb_mgr failed\n");
      std::exit(1);
    }
    init_mb_mgr_auto(mgr, &arch);
    if (imb_get_errno(mgr) != 0 || arch == IMB_ARCH_NONE) {
      std::fprintf(stderr, "wirespeed-bench: init_mb_mgr_auto failed\n");
      std::exit(1);
    }
  }
  ~Manager() { free_mb_mgr(mgr); }
};

Manager& manager() {
  static Manager m;
  return m;
}

// One burst of jobs over bufs[0..32), packet i of the stream being `first + i`.
void run_burst(IMB_MGR* mgr, unsigned size, unsigned first, bool seal, uint8_t* bufs,
               unsigned stride, const uint8_t* key, uint8_t (*ivs)[12], uint8_t (*tags)[16]) {
  for (unsigned i = 0; i < kBurst; ++i) {
    const unsigned len = sealed_len(packet_size(size, first + i));
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    job->enc_keys = key;
    job->dec_keys = key;
    job->key_len_in_bytes = 32;
    job->src = bufs + i * stride;
    job->dst = bufs + i * stride;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = len;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = len;
    job->iv = ivs[i];
    job->iv_len_in_bytes = 12;
    job->auth_tag_output = tags[i];
    job->auth_tag_output_len_in_bytes = 16;
    job->u.CHACHA20_POLY1305.aad = nullptr;
    job->u.CHACHA20_POLY1305.aad_len_in_bytes = 0;
    job->u.CHACHA20_POLY1305.ctx = nullptr;
    job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
    job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
    job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    IMB_SUBMIT_JOB_NOCHECK(mgr);
  }
  while (IMB_FLUSH_JOB(mgr) != nullptr) {
  }
}

}  // namespace

const char* ceiling_arch() {
  switch (manager().arch) {
    case IMB_ARCH_SSE:
      return "sse";
    case IMB_ARCH_AVX:
      return "avx";
    case IMB_ARCH_AVX2:
      return "avx2";
    case IMB_ARCH_AVX512:
      return (manager().mgr->features & IMB_FEATURE_AVX512_IFMA) != 0 ? "avx512-ifma" : "avx512";
    default:
      return "other";
  }
}

double ceiling_ns(unsigned size, bool seal, unsigned min_ms) {
  IMB_MGR* mgr = manager().mgr;
  constexpr unsigned kStride = 2048;
  std::vector<uint8_t> bufs(kBurst * kStride, 0x5a);
  uint8_t key[32];
  for (unsigned i = 0; i < 32; ++i) key[i] = static_cast<uint8_t>(i * 7 + 1);
  uint8_t ivs[kBurst][12] = {};
  uint8_t tags[kBurst][16];

  // Warm-up: caches, the library's first-use paths, the CPU's clock.
  for (unsigned b = 0; b < 64; ++b) run_burst(mgr, size, b * kBurst, seal, bufs.data(), kStride, key, ivs, tags);

  const uint64_t min_ns = static_cast<uint64_t>(min_ms) * 1000000ULL;
  uint64_t packets = 0;
  uint64_t counter = 0;
  const uint64_t start = monotonic_ns();
  uint64_t now = start;
  while (now - start < min_ns) {
    for (unsigned rep = 0; rep < 16; ++rep) {
      for (unsigned i = 0; i < kBurst; ++i, ++counter) std::memcpy(ivs[i] + 4, &counter, 8);
      run_burst(mgr, size, static_cast<unsigned>(packets), seal, bufs.data(), kStride, key, ivs, tags);
      packets += kBurst;
    }
    now = monotonic_ns();
  }
  return static_cast<double>(now - start) / static_cast<double>(packets);
}

}  // namespace wirespeed::bench
