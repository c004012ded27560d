// ChaCha20-Poly1305 for WireGuard data messages, through Intel IPsec-MB 1.3.
//
// Owns the one IPsec-MB manager (IMB_MGR) each worker lcore of the DPDK
// primary keeps, and the seal/open calls the data path makes on transport
// data messages (whitepaper §5.4.6): RFC 8439 AEAD, 32-byte key, no AAD, and
// WireGuard's 96-bit nonce — 4 zero bytes, then the 64-bit counter
// little-endian. A keepalive is the same with an empty payload.
//
// Threading: an AeadEngine belongs to one lcore. IPsec-MB's manager holds a
// job queue and is not thread-safe, so no two threads may use one engine at
// once; each worker creates its own at start-up and keeps it for life.
//
// Buffers are borrowed, never retained: every call has finished with them
// when it returns (a burst flushes the manager before returning).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "dataplane/base/result.hpp"

// The manager type of intel-ipsec-mb.h, declared here so that users of this
// header do not pull the whole IPsec-MB API in.
struct IMB_MGR;

namespace wirespeed::dataplane::crypto {

inline constexpr size_t kKeyLen = 32;
inline constexpr size_t kTagLen = 16;
inline constexpr size_t kNonceLen = 12;  // IETF nonce, as IPsec-MB takes it
// The burst size of the data path; a longer span is processed in chunks of
// this many (the per-chunk scratch lives on the stack).
inline constexpr size_t kMaxBurst = 32;

// One IPsec-MB manager, initialised for the best instruction set the CPU has.
// Move-only; the manager is freed on destruction. A moved-from engine holds
// nothing and may only be destroyed or assigned to.
class AeadEngine {
 public:
  // Allocates and initialises a manager (init_mb_mgr_auto). Errc::kSystem if
  // the allocation fails or the library reports an error after initialising.
  // Called once per worker lcore at start-up, not on the packet path.
  static Result<AeadEngine> create() noexcept;

  AeadEngine(AeadEngine&& other) noexcept;
  AeadEngine& operator=(AeadEngine&& other) noexcept;
  AeadEngine(const AeadEngine&) = delete;
  AeadEngine& operator=(const AeadEngine&) = delete;
  ~AeadEngine();

  // The code path the library picked: "sse", "avx", "avx2", "avx512" or
  // "avx512-ifma" (AVX-512 with the IFMA Poly1305), "none" once moved from.
  // A static string.
  const char* arch_name() const noexcept { return arch_name_; }

  // The manager, for this file's implementation; null once moved from.
  IMB_MGR* mgr() const noexcept { return mgr_; }

 private:
  AeadEngine(IMB_MGR* mgr, const char* arch_name) noexcept : mgr_(mgr), arch_name_(arch_name) {}

  IMB_MGR* mgr_ = nullptr;
  const char* arch_name_ = "none";
};

// Seals `len` bytes in place at `data` (plaintext in, ciphertext out) and
// writes the 16-byte tag at `tag`, which may be data + len. `data` may be
// null when len is 0 (keepalive). Cannot fail for valid pointers: IPsec-MB
// only rejects null buffers or a length over 2^38 - 64, which a packet never
// reaches (asserted in debug builds).
void seal(AeadEngine& engine, const uint8_t key[kKeyLen], uint64_t counter, uint8_t* data,
          size_t len, uint8_t* tag) noexcept;

// Opens `len` bytes in place at `data` (ciphertext in, plaintext out) and
// returns true iff `tag` verifies (constant-time comparison). The bytes at
// `data` are decrypted either way: on false they are garbage an attacker may
// have chosen and must be dropped, never read or forwarded.
[[nodiscard]] bool open(AeadEngine& engine, const uint8_t key[kKeyLen], uint64_t counter,
                        uint8_t* data, size_t len, const uint8_t* tag) noexcept;

// One packet of a burst. The caller fills key, counter, data, len and tag;
// the burst call sets ok.
struct AeadOp {
  const uint8_t* key;  // kKeyLen bytes
  uint64_t counter;    // the WireGuard nonce counter
  uint8_t* data;       // len bytes, processed in place
  uint32_t len;
  uint8_t* tag;  // kTagLen bytes: written by seal, read by open
  bool ok;       // open: the tag verified; seal: the library accepted the job
};

// Seals every op of the burst, as `seal` would one by one (same bytes out).
// Sets ok to true for each op the library accepted (always, for valid
// pointers).
void seal_burst(AeadEngine& engine, std::span<AeadOp> ops) noexcept;

// Opens every op of the burst in place and sets ok to whether its tag
// verified. As with `open`, the data of an op with ok == false is garbage.
void open_burst(AeadEngine& engine, std::span<AeadOp> ops) noexcept;

namespace detail {

// The general RFC 8439 AEAD with an explicit 12-byte nonce and AAD, for the
// RFC's own test vectors (which carry AAD and a non-WireGuard nonce). Not
// used on the data path. Same in-place contract as seal/open above.
void seal_ietf(AeadEngine& engine, const uint8_t key[kKeyLen], const uint8_t nonce[kNonceLen],
               const uint8_t* aad, size_t aad_len, uint8_t* data, size_t len,
               uint8_t* tag) noexcept;
[[nodiscard]] bool open_ietf(AeadEngine& engine, const uint8_t key[kKeyLen],
                             const uint8_t nonce[kNonceLen], const uint8_t* aad, size_t aad_len,
                             uint8_t* data, size_t len, const uint8_t* tag) noexcept;

}  // namespace detail

}  // namespace wirespeed::dataplane::crypto
