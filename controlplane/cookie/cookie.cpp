// mac1/mac2 and cookie replies (controlplane/cookie/cookie.hpp), after the
// kernel's cookie.c. Control plane, handshake worker.
#include "controlplane/cookie/cookie.hpp"

#include <sodium.h>

#include <cstring>

#include "controlplane/crypto/aead.hpp"

namespace wirespeed::controlplane::cookie {
namespace wire = dataplane::wire;
using wire::kCookieLen;
using wire::kMacLen;

namespace {

constexpr size_t kMacsLen = sizeof(wire::MacTrailer);

// HASH(label || public key): the mac1 key and the cookie key of a static key.
crypto::Hash precompute_key(const char (&label)[9], const PublicKey& pub) {
  return crypto::hash({std::span(reinterpret_cast<const uint8_t*>(label), 8), pub});
}

// mac1 = MAC(key, message up to mac1)
void compute_mac1(std::span<uint8_t, kMacLen> out, std::span<const uint8_t> message,
                  const crypto::Hash& key) {
  crypto::mac(out, key, message.first(message.size() - kMacsLen));
}

// mac2 = MAC(cookie, message up to mac2)
void compute_mac2(std::span<uint8_t, kMacLen> out, std::span<const uint8_t> message,
                  std::span<const uint8_t, kCookieLen> cookie) {
  crypto::mac(out, cookie, message.first(message.size() - kMacLen));
}

bool source_valid(const Source& source) { return source.ip.size() == 4 || source.ip.size() == 16; }

}  // namespace

Admission admit(MacVerdict verdict, bool under_load, bool source_allowed) noexcept {
  switch (verdict) {
    case MacVerdict::kInvalidMac:
      return Admission::kDrop;
    case MacVerdict::kValidMacNoCookie:
      return under_load ? Admission::kSendCookieReply : Admission::kProcess;
    case MacVerdict::kValidMacWithCookie:
      if (!under_load) return Admission::kProcess;
      return source_allowed ? Admission::kProcess : Admission::kDrop;
  }
  return Admission::kDrop;
}

CookieChecker::CookieChecker(const PublicKey& local_public) noexcept { set_identity(local_public); }

void CookieChecker::set_identity(const PublicKey& local_public) noexcept {
  mac1_key_ = precompute_key(kLabelMac1, local_public);
  cookie_encryption_key_ = precompute_key(kLabelCookie, local_public);
}

void CookieChecker::make_cookie(std::span<uint8_t, kCookieLen> out, const Source& source,
                                Nanos now) noexcept {
  // Rotate lazily: a secret is made on first use and replaced once it is
  // kCookieRefreshTime old, so cookies handed out expire with it.
  if (!have_secret_ || now - secret_birthdate_ >= wire::kCookieRefreshTime) {
    (void)crypto::init_sodium();
    randombytes_buf(secret_.data(), secret_.size());
    secret_birthdate_ = now;
    have_secret_ = true;
  }
  const uint8_t port[2] = {static_cast<uint8_t>(source.port >> 8), static_cast<uint8_t>(source.port)};
  crypto::blake2s(out, secret_.bytes(), {source.ip, port});
}

MacVerdict CookieChecker::validate(std::span<const uint8_t> message, const Source& source,
                                   bool check_cookie, Nanos now) noexcept {
  if (message.size() < sizeof(wire::MessageHeader) + kMacsLen) return MacVerdict::kInvalidMac;
  const auto macs = message.last(kMacsLen);

  uint8_t computed[kMacLen];
  compute_mac1(computed, message, mac1_key_);
  if (!crypto::equal_ct(computed, macs.first(kMacLen))) return MacVerdict::kInvalidMac;
  if (!check_cookie || !source_valid(source)) return MacVerdict::kValidMacNoCookie;

  uint8_t cookie[kCookieLen];
  make_cookie(cookie, source, now);
  compute_mac2(computed, message, cookie);
  sodium_memzero(cookie, sizeof(cookie));
  if (!crypto::equal_ct(computed, macs.last(kMacLen))) return MacVerdict::kValidMacNoCookie;
  return MacVerdict::kValidMacWithCookie;
}

Result<wire::MessageCookieReply> CookieChecker::create_reply(std::span<const uint8_t> message,
                                                             uint32_t receiver_index,
                                                             const Source& source,
                                                             Nanos now) noexcept {
  if (message.size() < sizeof(wire::MessageHeader) + kMacsLen) {
    return make_error(Errc::kBadLength, "cookie reply: message too short to carry macs");
  }
  if (!source_valid(source)) return make_error(Errc::kInvalidArgument, "cookie reply: source address");

  wire::MessageCookieReply reply{};
  reply.header = wire::make_header(wire::MessageType::kHandshakeCookie);
  reply.receiver_index.set(receiver_index);
  (void)crypto::init_sodium();
  randombytes_buf(reply.nonce, sizeof(reply.nonce));

  uint8_t cookie[kCookieLen];
  make_cookie(cookie, source, now);
  const auto mac1 = message.last(kMacsLen).first(kMacLen);
  auto sealed = crypto::xchacha20poly1305_seal(reply.encrypted_cookie, cookie, mac1,
                                               std::span<const uint8_t, wire::kCookieNonceLen>(reply.nonce),
                                               cookie_encryption_key_);
  sodium_memzero(cookie, sizeof(cookie));
  if (!sealed) return sealed.error();
  return reply;
}

CookieMaker::CookieMaker(const PublicKey& remote_public) noexcept
    : cookie_decryption_key_(precompute_key(kLabelCookie, remote_public)),
      mac1_key_(precompute_key(kLabelMac1, remote_public)) {}

bool CookieMaker::has_valid_cookie(Nanos now) const noexcept {
  return cookie_valid_ &&
         now - cookie_birthdate_ < wire::kCookieRefreshTime - wire::kCookieSecretLatency;
}

Result<void> CookieMaker::add_macs(std::span<uint8_t> message, Nanos now) noexcept {
  if (message.size() < sizeof(wire::MessageHeader) + kMacsLen) {
    return make_error(Errc::kBadLength, "add macs: message too short");
  }
  auto macs = message.last(kMacsLen);
  auto mac1 = macs.first<kMacLen>();
  auto mac2 = macs.last<kMacLen>();

  compute_mac1(mac1, message, mac1_key_);
  std::memcpy(last_mac1_sent_, mac1.data(), kMacLen);
  have_sent_mac1_ = true;

  if (has_valid_cookie(now)) {
    compute_mac2(mac2, message, cookie_.bytes());
  } else {
    std::memset(mac2.data(), 0, kMacLen);
  }
  return ok_result();
}

Result<void> CookieMaker::consume_reply(const wire::MessageCookieReply& reply, Nanos now) noexcept {
  if (!have_sent_mac1_) {
    return make_error(Errc::kBadState, "cookie reply: no message of ours awaits one");
  }
  crypto::Secret<kCookieLen> cookie;
  auto opened = crypto::xchacha20poly1305_open(
      cookie.writable(), reply.encrypted_cookie, last_mac1_sent_,
      std::span<const uint8_t, wire::kCookieNonceLen>(reply.nonce), cookie_decryption_key_);
  if (!opened) return make_error(Errc::kDecryptFailed, "cookie reply: does not authenticate");

  cookie_ = std::move(cookie);
  cookie_birthdate_ = now;
  cookie_valid_ = true;
  have_sent_mac1_ = false;
  return ok_result();
}

}  // namespace wirespeed::controlplane::cookie
