// ChaCha20-Poly1305 seal/open on Intel IPsec-MB 1.3 (dataplane/crypto/chacha_poly.hpp).
// Runs on each worker lcore of the DPDK primary, with that lcore's engine.
//
// Why the job API and not the direct API (IMB_CHACHA20_POLY1305_INIT/
// ENC_UPDATE/ENC_FINALIZE): both are correct in 1.3, and neither gives
// multi-buffer lanes — 1.3 has no out-of-order manager for CHACHA20-POLY1305
// (IMB_MGR lists none), so IMB_SUBMIT_JOB runs each job to completion with
// single-buffer code before it returns. The difference is in that code:
//   * on AVX-512 the job path seals with one fused routine that produces the
//     Poly1305 key block together with the keystream in the same pass, and
//     opens by generating keystream and Poly1305 key together for short
//     packets; the direct API spends a separate ChaCha20 block on the key in
//     INIT, then UPDATE and FINALIZE — three indirect calls and a context of
//     ~200 bytes per packet;
//   * jobs go in through IMB_SUBMIT_JOB_NOCHECK: the library's per-job
//     validation is skipped. Every job here is built by this file from
//     pointers into an mbuf and lengths bounded by the MTU, so the checks
//     could never fire, and skipping them measured 11-16 ns per 64-byte
//     packet of the whole data path (wirespeed-bench, median burst: encap
//     302 -> 291 ns, decap 300 -> 284 ns). Debug builds assert what the
//     checks would have checked (fill_job);
//   * the burst code is already written for a queue that completes jobs late
//     and out of order (matched by user_data), so a library release that adds
//     lanes behind the same job API needs no change here.
// Measured on a 2-vCPU AVX-512+IFMA VM, bursts of 32 (ns per packet, job /
// direct): seal 64 B 177-211 / 253, 1420 B 563-584 / 667-696; open 1420 B
// 604-620 / 622-670. The job API was faster at every size tried.
//
// Tag check: for a decrypt job IPsec-MB only computes the tag (over the
// ciphertext, chain order HASH_CIPHER) into auth_tag_output; comparing it with
// the received tag is ours, in constant time.
#include "dataplane/crypto/chacha_poly.hpp"

#include <intel-ipsec-mb.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <utility>

