// Device (device.hpp): the handshake messages. Receiving types 1-3 punted by
// the dataplane (kernel receive.c wg_receive_handshake_packet) and sending
// initiations, responses and cookie replies (send.c) as kCmdTransmitUdp, plus
// the keypair installs a completed handshake produces (noise.c
// begin_session). Control-plane main thread.
#include <sodium.h>

#include <cstring>

#include "controlplane/device/commands.hpp"
#include "controlplane/device/device.hpp"

namespace wirespeed::controlplane::device {

namespace shm = dataplane::shm;
namespace wire = dataplane::wire;
using detail::push_command;
using detail::push_transmit;

void Device::on_handshake_datagram(std::span<const uint8_t> datagram, const shm::Endpoint& from,
                                   bool under_load, Nanos now, Outbox& out) {
  deadlines_changed();
  if (!detail::valid_family(from)) {
    count(DeviceDrop::kMalformed);  // a glue bug, but never a crash
    return;
  }
  const wire::MessageType type = wire::classify(datagram);
  if (type == wire::MessageType::kHandshakeCookie) {
    on_cookie_reply(datagram, now);
    return;
  }
  if (type != wire::MessageType::kHandshakeInitiation &&
      type != wire::MessageType::kHandshakeResponse) {
    count(DeviceDrop::kMalformed);
    return;
  }

  // mac1 on everything; mac2 only under load. As in the kernel, only a
  // message that proved its address with a cookie spends the source's
  // token budget; cookie replies are not limited (one per punted message,
  // smaller than what provoked it, bounded by the punt ring).
  const cookie::Source source = detail::source_of(from);
  const cookie::MacVerdict verdict = checker_.validate(datagram, source, under_load, now);
  const bool source_allowed = !(under_load && verdict == cookie::MacVerdict::kValidMacWithCookie) ||
                              limiter_.allow(from.addr, from.family == 4 ? 4 : 16, now);
  switch (cookie::admit(verdict, under_load, source_allowed)) {
    case cookie::Admission::kDrop:
      count(verdict == cookie::MacVerdict::kInvalidMac ? DeviceDrop::kBadMac
                                                       : DeviceDrop::kRateLimited);
      return;
    case cookie::Admission::kSendCookieReply:
      send_cookie_reply(datagram, from, now, out);
      return;
    case cookie::Admission::kProcess:
      break;
  }
  if (type == wire::MessageType::kHandshakeInitiation) {
    on_initiation(datagram, from, now, out);
  } else {
    on_response(datagram, from, now, out);
  }
}

// Under load: "prove your address first". The reply names the message's
// sender index (bytes 4..8 of both initiation and response) and goes back to
// the exact source, which need not be any peer's endpoint.
void Device::send_cookie_reply(std::span<const uint8_t> datagram, const shm::Endpoint& from,
                               Nanos now, Outbox& out) {
  wire::Le32 sender;
  std::memcpy(&sender, datagram.data() + sizeof(wire::MessageHeader), sizeof(sender));
  auto reply = checker_.create_reply(datagram, sender.get(), detail::source_of(from), now);
  if (!reply) {
    count(DeviceDrop::kMalformed);
    return;
  }
  push_transmit(out, shm::kNoPeer, from, wire::as_bytes(*reply), now);
  ++stats_.cookie_replies_sent;
}

void Device::on_cookie_reply(std::span<const uint8_t> datagram, Nanos now) {
  auto reply = wire::parse_cookie_reply(datagram);
  if (!reply) {
    count(DeviceDrop::kMalformed);
    return;
  }
  // Like the kernel, a cookie may answer a handshake in flight or a response
  // whose index now names a keypair: any live index of ours finds the peer,
  // and the reply authenticates only against the mac1 that peer last sent.
  const auto entry = indices_.lookup(reply->receiver_index.get());
  if (!entry || !peer_live(entry->peer)) {
    count(DeviceDrop::kUnknownIndex);
    return;
  }
  if (!peers_[entry->peer]->cookie_maker->consume_reply(*reply, now)) {
    count(DeviceDrop::kBadCookieReply);
    return;
  }
  ++stats_.cookie_replies_received;
}

// Responder (kernel: consume_initiation, then wg_packet_send_handshake_response).
void Device::on_initiation(std::span<const uint8_t> datagram, const shm::Endpoint& from, Nanos now,
                           Outbox& out) {
  auto msg = wire::parse_initiation(datagram);
  if (!msg) {
    count(DeviceDrop::kMalformed);
    return;
  }
  auto opened = noise::Handshake::open_initiation(*msg, identity_);
  if (!opened) {
    count(DeviceDrop::kNotForUs);
    return;
  }
  const auto it = by_public_key_.find(opened->remote_static);
  if (it == by_public_key_.end()) {
    count(DeviceDrop::kUnknownPeer);
    return;
  }
  Peer& peer = *peers_[it->second];
  auto consumed = peer.handshake->consume_initiation(*opened, now);
  if (!consumed) {
    switch (consumed.error().code) {
      case Errc::kReplayed:
        count(DeviceDrop::kReplay);
        break;
      case Errc::kRateLimited:
        count(DeviceDrop::kFlood);
        break;
      default:
        count(DeviceDrop::kBadInitiation);
        break;
    }
    return;
  }
  // The peer's initiation replaced any of ours in flight (simultaneous
  // handshakes: theirs wins here, ours would be retried by the timer).
  release_index(peer.handshake_index);
  peer.handshake_index = 0;

  auto index = indices_.allocate(peer.slot, peers::IndexKind::kKeypair);
  if (!index) {
    peer.handshake->clear();
    count(DeviceDrop::kIndexExhausted);
    return;
  }
  auto response = peer.handshake->create_response(*index);
  if (!response) {
    release_index(*index);
    peer.handshake->clear();
    count(DeviceDrop::kBadInitiation);  // e.g. a low-order ephemeral key
    return;
  }
  (void)peer.cookie_maker->add_macs(wire::as_writable_bytes(*response), now);
  auto keys = peer.handshake->begin_session();
  if (!keys) {
    release_index(*index);
    count(DeviceDrop::kBadInitiation);
    return;
  }

  // Install before the response leaves, so that the keypair is in the
  // dataplane when the initiator's first data message comes back.
  const bool roamed = detail::valid_family(peer.endpoint) && peer.endpoint != from;
  peer.endpoint = from;
  emit_keypair(peer, *keys, now, out);
  push_command(out, shm::MessageKind::kCmdEndpointSet, peer.slot, now, from);
  push_transmit(out, peer.slot, from, wire::as_bytes(*response), now);
  if (roamed) notify(DeviceEventKind::kEndpointChanged, &peer);
  notify(DeviceEventKind::kHandshakeComplete, &peer);  // as responder: usable once confirmed

  peer.timers.on_session_derived(now, /*we_are_initiator=*/false);
  peer.timers.on_authenticated_packet_traversal(now);
  peer.timers.on_authenticated_packet_sent(now);
  peer.timers.on_authenticated_packet_received(now);
  peer.timers.on_authenticated_packet_traversal(now);
  ++stats_.initiations_received;
  ++stats_.responses_sent;
  ++stats_.handshakes_as_responder;
}

// Initiator, message 2 (kernel: consume_response, begin_session, then a
// keepalive that confirms the session to the responder).
void Device::on_response(std::span<const uint8_t> datagram, const shm::Endpoint& from, Nanos now,
                         Outbox& out) {
  auto msg = wire::parse_response(datagram);
  if (!msg) {
    count(DeviceDrop::kMalformed);
    return;
  }
  const uint32_t index = msg->receiver_index.get();
  const auto entry = indices_.lookup(index);
  if (!entry || !peer_live(entry->peer) || peers_[entry->peer]->handshake_index != index ||
      peers_[entry->peer]->handshake->state() != noise::HandshakeState::kCreatedInitiation) {
    count(DeviceDrop::kUnknownIndex);
    return;
  }
  Peer& peer = *peers_[entry->peer];
  if (auto consumed = peer.handshake->consume_response(*msg); !consumed) {
    count(DeviceDrop::kBadResponse);  // the handshake stays in flight for the real one
    return;
  }
  auto keys = peer.handshake->begin_session();
  if (!keys) {
    count(DeviceDrop::kBadResponse);
    return;
  }
  peer.handshake_index = 0;  // the index now names the keypair

  const bool roamed = detail::valid_family(peer.endpoint) && peer.endpoint != from;
  peer.endpoint = from;
  emit_keypair(peer, *keys, now, out);
  push_command(out, shm::MessageKind::kCmdEndpointSet, peer.slot, now, from);
  // The dataplane flushes staged packets with the new key, or sends a
  // keepalive if none are staged.
  push_command(out, shm::MessageKind::kCmdSendKeepalive, peer.slot, now);

  peer.timers.on_session_derived(now, /*we_are_initiator=*/true);
  peer.timers.on_handshake_complete(now);
  peer.timers.on_authenticated_packet_received(now);
  peer.timers.on_authenticated_packet_traversal(now);
  peer.last_handshake = now;
  peer.last_handshake_wall = wall_now_ns();
  ++stats_.responses_received;
  ++stats_.handshakes_as_initiator;
  if (roamed) notify(DeviceEventKind::kEndpointChanged, &peer);
  DeviceEvent complete;
  complete.kind = DeviceEventKind::kHandshakeComplete;
  complete.peer = peer.slot;
  complete.as_initiator = true;
  complete.endpoint = peer.endpoint;
  notify(complete);
  mark_up(peer);
}

// Initiator, message 1 (kernel wg_packet_send_handshake_initiation). Callers
// have passed the rate limit, or override it (force_rekey).
void Device::send_initiation(Peer& peer, Nanos now, Outbox& out, const char* why) {
  if (!detail::valid_family(peer.endpoint)) {
    // The kernel sends into the void here and still runs the timers, so
    // that retries and the final give-up (which drops the staged packets)
    // keep their schedule; so do we, without building a message.
    ++stats_.initiations_without_endpoint;
    peer.timers.on_authenticated_packet_traversal(now);
    peer.timers.on_authenticated_packet_sent(now);
    peer.timers.on_handshake_initiated(now);
    return;
  }
  // A new initiation supersedes the one in flight: its index dies with it.
  release_index(peer.handshake_index);
  peer.handshake_index = 0;
  auto index = indices_.allocate(peer.slot, peers::IndexKind::kHandshake);
  if (!index) {
    count(DeviceDrop::kIndexExhausted);
    return;
  }
  const uint64_t wall = wall_now_ns();
  const auto timestamp = noise::tai64n_from_unix(
      wall / wire::kNanosPerSecond, static_cast<uint32_t>(wall % wire::kNanosPerSecond));
  auto initiation = peer.handshake->create_initiation(*index, timestamp);
  if (!initiation) {
    release_index(*index);
    count(DeviceDrop::kInitiationFailed);
    return;
  }
  peer.handshake_index = *index;
  (void)peer.cookie_maker->add_macs(wire::as_writable_bytes(*initiation), now);
  push_transmit(out, peer.slot, shm::Endpoint{}, wire::as_bytes(*initiation), now);

  peer.timers.on_authenticated_packet_traversal(now);
  peer.timers.on_authenticated_packet_sent(now);
  peer.timers.on_handshake_initiated(now);
  ++stats_.initiations_sent;
  DeviceEvent sent;
  sent.kind = DeviceEventKind::kHandshakeInitiated;
  sent.peer = peer.slot;
  sent.endpoint = peer.endpoint;
  sent.detail = why;
  if (std::strcmp(why, "retry") == 0) sent.attempt = peer.timers.handshake_attempts();
  notify(sent);
}

// Hands the session keys to the dataplane and mirrors the role change. The
// keys exist in this process only inside `keys` (wiped by its destructor),
// the local body below (wiped here) and the Outbox (wipe_outbox).
void Device::emit_keypair(Peer& peer, const noise::SessionKeys& keys, Nanos now, Outbox& out) {
  shm::CmdKeypairInstall body{};
  body.local_index = keys.local_index;
  body.remote_index = keys.remote_index;
  body.birth_ns = now;
  body.we_initiated = keys.we_initiated ? 1 : 0;
  std::memcpy(body.send_key, keys.send.data(), sizeof(body.send_key));
  std::memcpy(body.receive_key, keys.receive.data(), sizeof(body.receive_key));
  push_command(out, shm::MessageKind::kCmdKeypairInstall, peer.slot, now, body);
  sodium_memzero(&body, sizeof(body));
  add_keypair(peer, KeypairRecord{keys.local_index, keys.remote_index, now, keys.we_initiated});
}

}  // namespace wirespeed::controlplane::device
