// WireGuard message formats 1–4 (whitepaper §5.4, kernel messages.h).
//
// Each struct is the exact wire image: byte arrays and byte-order-typed
// fields only, so alignment is 1, sizeof is the wire size (static_assert), and
// a struct may be memcpy'd to or from a packet. Multi-byte integers on the
// wire are little-endian.
//
// Parsing copies out of the caller's buffer after checking its length and the
// type/reserved bytes; it never reads past the span it is given. Used by the
// control plane (handshake messages) and the dataplane (data header).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "dataplane/base/result.hpp"

namespace wirespeed::dataplane::wire {

// A little-endian integer stored as bytes: no alignment, no implicit reads.
template <typename T>
struct Le {
  uint8_t bytes[sizeof(T)];

  constexpr T get() const noexcept {
    T v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(bytes[i]) << (8 * i);
    return v;
  }
  constexpr void set(T v) noexcept {
    for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<uint8_t>(v >> (8 * i));
  }
};
using Le32 = Le<uint32_t>;
using Le64 = Le<uint64_t>;

enum class MessageType : uint8_t {
  kInvalid = 0,
  kHandshakeInitiation = 1,
  kHandshakeResponse = 2,
  kHandshakeCookie = 3,
  kData = 4,
};

inline constexpr size_t kKeyLen = 32;       // X25519 keys, symmetric keys, hashes
inline constexpr size_t kTagLen = 16;       // Poly1305
inline constexpr size_t kMacLen = 16;       // keyed BLAKE2s-128
inline constexpr size_t kTimestampLen = 12; // TAI64N
inline constexpr size_t kCookieLen = 16;
inline constexpr size_t kCookieNonceLen = 24;

// Header word: type byte then three reserved zero bytes.
struct MessageHeader {
  Le32 type;
};

struct MacTrailer {
  uint8_t mac1[kMacLen];
  uint8_t mac2[kMacLen];
};

struct MessageInitiation {
  MessageHeader header;
  Le32 sender_index;
  uint8_t unencrypted_ephemeral[kKeyLen];
  uint8_t encrypted_static[kKeyLen + kTagLen];
  uint8_t encrypted_timestamp[kTimestampLen + kTagLen];
  MacTrailer macs;
};

struct MessageResponse {
  MessageHeader header;
  Le32 sender_index;
  Le32 receiver_index;
  uint8_t unencrypted_ephemeral[kKeyLen];
  uint8_t encrypted_nothing[kTagLen];
  MacTrailer macs;
};

struct MessageCookieReply {
  MessageHeader header;
  Le32 receiver_index;
  uint8_t nonce[kCookieNonceLen];
  uint8_t encrypted_cookie[kCookieLen + kTagLen];
};

// Data message header; the ciphertext (padded payload + tag) follows it.
struct MessageDataHeader {
  MessageHeader header;
  Le32 receiver_index;
  Le64 counter;
};

inline constexpr size_t kInitiationSize = 148;
inline constexpr size_t kResponseSize = 92;
inline constexpr size_t kCookieReplySize = 64;
inline constexpr size_t kDataHeaderSize = 16;
inline constexpr size_t kKeepaliveSize = kDataHeaderSize + kTagLen;  // 32: empty payload + tag

static_assert(sizeof(MessageInitiation) == kInitiationSize && alignof(MessageInitiation) == 1);
static_assert(sizeof(MessageResponse) == kResponseSize && alignof(MessageResponse) == 1);
static_assert(sizeof(MessageCookieReply) == kCookieReplySize && alignof(MessageCookieReply) == 1);
static_assert(sizeof(MessageDataHeader) == kDataHeaderSize && alignof(MessageDataHeader) == 1);

// Offsets the MACs cover: mac1 over everything before it, mac2 over
// everything before mac2 (whitepaper §5.4.4).
template <typename Msg>
inline constexpr size_t kMac1Offset = offsetof(Msg, macs) + offsetof(MacTrailer, mac1);
template <typename Msg>
inline constexpr size_t kMac2Offset = offsetof(Msg, macs) + offsetof(MacTrailer, mac2);

// The message type of a datagram, or kInvalid when the first four bytes are
// not a known type with zero reserved bytes, or the length does not fit the
// type (exact for 1–3, at least kKeepaliveSize for 4). Reads at most 4 bytes
// and only when the span holds them.
MessageType classify(std::span<const uint8_t> datagram) noexcept;

// Parse a complete message of the given type: exact length, type and reserved
// bytes checked. The result is a copy; the input is not retained.
Result<MessageInitiation> parse_initiation(std::span<const uint8_t> datagram) noexcept;
Result<MessageResponse> parse_response(std::span<const uint8_t> datagram) noexcept;
Result<MessageCookieReply> parse_cookie_reply(std::span<const uint8_t> datagram) noexcept;
// Data: header copied out; the ciphertext is the rest of the datagram (length >= kTagLen).
Result<MessageDataHeader> parse_data_header(std::span<const uint8_t> datagram) noexcept;

// A header word for `type` (reserved bytes zero).
MessageHeader make_header(MessageType type) noexcept;

// The wire bytes of a message struct (its object representation).
template <typename Msg>
inline std::span<const uint8_t, sizeof(Msg)> as_bytes(const Msg& msg) noexcept {
  return std::span<const uint8_t, sizeof(Msg)>(reinterpret_cast<const uint8_t*>(&msg), sizeof(Msg));
}
template <typename Msg>
inline std::span<uint8_t, sizeof(Msg)> as_writable_bytes(Msg& msg) noexcept {
  return std::span<uint8_t, sizeof(Msg)>(reinterpret_cast<uint8_t*>(&msg), sizeof(Msg));
}

}  // namespace wirespeed::dataplane::wire
