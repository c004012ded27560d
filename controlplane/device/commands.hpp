// Building command-ring messages (dataplane/shm/abi.hpp) for the Device:
// the one place that knows how a command's header and body are laid out.
// Internal to controlplane/device; control-plane main thread.
#pragma once

#include <cstring>
#include <span>
#include <type_traits>

#include "config/config.hpp"
#include "controlplane/cookie/cookie.hpp"
#include "controlplane/device/device.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::controlplane::device::detail {

namespace shm = dataplane::shm;

// A zeroed message of `kind` for `peer`, appended to `out`. The reference is
// valid until the next append.
inline shm::RingMessage& push_command(Outbox& out, shm::MessageKind kind, uint32_t peer,
                                      Nanos now) {
  // Value-initialised: zero-filled (no stale bytes reach the dataplane).
  shm::RingMessage& m = out.emplace_back();
  m.kind = kind;
  m.peer = peer;
  m.port = static_cast<uint8_t>(shm::PortRole::kOuter);
  m.timestamp_ns = now;
  return m;
}

template <typename Body>
inline void set_body(shm::RingMessage& m, const Body& body) {
  static_assert(std::is_trivially_copyable_v<Body> && sizeof(Body) <= shm::kRingBodyMax);
  std::memcpy(m.body, &body, sizeof(Body));
  m.length = static_cast<uint16_t>(sizeof(Body));
}

template <typename Body>
inline void push_command(Outbox& out, shm::MessageKind kind, uint32_t peer, Nanos now,
                         const Body& body) {
  set_body(push_command(out, kind, peer, now), body);
}

// kCmdTransmitUdp of a handshake message; `destination` family 0 = the peer's
// current endpoint (the dataplane's, which roaming may have moved).
inline void push_transmit(Outbox& out, uint32_t peer, const shm::Endpoint& destination,
                          std::span<const uint8_t> payload, Nanos now) {
  shm::CmdTransmitUdp body{};
  static_assert(sizeof(body.payload) >= dataplane::wire::kInitiationSize);
  body.destination = destination;
  body.payload_len = static_cast<uint16_t>(payload.size());
  std::memcpy(body.payload, payload.data(), payload.size());
  push_command(out, shm::MessageKind::kCmdTransmitUdp, peer, now, body);
}

inline bool valid_family(const shm::Endpoint& e) {
  return e.family == 4 || e.family == 6;
}

inline shm::Endpoint to_endpoint(const config::Endpoint& e) {
  shm::Endpoint out;
  out.family = e.address.family;
  out.port = e.port;
  std::memcpy(out.addr, e.address.bytes.data(), sizeof(out.addr));
  return out;
}

// The address the cookie binds to (4 or 16 bytes, network order).
inline cookie::Source source_of(const shm::Endpoint& e) {
  return cookie::Source{std::span<const uint8_t>(e.addr, e.family == 4 ? 4 : 16), e.port};
}

}  // namespace wirespeed::controlplane::device::detail
