// Tests for the WireGuard wire formats (dataplane/wire/messages.hpp).
//
// Sizes and MAC offsets are the whitepaper's (§5.4) and the kernel's
// messages.h; classify() is checked on exact and off-by-one lengths, reserved
// bytes and unknown types; parse_*() round-trips byte-exactly through
// as_bytes().
#include "dataplane/wire/messages.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>

namespace wirespeed::dataplane::wire {
namespace {

// Wire images must be plain bytes: memcpy in and out is the whole contract.
static_assert(std::is_trivially_copyable_v<MessageInitiation>);
static_assert(std::is_trivially_copyable_v<MessageResponse>);
static_assert(std::is_trivially_copyable_v<MessageCookieReply>);
static_assert(std::is_trivially_copyable_v<MessageDataHeader>);
static_assert(std::is_standard_layout_v<MessageInitiation>);
static_assert(std::is_standard_layout_v<MessageResponse>);

TEST(Messages, Sizes) {
  EXPECT_EQ(sizeof(MessageInitiation), 148u);
  EXPECT_EQ(sizeof(MessageResponse), 92u);
  EXPECT_EQ(sizeof(MessageCookieReply), 64u);
  EXPECT_EQ(sizeof(MessageDataHeader), 16u);
  EXPECT_EQ(kKeepaliveSize, 32u);
  EXPECT_EQ(kInitiationSize, 148u);
  EXPECT_EQ(kResponseSize, 92u);
  EXPECT_EQ(kCookieReplySize, 64u);
  EXPECT_EQ(kDataHeaderSize, 16u);
}

TEST(Messages, FieldOffsets) {
  // Whitepaper §5.4.2 / §5.4.3 / §5.4.7 / §5.4.6 layouts.
  EXPECT_EQ(offsetof(MessageInitiation, sender_index), 4u);
  EXPECT_EQ(offsetof(MessageInitiation, unencrypted_ephemeral), 8u);
  EXPECT_EQ(offsetof(MessageInitiation, encrypted_static), 40u);
  EXPECT_EQ(offsetof(MessageInitiation, encrypted_timestamp), 88u);
  EXPECT_EQ(offsetof(MessageResponse, sender_index), 4u);
  EXPECT_EQ(offsetof(MessageResponse, receiver_index), 8u);
  EXPECT_EQ(offsetof(MessageResponse, unencrypted_ephemeral), 12u);
  EXPECT_EQ(offsetof(MessageResponse, encrypted_nothing), 44u);
  EXPECT_EQ(offsetof(MessageCookieReply, receiver_index), 4u);
  EXPECT_EQ(offsetof(MessageCookieReply, nonce), 8u);
  EXPECT_EQ(offsetof(MessageCookieReply, encrypted_cookie), 32u);
  EXPECT_EQ(offsetof(MessageDataHeader, receiver_index), 4u);
  EXPECT_EQ(offsetof(MessageDataHeader, counter), 8u);
}

TEST(Messages, MacOffsets) {
  EXPECT_EQ(kMac1Offset<MessageInitiation>, 116u);
  EXPECT_EQ(kMac2Offset<MessageInitiation>, 132u);
  EXPECT_EQ(kMac1Offset<MessageResponse>, 60u);
  EXPECT_EQ(kMac2Offset<MessageResponse>, 76u);
  // mac2 is the last field: the trailer ends the message.
  EXPECT_EQ(kMac2Offset<MessageInitiation> + kMacLen, kInitiationSize);
  EXPECT_EQ(kMac2Offset<MessageResponse> + kMacLen, kResponseSize);
}

TEST(Messages, LittleEndianFields) {
  Le32 v32{};
  v32.set(0x04030201u);
  EXPECT_EQ(v32.bytes[0], 0x01);
  EXPECT_EQ(v32.bytes[1], 0x02);
  EXPECT_EQ(v32.bytes[2], 0x03);
  EXPECT_EQ(v32.bytes[3], 0x04);
  EXPECT_EQ(v32.get(), 0x04030201u);

  Le64 v64{};
  v64.set(0x0807060504030201ULL);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(v64.bytes[i], i + 1) << i;
  EXPECT_EQ(v64.get(), 0x0807060504030201ULL);

  v64.set(~0ULL);
  EXPECT_EQ(v64.get(), ~0ULL);
  v64.set(0x8000000000000000ULL);  // top bit survives the shift
  EXPECT_EQ(v64.bytes[7], 0x80);
  EXPECT_EQ(v64.get(), 0x8000000000000000ULL);

  // The counter in a data header is the 8 bytes at offset 8, little-endian.
  MessageDataHeader hdr{};
  hdr.header = make_header(MessageType::kData);
  hdr.receiver_index.set(0xa1b2c3d4u);
  hdr.counter.set(0x1122334455667788ULL);
  const auto bytes = as_bytes(hdr);
  const std::array<uint8_t, 16> expected = {4,    0,    0,    0,    0xd4, 0xc3, 0xb2, 0xa1,
                                            0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
  EXPECT_EQ(std::memcmp(bytes.data(), expected.data(), expected.size()), 0);
}

TEST(Messages, MakeHeader) {
  for (auto type : {MessageType::kHandshakeInitiation, MessageType::kHandshakeResponse,
                    MessageType::kHandshakeCookie, MessageType::kData}) {
    const MessageHeader hdr = make_header(type);
    EXPECT_EQ(hdr.type.bytes[0], static_cast<uint8_t>(type));
    EXPECT_EQ(hdr.type.bytes[1], 0);
    EXPECT_EQ(hdr.type.bytes[2], 0);
    EXPECT_EQ(hdr.type.bytes[3], 0);
    EXPECT_EQ(hdr.type.get(), static_cast<uint32_t>(type));
  }
}

// The error code of a result, or kOk: safe to compare even when the call
// unexpectedly succeeded.
template <typename T>
Errc code_of(const Result<T>& r) {
  return r.ok() ? Errc::kOk : r.error().code;
}

// A datagram of `size` bytes with a valid header for `type` and a
// recognisable fill after it.
std::vector<uint8_t> datagram(uint8_t type, size_t size) {
  std::vector<uint8_t> d(size);
  for (size_t i = 0; i < size; ++i) d[i] = static_cast<uint8_t>(0xa5 ^ i);
  if (size > 0) d[0] = type;
  for (size_t i = 1; i < 4 && i < size; ++i) d[i] = 0;
  return d;
}

struct SizeCase {
  int number;
  uint8_t type;
  size_t size;
  MessageType expected;
};

// clang-format off
const std::vector<SizeCase> kSizeCases = {
  {  1, 1, 148,  MessageType::kHandshakeInitiation },
  {  2, 1, 147,  MessageType::kInvalid },
  {  3, 1, 149,  MessageType::kInvalid },
  {  4, 2, 92,   MessageType::kHandshakeResponse },
  {  5, 2, 91,   MessageType::kInvalid },
  {  6, 2, 93,   MessageType::kInvalid },
  {  7, 3, 64,   MessageType::kHandshakeCookie },
  {  8, 3, 63,   MessageType::kInvalid },
  {  9, 3, 65,   MessageType::kInvalid },
  { 10, 4, 32,   MessageType::kData },     // keepalive: header + tag
  { 11, 4, 31,   MessageType::kInvalid },
  { 12, 4, 33,   MessageType::kData },     // data may be any length >= 32
  { 13, 4, 48,   MessageType::kData },
  { 14, 4, 1500, MessageType::kData },
  { 15, 4, 16,   MessageType::kInvalid },  // a bare header, no tag
  // One type at another type's size.
  { 16, 1, 92,   MessageType::kInvalid },
  { 17, 2, 148,  MessageType::kInvalid },
  { 18, 3, 32,   MessageType::kInvalid },
  { 19, 1, 32,   MessageType::kInvalid },
  // Unknown types at every known size.
  { 20, 0, 148,  MessageType::kInvalid },
  { 21, 0, 32,   MessageType::kInvalid },
  { 22, 5, 148,  MessageType::kInvalid },
  { 23, 5, 92,   MessageType::kInvalid },
  { 24, 5, 64,   MessageType::kInvalid },
  { 25, 5, 32,   MessageType::kInvalid },
  { 26, 255, 148, MessageType::kInvalid },
  { 27, 0x41, 148, MessageType::kInvalid },
  // Too short to hold the header word, even for a valid type byte.
  { 28, 4, 0,    MessageType::kInvalid },
  { 29, 4, 1,    MessageType::kInvalid },
  { 30, 4, 2,    MessageType::kInvalid },
  { 31, 4, 3,    MessageType::kInvalid },
  { 32, 1, 3,    MessageType::kInvalid },
  { 33, 4, 4,    MessageType::kInvalid },
};
// clang-format on

TEST(Classify, SizeTable) {
  for (const SizeCase& c : kSizeCases) {
    const auto d = datagram(c.type, c.size);
    EXPECT_EQ(classify(d), c.expected) << "case " << c.number;
  }
}

TEST(Classify, EmptySpan) {
  EXPECT_EQ(classify(std::span<const uint8_t>()), MessageType::kInvalid);
}

TEST(Classify, NonZeroReservedBytes) {
  const std::array<std::pair<uint8_t, size_t>, 4> valid = {
      {{1, kInitiationSize}, {2, kResponseSize}, {3, kCookieReplySize}, {4, kKeepaliveSize}}};
  for (const auto& [type, size] : valid) {
    for (size_t pos = 1; pos < 4; ++pos) {
      for (uint8_t value : {uint8_t{1}, uint8_t{0x80}, uint8_t{0xff}}) {
        auto d = datagram(type, size);
        ASSERT_NE(classify(d), MessageType::kInvalid);
        d[pos] = value;
        EXPECT_EQ(classify(d), MessageType::kInvalid)
            << "type " << int(type) << " reserved byte " << pos << " = " << int(value);
      }
    }
  }
}

// Fill every byte of a message with distinct values, then set the header.
template <typename Msg>
Msg patterned(MessageType type, uint8_t seed) {
  Msg msg;
  auto bytes = as_writable_bytes(msg);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(seed + 7 * i);
  msg.header = make_header(type);
  return msg;
}

template <typename Msg>
void expect_same_bytes(const Msg& a, std::span<const uint8_t> b) {
  ASSERT_EQ(sizeof(Msg), b.size());
  EXPECT_EQ(std::memcmp(as_bytes(a).data(), b.data(), b.size()), 0);
}

TEST(Parse, InitiationRoundTrip) {
  const auto msg = patterned<MessageInitiation>(MessageType::kHandshakeInitiation, 3);
  const auto wire = as_bytes(msg);
  auto parsed = parse_initiation(wire);
  ASSERT_TRUE(parsed.ok());
  expect_same_bytes(*parsed, wire);
  EXPECT_EQ(parsed->sender_index.get(), msg.sender_index.get());
  EXPECT_EQ(std::memcmp(parsed->macs.mac1, wire.data() + kMac1Offset<MessageInitiation>, kMacLen),
            0);
  EXPECT_EQ(std::memcmp(parsed->macs.mac2, wire.data() + kMac2Offset<MessageInitiation>, kMacLen),
            0);
}

TEST(Parse, ResponseRoundTrip) {
  const auto msg = patterned<MessageResponse>(MessageType::kHandshakeResponse, 9);
  const auto wire = as_bytes(msg);
  auto parsed = parse_response(wire);
  ASSERT_TRUE(parsed.ok());
  expect_same_bytes(*parsed, wire);
  EXPECT_EQ(parsed->receiver_index.get(), msg.receiver_index.get());
  EXPECT_EQ(std::memcmp(parsed->macs.mac1, wire.data() + kMac1Offset<MessageResponse>, kMacLen), 0);
  EXPECT_EQ(std::memcmp(parsed->macs.mac2, wire.data() + kMac2Offset<MessageResponse>, kMacLen), 0);
}

TEST(Parse, CookieReplyRoundTrip) {
  const auto msg = patterned<MessageCookieReply>(MessageType::kHandshakeCookie, 200);
  const auto wire = as_bytes(msg);
  auto parsed = parse_cookie_reply(wire);
  ASSERT_TRUE(parsed.ok());
  expect_same_bytes(*parsed, wire);
}

TEST(Parse, DataHeaderFromLongerDatagram) {
  auto msg = patterned<MessageDataHeader>(MessageType::kData, 1);
  msg.counter.set(0x0102030405060708ULL);
  std::vector<uint8_t> d(kDataHeaderSize + 64 + kTagLen, 0xee);
  std::memcpy(d.data(), &msg, sizeof(msg));
  auto parsed = parse_data_header(d);
  ASSERT_TRUE(parsed.ok());
  expect_same_bytes(*parsed, std::span<const uint8_t>(d.data(), kDataHeaderSize));
  EXPECT_EQ(parsed->counter.get(), 0x0102030405060708ULL);
}

TEST(Parse, KeepaliveIsTheShortestDataMessage) {
  auto d = datagram(4, kKeepaliveSize);
  EXPECT_TRUE(parse_data_header(d).ok());
  d.pop_back();
  auto short_one = parse_data_header(d);
  ASSERT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.error().code, Errc::kBadLength);
}

TEST(Parse, WrongLengthIsBadLength) {
  EXPECT_EQ(code_of(parse_initiation(datagram(1, kInitiationSize - 1))), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_initiation(datagram(1, kInitiationSize + 1))), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_response(datagram(2, kResponseSize - 1))), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_response(datagram(2, kResponseSize + 1))), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_cookie_reply(datagram(3, kCookieReplySize - 1))), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_cookie_reply(datagram(3, kCookieReplySize + 1))), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_initiation(std::span<const uint8_t>())), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_data_header(std::span<const uint8_t>())), Errc::kBadLength);
  EXPECT_EQ(code_of(parse_data_header(datagram(4, 3))), Errc::kBadLength);
}