namespace wirespeed::dataplane::crypto {

namespace {

static_assert(kMaxBurst <= IMB_MAX_JOBS, "a burst must fit the manager's job queue");

// One job's inputs. `tag_out` is where the library writes the computed tag:
// the packet's tag slot for seal, a scratch slot for open.
struct JobSpec {
  const uint8_t* key;
  const uint8_t* iv;
  const uint8_t* aad;
  uint64_t aad_len;
  uint8_t* data;
  uint64_t len;
  uint8_t* tag_out;
};

// WireGuard's nonce (whitepaper §5.4.6): 4 zero bytes, counter little-endian.
inline void wireguard_nonce(uint64_t counter, uint8_t out[kNonceLen]) noexcept {
  out[0] = out[1] = out[2] = out[3] = 0;
  for (size_t i = 0; i < 8; ++i) out[4 + i] = static_cast<uint8_t>(counter >> (8 * i));
}

// Constant-time equality of two 16-byte tags: the time does not depend on
// where (or whether) they differ. The empty asm makes the compiler
// materialise the whole difference before the one comparison, so it cannot
// turn this back into an early-exit compare.
inline bool tags_equal(const uint8_t* a, const uint8_t* b) noexcept {
  uint64_t a0, a1, b0, b1;
  std::memcpy(&a0, a, 8);
  std::memcpy(&a1, a + 8, 8);
  std::memcpy(&b0, b, 8);
  std::memcpy(&b1, b + 8, 8);
  uint64_t diff = (a0 ^ b0) | (a1 ^ b1);
  asm("" : "+r"(diff));
  return diff == 0;
}

// Every field the CHACHA20-POLY1305 path or the job check reads is set: the
// manager hands out recycled job slots that still hold an earlier job's
// values.
inline void fill_job(IMB_JOB* job, const JobSpec& spec, IMB_CIPHER_DIRECTION dir,
                     size_t index) noexcept {
  // What IMB_SUBMIT_JOB's checks would reject (run_jobs skips them).
  assert(spec.key != nullptr && spec.iv != nullptr && spec.tag_out != nullptr);
  assert(spec.len == 0 || spec.data != nullptr);
  assert(spec.len < (1ULL << 38) - 64);
  job->enc_keys = spec.key;
  job->dec_keys = spec.key;
  job->key_len_in_bytes = kKeyLen;
  job->src = spec.data;
  job->dst = spec.data;  // in place
  job->cipher_start_src_offset_in_bytes = 0;
  job->msg_len_to_cipher_in_bytes = spec.len;
  job->hash_start_src_offset_in_bytes = 0;
  job->msg_len_to_hash_in_bytes = spec.len;
  job->iv = spec.iv;
  job->iv_len_in_bytes = kNonceLen;
  job->auth_tag_output = spec.tag_out;
  job->auth_tag_output_len_in_bytes = kTagLen;
  job->u.CHACHA20_POLY1305.aad = spec.aad;
  job->u.CHACHA20_POLY1305.aad_len_in_bytes = spec.aad_len;
  job->u.CHACHA20_POLY1305.ctx = nullptr;  // SGL only
  job->cipher_mode = IMB_CIPHER_CHACHA20_POLY1305;
  job->hash_alg = IMB_AUTH_CHACHA20_POLY1305;
  job->cipher_direction = dir;
  // Seal: encrypt, then MAC the ciphertext. Open: MAC the ciphertext before
  // it is decrypted in place.
  job->chain_order = dir == IMB_DIR_ENCRYPT ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
  job->user_data = reinterpret_cast<void*>(static_cast<uintptr_t>(index));
  job->user_data2 = nullptr;
}

inline void record(const IMB_JOB* job, bool* completed) noexcept {
  const auto index = reinterpret_cast<uintptr_t>(job->user_data);
  completed[index] = job->status == IMB_STATUS_COMPLETED;
}

// Submits specs[0..n) and flushes the manager, so that every job has
// finished, and its buffers are released, when this returns. completed[i]
// tells whether job i finished without error. The queue may hand jobs back
// in any order; user_data carries the index.
void run_jobs(IMB_MGR* mgr, const JobSpec* specs, bool* completed, size_t n,
              IMB_CIPHER_DIRECTION dir) noexcept {
  assert(mgr != nullptr && "engine used after move");
  assert(n <= kMaxBurst);
  for (size_t i = 0; i < n; ++i) completed[i] = false;

  for (size_t i = 0; i < n; ++i) {
    IMB_JOB* job = IMB_GET_NEXT_JOB(mgr);
    fill_job(job, specs[i], dir, i);
    for (IMB_JOB* done = IMB_SUBMIT_JOB_NOCHECK(mgr); done != nullptr; done = IMB_GET_COMPLETED_JOB(mgr)) {
      record(done, completed);
    }
  }
  for (IMB_JOB* done = IMB_FLUSH_JOB(mgr); done != nullptr; done = IMB_FLUSH_JOB(mgr)) {
    record(done, completed);
  }
}

const char* arch_label(IMB_ARCH arch, uint64_t features) noexcept {
  switch (arch) {
    case IMB_ARCH_NOAESNI:
      return "noaesni";
    case IMB_ARCH_SSE:
      return "sse";
    case IMB_ARCH_AVX:
      return "avx";
    case IMB_ARCH_AVX2:
      return "avx2";
    case IMB_ARCH_AVX512:
      // The AVX-512 code runs Poly1305 on IFMA (52-bit multiply-add) when
      // the CPU has it.
      return (features & IMB_FEATURE_AVX512_IFMA) != 0 ? "avx512-ifma" : "avx512";
    default:
      return "unknown";
  }
}

}  // namespace

// ------------------------------------------------ engine

Result<AeadEngine> AeadEngine::create() noexcept {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) return make_error(Errc::kSystem, "alloc_mb_mgr failed", ENOMEM);
  // init_mb_mgr_auto (since 1.3) picks AVX-512 > AVX2 > AVX > SSE from the
  // CPU's flags, the same order we would check by hand.
  IMB_ARCH arch = IMB_ARCH_NONE;
  init_mb_mgr_auto(mgr, &arch);
  const int err = imb_get_errno(mgr);
  if (err != 0 || arch == IMB_ARCH_NONE) {
    free_mb_mgr(mgr);
    return make_error(Errc::kSystem, "init_mb_mgr_auto failed", err);
  }
  return AeadEngine(mgr, arch_label(arch, mgr->features));
}

