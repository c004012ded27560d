// BLAKE2s hash, keyed MAC, HMAC and the KDF chain over libb2
// (controlplane/crypto/blake2s.hpp). Control plane, handshake path.
//
// Every intermediate that derives from a key (HMAC pads, inner hash, KDF
// secret T0) lives on the stack and is wiped before return.
#include "controlplane/crypto/blake2s.hpp"

#include <blake2.h>
#include <sodium.h>

#include <cassert>

namespace wirespeed::controlplane::crypto {
namespace {

// Wipes a libb2 state on scope exit: it holds key material in keyed mode.
struct StateGuard {
  blake2s_state state;
  ~StateGuard() { sodium_memzero(&state, sizeof(state)); }
};

void update_parts(blake2s_state& state, std::initializer_list<std::span<const uint8_t>> parts) {
  for (const auto& part : parts) {
    if (!part.empty()) blake2s_update(&state, part.data(), part.size());
  }
}

}  // namespace

bool blake2s(std::span<uint8_t> out, std::span<const uint8_t> key,
             std::initializer_list<std::span<const uint8_t>> parts) noexcept {
  if (out.empty() || out.size() > kHashLen || key.size() > kBlake2sMaxKeyLen) return false;
  StateGuard g;
  const int rc = key.empty() ? blake2s_init(&g.state, out.size())
                             : blake2s_init_key(&g.state, out.size(), key.data(), key.size());
  if (rc != 0) return false;
  update_parts(g.state, parts);
  return blake2s_final(&g.state, out.data(), out.size()) == 0;
}

Hash hash(std::initializer_list<std::span<const uint8_t>> parts) noexcept {
  Hash out;
  const bool ok = blake2s(out, {}, parts);
  assert(ok);
  (void)ok;
  return out;
}

void mac(std::span<uint8_t, kMac128Len> out, std::span<const uint8_t> key,
         std::span<const uint8_t> data) noexcept {
  const bool ok = blake2s(out, key, {data});
  assert(ok);
  (void)ok;
}

void hmac(std::span<uint8_t, kHashLen> out, std::span<const uint8_t> key,
          std::span<const uint8_t> data) noexcept {
  // RFC 2104 with a 64-byte block. Keys longer than a block are hashed first.
  uint8_t block[kBlake2sBlockLen] = {};
  if (key.size() > kBlake2sBlockLen) {
    const Hash k = hash({key});
    std::memcpy(block, k.data(), k.size());
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }

  uint8_t pad[kBlake2sBlockLen];
  for (size_t i = 0; i < kBlake2sBlockLen; ++i) pad[i] = block[i] ^ 0x36;
  uint8_t inner[kHashLen];
  blake2s(inner, {}, {pad, data});

  for (size_t i = 0; i < kBlake2sBlockLen; ++i) pad[i] = block[i] ^ 0x5c;
  blake2s(out, {}, {pad, inner});

  sodium_memzero(block, sizeof(block));
  sodium_memzero(pad, sizeof(pad));
  sodium_memzero(inner, sizeof(inner));
}

namespace {

// KDF_n: T0 = HMAC(ck, input); T1 = HMAC(T0, 0x1); Ti = HMAC(T0, T(i-1) || i).
void kdf(std::span<Key* const> outputs, std::span<const uint8_t, kHashLen> chaining_key,
         std::span<const uint8_t> input) noexcept {
  uint8_t secret[kHashLen];
  hmac(secret, chaining_key, input);

  uint8_t buf[kHashLen + 1];
  size_t buf_len = 0;
  for (size_t i = 0; i < outputs.size(); ++i) {
    buf[buf_len] = static_cast<uint8_t>(i + 1);
    hmac(outputs[i]->writable(), secret, std::span<const uint8_t>(buf, buf_len + 1));
    std::memcpy(buf, outputs[i]->data(), kHashLen);
    buf_len = kHashLen;
  }
  sodium_memzero(secret, sizeof(secret));
  sodium_memzero(buf, sizeof(buf));
}

}  // namespace

void kdf1(Key& t1, std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input) noexcept {
  Key* const out[] = {&t1};
  kdf(out, chaining_key, input);
}

void kdf2(Key& t1, Key& t2, std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input) noexcept {
  Key* const out[] = {&t1, &t2};
  kdf(out, chaining_key, input);
}

void kdf3(Key& t1, Key& t2, Key& t3, std::span<const uint8_t, kHashLen> chaining_key,
          std::span<const uint8_t> input) noexcept {
  Key* const out[] = {&t1, &t2, &t3};
  kdf(out, chaining_key, input);
}

}  // namespace wirespeed::controlplane::crypto