TEST(Parse, WrongTypeOrReservedIsBadType) {
  // Right length, wrong type byte.
  EXPECT_EQ(code_of(parse_initiation(datagram(2, kInitiationSize))), Errc::kBadType);
  EXPECT_EQ(code_of(parse_response(datagram(1, kResponseSize))), Errc::kBadType);
  EXPECT_EQ(code_of(parse_cookie_reply(datagram(4, kCookieReplySize))), Errc::kBadType);
  EXPECT_EQ(code_of(parse_data_header(datagram(1, kKeepaliveSize))), Errc::kBadType);
  EXPECT_EQ(code_of(parse_initiation(datagram(0, kInitiationSize))), Errc::kBadType);
  // Right type byte, a reserved byte set.
  for (size_t pos = 1; pos < 4; ++pos) {
    auto a = datagram(1, kInitiationSize);
    auto b = datagram(2, kResponseSize);
    auto c = datagram(3, kCookieReplySize);
    auto d = datagram(4, kKeepaliveSize);
    a[pos] = b[pos] = c[pos] = d[pos] = 1;
    EXPECT_EQ(code_of(parse_initiation(a)), Errc::kBadType) << pos;
    EXPECT_EQ(code_of(parse_response(b)), Errc::kBadType) << pos;
    EXPECT_EQ(code_of(parse_cookie_reply(c)), Errc::kBadType) << pos;
    EXPECT_EQ(code_of(parse_data_header(d)), Errc::kBadType) << pos;
  }
}

TEST(Parse, ResultIsACopy) {
  auto d = datagram(1, kInitiationSize);
  auto parsed = parse_initiation(d);
  ASSERT_TRUE(parsed.ok());
  const std::vector<uint8_t> before(d);
  std::fill(d.begin(), d.end(), 0);  // the caller reuses its buffer
  expect_same_bytes(*parsed, before);
}

}  // namespace
}  // namespace wirespeed::dataplane::wire
