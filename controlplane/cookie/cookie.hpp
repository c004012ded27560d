// mac1, mac2 and cookie replies: WireGuard's DoS mitigation (whitepaper §5.4.7, §5.3).
//
//   CookieChecker — one per device, the receiving side: verifies mac1 on every
//     handshake message, and under load mac2 against a cookie made from the
//     sender's IP and port with a random secret rotated every kCookieRefreshTime;
//     creates cookie replies.
//   CookieMaker — one per peer, the sending side: stamps mac1 (and mac2 while
//     it holds a fresh cookie) on every handshake message it sends, and
//     consumes the cookie replies the peer sends back.
//   admit() — the policy that joins the verdict with load and rate limiting,
//     as the kernel's receive path does.
//
// Control plane, handshake worker. Time is injected (monotonic ns).
#pragma once

#include <cstdint>
#include <span>

#include "controlplane/crypto/blake2s.hpp"
#include "controlplane/crypto/x25519.hpp"
#include "dataplane/base/result.hpp"
#include "dataplane/wire/constants.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::controlplane::cookie {

using crypto::PublicKey;
using dataplane::wire::Nanos;

inline constexpr char kLabelMac1[] = "mac1----";
inline constexpr char kLabelCookie[] = "cookie--";

// Where a handshake message came from; the cookie binds to both.
struct Source {
  std::span<const uint8_t> ip;  // 4 or 16 bytes, network order
  uint16_t port = 0;            // host order
};

enum class MacVerdict : uint8_t {
  kInvalidMac,          // mac1 wrong (or message too short to carry macs): drop silently
  kValidMacNoCookie,    // mac1 right; mac2 absent, wrong, or not checked
  kValidMacWithCookie,  // mac1 and mac2 right
};

enum class Admission : uint8_t {
  kDrop,             // invalid, or rate limited under load
  kSendCookieReply,  // under load without a valid mac2: answer with a cookie, do no DH
  kProcess,          // go on to the Noise handshake
};

// The kernel's receive-path policy. `source_allowed` is the rate limiter's
// answer for this source; it matters only under load with a valid mac2.
Admission admit(MacVerdict verdict, bool under_load, bool source_allowed) noexcept;

class CookieChecker {
 public:
  // No secret exists until the first cookie is made (lazy, like the kernel).
  explicit CookieChecker(const PublicKey& local_public) noexcept;
  CookieChecker(const CookieChecker&) = delete;
  CookieChecker& operator=(const CookieChecker&) = delete;

  // The device key changed: derive the mac1 and cookie keys anew.
  void set_identity(const PublicKey& local_public) noexcept;

  // Check a handshake message (initiation or response, whole datagram). mac2
  // is checked only when `check_cookie` (i.e. under load).
  MacVerdict validate(std::span<const uint8_t> message, const Source& source, bool check_cookie,
                      Nanos now) noexcept;

  // A cookie reply to `message` (whose sender index is `receiver_index`),
  // binding the cookie to `source` and encrypting it under mac1 of the message.
  Result<dataplane::wire::MessageCookieReply> create_reply(std::span<const uint8_t> message,
                                                           uint32_t receiver_index,
                                                           const Source& source, Nanos now) noexcept;

  // When the current secret was made (for tests and `wirespeed show`).
  Nanos secret_birthdate() const noexcept { return secret_birthdate_; }

 private:
  void make_cookie(std::span<uint8_t, dataplane::wire::kCookieLen> out, const Source& source,
                   Nanos now) noexcept;

  crypto::Key secret_;
  bool have_secret_ = false;
  Nanos secret_birthdate_ = 0;
  crypto::Hash cookie_encryption_key_{};
  crypto::Hash mac1_key_{};
};

class CookieMaker {
 public:
  explicit CookieMaker(const PublicKey& remote_public) noexcept;
  CookieMaker(const CookieMaker&) = delete;
  CookieMaker& operator=(const CookieMaker&) = delete;

  // Fill mac1, and mac2 when a cookie younger than
  // kCookieRefreshTime - kCookieSecretLatency is held (else mac2 = 0), into
  // the last 32 bytes of `message`. Remembers mac1 to open a cookie reply.
  Result<void> add_macs(std::span<uint8_t> message, Nanos now) noexcept;

  // Take the cookie from a reply to the last message we stamped. Fails if we
  // sent nothing since the last reply, or the reply does not authenticate.
  Result<void> consume_reply(const dataplane::wire::MessageCookieReply& reply, Nanos now) noexcept;

  bool has_valid_cookie(Nanos now) const noexcept;

 private:
  crypto::Secret<dataplane::wire::kCookieLen> cookie_;
  bool cookie_valid_ = false;
  Nanos cookie_birthdate_ = 0;
  bool have_sent_mac1_ = false;
  uint8_t last_mac1_sent_[dataplane::wire::kMacLen] = {};
  crypto::Hash cookie_decryption_key_{};
  crypto::Hash mac1_key_{};
};

}  // namespace wirespeed::controlplane::cookie
