// Parsing of WireGuard messages 1–4 (dataplane/wire/messages.hpp).
// Runs in both processes; pure functions, no allocation.
#include "dataplane/wire/messages.hpp"

namespace wirespeed::dataplane::wire {
namespace {

constexpr size_t kHeaderLen = sizeof(MessageHeader);

// The type of a header word whose three reserved bytes are zero.
MessageType header_type(std::span<const uint8_t> datagram) noexcept {
  if (datagram.size() < kHeaderLen) return MessageType::kInvalid;
  if (datagram[1] != 0 || datagram[2] != 0 || datagram[3] != 0) return MessageType::kInvalid;
  switch (datagram[0]) {
    case 1: return MessageType::kHandshakeInitiation;
    case 2: return MessageType::kHandshakeResponse;
    case 3: return MessageType::kHandshakeCookie;
    case 4: return MessageType::kData;
    default: return MessageType::kInvalid;
  }
}

template <typename Msg>
Result<Msg> parse_exact(std::span<const uint8_t> datagram, MessageType type,
                        const char* context) noexcept {
  if (datagram.size() != sizeof(Msg)) return make_error(Errc::kBadLength, context);
  if (header_type(datagram) != type) return make_error(Errc::kBadType, context);
  Msg msg;
  std::memcpy(&msg, datagram.data(), sizeof(Msg));
  return msg;
}

}  // namespace

MessageType classify(std::span<const uint8_t> datagram) noexcept {
  const MessageType type = header_type(datagram);
  switch (type) {
    case MessageType::kHandshakeInitiation:
      return datagram.size() == kInitiationSize ? type : MessageType::kInvalid;
    case MessageType::kHandshakeResponse:
      return datagram.size() == kResponseSize ? type : MessageType::kInvalid;
    case MessageType::kHandshakeCookie:
      return datagram.size() == kCookieReplySize ? type : MessageType::kInvalid;
    case MessageType::kData:
      return datagram.size() >= kKeepaliveSize ? type : MessageType::kInvalid;
    case MessageType::kInvalid:
      break;
  }
  return MessageType::kInvalid;
}

Result<MessageInitiation> parse_initiation(std::span<const uint8_t> datagram) noexcept {
  return parse_exact<MessageInitiation>(datagram, MessageType::kHandshakeInitiation,
                                        "parse handshake initiation");
}

Result<MessageResponse> parse_response(std::span<const uint8_t> datagram) noexcept {
  return parse_exact<MessageResponse>(datagram, MessageType::kHandshakeResponse,
                                      "parse handshake response");
}

Result<MessageCookieReply> parse_cookie_reply(std::span<const uint8_t> datagram) noexcept {
  return parse_exact<MessageCookieReply>(datagram, MessageType::kHandshakeCookie,
                                         "parse cookie reply");
}

Result<MessageDataHeader> parse_data_header(std::span<const uint8_t> datagram) noexcept {
  if (datagram.size() < kKeepaliveSize) return make_error(Errc::kBadLength, "parse data message");
  if (header_type(datagram) != MessageType::kData) return make_error(Errc::kBadType, "parse data message");
  MessageDataHeader hdr;
  std::memcpy(&hdr, datagram.data(), sizeof(hdr));
  return hdr;
}

MessageHeader make_header(MessageType type) noexcept {
  MessageHeader hdr;
  hdr.type.set(static_cast<uint32_t>(type));
  return hdr;
}

}  // namespace wirespeed::dataplane::wire
