// Result<T>: a value or an error, shaped like std::expected (C++23, not in g++ 12).
//
// Project code does not throw; a function that can fail returns Result<T> and
// the caller decides. The error carries a code, the errno/rte_errno of the
// failing call when there is one, and a static context string (never built at
// run time, so an error path neither allocates nor leaks secrets).
//
// Lives under dataplane/base because the dataplane is the lowest layer: the
// control plane and config include it from here (design brief §6).
#pragma once

#include <cassert>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace wirespeed {

enum class Errc : uint8_t {
  kOk = 0,
  kInvalidArgument,  // caller passed something out of range
  kBadLength,        // a buffer is not the size the format requires
  kBadType,          // message type or reserved bytes wrong
  kBadMac,           // mac1/mac2 did not verify
  kDecryptFailed,    // AEAD tag did not verify
  kBadKey,           // X25519 produced the all-zero point, or key malformed
  kReplayed,         // timestamp not newer / counter already seen
  kRateLimited,      // too many initiations for this peer
  kBadState,         // message does not fit the handshake's state
  kUnknownPeer,      // static key or index not ours
  kExhausted,        // no free slot / index
  kSystem,           // a system call failed; sys_errno says why
};

// Human-readable name of an error code, for logs and test messages.
const char* errc_name(Errc code) noexcept;

struct Error {
  Errc code = Errc::kInvalidArgument;
  int sys_errno = 0;              // errno or rte_errno, 0 when not applicable
  const char* context = "";       // static string: what was being done
};

inline constexpr Error make_error(Errc code, const char* context, int sys_errno = 0) noexcept {
  return Error{code, sys_errno, context};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& value) : ok_(true) { new (&value_) T(value); }
  Result(T&& value) : ok_(true) { new (&value_) T(std::move(value)); }
  Result(Error error) : ok_(false) { error_ = error; }

  Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(other.ok_) {
    if (ok_) {
      new (&value_) T(std::move(other.value_));
    } else {
      error_ = other.error_;
    }
  }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  ~Result() {
    if (ok_) value_.~T();
  }

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }

  T& value() & {
    assert(ok_);
    return value_;
  }
  const T& value() const& {
    assert(ok_);
    return value_;
  }
  T&& value() && {
    assert(ok_);
    return std::move(value_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // On a success, an Error whose code is kOk (never undefined behaviour).
  const Error& error() const noexcept { return ok_ ? kNoError : error_; }

 private:
  static constexpr Error kNoError{Errc::kOk, 0, ""};
  bool ok_;
  union {
    T value_;
    Error error_;
  };
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : ok_(false), error_(error) {}

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const noexcept { return error_; }  // code kOk on success

 private:
  bool ok_ = true;
  Error error_{};
};

inline Result<void> ok_result() noexcept { return Result<void>(); }

}  // namespace wirespeed