AeadEngine::AeadEngine(AeadEngine&& other) noexcept
    : mgr_(std::exchange(other.mgr_, nullptr)),
      arch_name_(std::exchange(other.arch_name_, "none")) {}

AeadEngine& AeadEngine::operator=(AeadEngine&& other) noexcept {
  if (this != &other) {
    if (mgr_ != nullptr) free_mb_mgr(mgr_);
    mgr_ = std::exchange(other.mgr_, nullptr);
    arch_name_ = std::exchange(other.arch_name_, "none");
  }
  return *this;
}

AeadEngine::~AeadEngine() {
  if (mgr_ != nullptr) free_mb_mgr(mgr_);
}

// ------------------------------------------------ single packet

namespace detail {

void seal_ietf(AeadEngine& engine, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen],
               const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
               uint8_t* tag) noexcept {
  const JobSpec spec{key, nonce, aad, aad_len, data, len, tag};
  bool completed = false;
  run_jobs(engine.mgr(), &spec, &completed, 1, IMB_DIR_ENCRYPT);
  assert(completed && "IPsec-MB rejected a seal job");
  (void)completed;
}

bool open_ietf(AeadEngine& engine, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen],
               const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
               const uint8_t* tag) noexcept {
  uint8_t computed[kTagLen];
  const JobSpec spec{key, nonce, aad, aad_len, data, len, computed};
  bool completed = false;
  run_jobs(engine.mgr(), &spec, &completed, 1, IMB_DIR_DECRYPT);
  // A rejected job leaves `computed` unwritten, so it must not be read;
  // short-circuiting on `completed` leaks nothing secret (it depends only on
  // the arguments being valid).
  return completed && tags_equal(computed, tag);
}

}  // namespace detail

void seal(AeadEngine& engine, const uint8_t key[kKeyLen], uint64_t counter, uint8_t* data,
          size_t len, uint8_t* tag) noexcept {
  uint8_t nonce[kNonceLen];
  wireguard_nonce(counter, nonce);
  detail::seal_ietf(engine, key, nonce, nullptr, 0, data, len, tag);
}

bool open(AeadEngine& engine, const uint8_t key[kKeyLen], uint64_t counter, uint8_t* data,
          size_t len, const uint8_t* tag) noexcept {
  uint8_t nonce[kNonceLen];
  wireguard_nonce(counter, nonce);
  return detail::open_ietf(engine, key, nonce, nullptr, 0, data, len, tag);
}

// ------------------------------------------------ bursts

void seal_burst(AeadEngine& engine, std::span<AeadOp> ops) noexcept {
  uint8_t nonces[kMaxBurst][kNonceLen];
  JobSpec specs[kMaxBurst];
  bool completed[kMaxBurst];
  for (size_t base = 0; base < ops.size(); base += kMaxBurst) {
    const size_t n = std::min(kMaxBurst, ops.size() - base);
    for (size_t i = 0; i < n; ++i) {
      const AeadOp& op = ops[base + i];
      wireguard_nonce(op.counter, nonces[i]);
      specs[i] = JobSpec{op.key, nonces[i], nullptr, 0, op.data, op.len, op.tag};
    }
    run_jobs(engine.mgr(), specs, completed, n, IMB_DIR_ENCRYPT);
    for (size_t i = 0; i < n; ++i) ops[base + i].ok = completed[i];
  }
}

void open_burst(AeadEngine& engine, std::span<AeadOp> ops) noexcept {
  uint8_t nonces[kMaxBurst][kNonceLen];
  uint8_t computed[kMaxBurst][kTagLen];
  JobSpec specs[kMaxBurst];
  bool completed[kMaxBurst];
  for (size_t base = 0; base < ops.size(); base += kMaxBurst) {
    const size_t n = std::min(kMaxBurst, ops.size() - base);
    for (size_t i = 0; i < n; ++i) {
      const AeadOp& op = ops[base + i];
      wireguard_nonce(op.counter, nonces[i]);
      specs[i] = JobSpec{op.key, nonces[i], nullptr, 0, op.data, op.len, computed[i]};
    }
    run_jobs(engine.mgr(), specs, completed, n, IMB_DIR_DECRYPT);
    for (size_t i = 0; i < n; ++i) {
      AeadOp& op = ops[base + i];
      op.ok = completed[i] && tags_equal(computed[i], op.tag);
    }
  }
}

}  // namespace wirespeed::dataplane::crypto
