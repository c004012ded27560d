// Secret<N>: N bytes of key material that cannot leak by accident.
//
// Not copyable (a copy is a second place to wipe); movable, and a move wipes
// the source. Wiped with sodium_memzero on destruction, compared in constant
// time. Never printed: there is no stream operator on purpose.
#pragma once

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string>

namespace wirespeed::controlplane::crypto {

template <size_t N>
class Secret {
 public:
  static constexpr size_t kSize = N;

  Secret() noexcept { bytes_.fill(0); }
  explicit Secret(std::span<const uint8_t, N> bytes) noexcept {
    std::memcpy(bytes_.data(), bytes.data(), N);
  }
  ~Secret() { wipe(); }

  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& other) noexcept {
    std::memcpy(bytes_.data(), other.bytes_.data(), N);
    other.wipe();
  }
  Secret& operator=(Secret&& other) noexcept {
    if (this != &other) {
      std::memcpy(bytes_.data(), other.bytes_.data(), N);
      other.wipe();
    }
    return *this;
  }

  // An explicit copy, for the few places that must keep two (e.g. a chaining
  // key snapshot). Named so that every copy shows up in review.
  Secret clone() const noexcept { return Secret(std::span<const uint8_t, N>(bytes_)); }

  void wipe() noexcept { sodium_memzero(bytes_.data(), N); }

  std::span<const uint8_t, N> bytes() const noexcept { return std::span<const uint8_t, N>(bytes_); }
  std::span<uint8_t, N> writable() noexcept { return std::span<uint8_t, N>(bytes_); }
  const uint8_t* data() const noexcept { return bytes_.data(); }
  uint8_t* data() noexcept { return bytes_.data(); }
  static constexpr size_t size() noexcept { return N; }

  // Constant-time comparison.
  bool equals(const Secret& other) const noexcept {
    return sodium_memcmp(bytes_.data(), other.bytes_.data(), N) == 0;
  }
  bool equals(std::span<const uint8_t, N> other) const noexcept {
    return sodium_memcmp(bytes_.data(), other.data(), N) == 0;
  }
  // Constant-time test for all zero bytes.
  bool is_zero() const noexcept { return sodium_is_zero(bytes_.data(), N) == 1; }

 private:
  std::array<uint8_t, N> bytes_;
};

// An allocator that wipes every block before it frees it, so that a
// container which may hold keys (UAPI text in hex, the device's Outbox of
// keypair installs) leaves no copy behind when it grows, shrinks or dies.
template <typename T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <typename U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept {
    sodium_memzero(p, n * sizeof(T));
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const WipingAllocator<U>&) const noexcept {
    return true;
  }
};

// A string for text that may carry key material. Its heap blocks are wiped
// when released; its inline (short-string) buffer holds at most 15 bytes,
// and wipe_string() clears that too. Give it capacity before the first
// secret byte (reserve) so no key text ever sits inline.
using SecretString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

inline void wipe_string(SecretString& s) noexcept {
  if (s.capacity() != 0) sodium_memzero(s.data(), s.capacity());
  s.clear();
}

// Constant-time comparison of public byte strings of equal length (MACs, tags).
inline bool equal_ct(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace wirespeed::controlplane::crypto
