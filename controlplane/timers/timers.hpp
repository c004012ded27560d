// Per-peer WireGuard timers (kernel drivers/net/wireguard/timers.c) and the
// key-freshness checks of send.c / receive.c (keep_key_fresh), as pure logic.
//
// Runs in the control-plane process, on its timer thread. Nothing here reads a
// clock, sleeps, allocates or sends: the caller passes the monotonic time into
// every call, performs the returned Actions, and sleeps until next_deadline().
// One PeerTimers per peer, touched by one thread only (no locks: the data path
// reports its events to the control plane, which calls these hooks).
//
// The timers (a deadline each; "idle" = not pending):
//
// - retransmit_handshake: (re)armed by on_handshake_initiated at
//   now + kRekeyTimeout + jitter. Disarmed by on_handshake_complete,
//   on_keypair_first_used and stop. Fires: while attempts < kMaxTimerHandshakes,
//   ++attempts and kSendInitiation (a retry); after that kGiveUp, which also
//   disarms send_keepalive and arms zero_key_material if idle.
// - send_keepalive: armed by on_data_received (payload) at
//   now + kKeepaliveTimeout if idle, else need_another_keepalive is set.
//   Disarmed by on_authenticated_packet_sent, give-up and stop. Fires
//   kSendKeepalive and, if need_another_keepalive, re-arms once more.
// - new_handshake: armed by on_data_sent (payload) at
//   now + kKeepaliveTimeout + kRekeyTimeout + jitter if idle. Disarmed by
//   on_authenticated_packet_received and stop. Fires kSendInitiation (not a
//   retry: attempts restart at 0) — we sent data and heard nothing back.
// - zero_key_material: (re)armed by on_session_derived at now + kKeyWipeTime;
//   armed by give-up if idle. Disarmed by stop. Fires kWipeKeys: the caller
//   wipes every keypair and the handshake state; the keypair ages kept here
//   are forgotten too.
// - persistent_keepalive: (re)armed by on_authenticated_packet_traversal at
//   now + interval when the interval is not 0; set_persistent_keepalive arms
//   or disarms it. Disarmed by stop. Fires kSendKeepalive. It does not re-arm
//   itself: the keepalive's own traversal does, as in the kernel.
// - keypair_expiry: not a kernel timer (the kernel checks the age of the key
//   per packet); here it is the earliest birth + kRejectAfterTime among the
//   live keypairs (previous, current, next), so the control plane can tell
//   the data path when to stop using a key. Fires kExpireKeypairs: the caller
//   retires every keypair aged >= kRejectAfterTime; they are forgotten here.
//
// Not timers, checked on events (keep_key_fresh):
// - on_data_sent: kSendInitiation if the current keypair has sent more than
//   kRekeyAfterMessages, or we initiated it and it is >= kRekeyAfterTime old.
// - on_data_received: kSendInitiation, once per handshake, if we initiated the
//   current keypair and it is >= kRejectAfterTime - kKeepaliveTimeout -
//   kRekeyTimeout (165 s) old: the "last-minute" handshake, so that a peer
//   that only receives rekeys before its key dies.
//
// Every kSendInitiation, from a timer or an event, has already passed
// should_send_initiation (rate limit: one handshake message per kRekeyTimeout).
//
// Call order, as in the kernel (so that a freshly sent packet disarms what it
// should): for each packet the caller calls, in order,
//   initiation sent:      traversal, authenticated_packet_sent, handshake_initiated
//   response sent:        session_derived(now, false), traversal, authenticated_packet_sent
//   response received:    session_derived(now, true), handshake_complete,
//                         authenticated_packet_received, traversal (then send a keepalive)
//   initiation received:  authenticated_packet_received, traversal (after the response is sent)
//   data sent:            traversal, authenticated_packet_sent, data_sent
//   data received:        keypair_first_used (if it was the "next" keypair),
//                         authenticated_packet_received, traversal, data_received
#pragma once

#include <cstdint>

#include "dataplane/wire/constants.hpp"

namespace wirespeed::controlplane::timers {

using dataplane::wire::Nanos;

// "Not pending" for a deadline; what next_deadline() returns when idle.
inline constexpr Nanos kNever = UINT64_MAX;

// Source of the per-arm jitter added to kRekeyTimeout, in [0, kRekeyTimeoutJitterMax]
// (larger values are clamped). The kernel draws it at random so that peers
// which lost contact together do not retry in lockstep; tests inject a
// constant. A null `draw` means no jitter.
struct JitterSource {
  uint64_t (*draw)(void* ctx) = nullptr;
  void* ctx = nullptr;
};

enum class Action : uint8_t {
  kSendInitiation = 1U << 0,  // send an initiation, then call on_handshake_initiated
  kSendKeepalive = 1U << 1,   // send an empty data message (staged packets count as one)
  kExpireKeypairs = 1U << 2,  // retire every keypair aged >= kRejectAfterTime
  kWipeKeys = 1U << 3,        // wipe all keypairs and the handshake (zero key material)
  kGiveUp = 1U << 4,          // handshake attempts exhausted: drop staged packets
};

// A set of Actions; what every hook and poll() return.
class Actions {
 public:
  constexpr Actions() = default;
  // Implicit on purpose: a hook returns a single Action as an Actions.
  constexpr Actions(Action action) : bits_(static_cast<uint8_t>(action)) {}  // NOLINT

  constexpr bool has(Action action) const { return (bits_ & static_cast<uint8_t>(action)) != 0; }
  constexpr bool none() const { return bits_ == 0; }
  constexpr uint8_t bits() const { return bits_; }

  constexpr Actions& operator|=(Actions other) {
    bits_ |= other.bits_;
    return *this;
  }
  friend constexpr Actions operator|(Actions a, Actions b) { return a |= b; }
  friend constexpr bool operator==(Actions a, Actions b) { return a.bits_ == b.bits_; }

 private:
  uint8_t bits_ = 0;
};

constexpr Actions operator|(Action a, Action b) { return Actions(a) | Actions(b); }

class PeerTimers {
 public:
  explicit PeerTimers(JitterSource jitter) noexcept : jitter_(jitter) {}

  // --- Events (kernel wg_timers_* hooks and keep_key_fresh) ----------------

  // After a batch of data messages went out with the current keypair.
  // `send_counter` is the number of messages sent with it so far (the next
  // nonce). `only_keepalives`: the batch carried no payload, so no reply is
  // expected and new_handshake is left alone (kernel create_data_done).
  Actions on_data_sent(Nanos now, uint64_t send_counter, bool only_keepalives = false);
  // After a data message was authenticated. A keepalive (`is_keepalive`)
  // needs no keepalive in return but still counts for key freshness.
  Actions on_data_received(Nanos now, bool is_keepalive = false);
  // After any authenticated packet (handshake, data, keepalive) was sent.
  void on_authenticated_packet_sent(Nanos now);
  // After any authenticated packet was received and verified.
  void on_authenticated_packet_received(Nanos now);
  // Before any authenticated packet is sent and after one is received.
  void on_authenticated_packet_traversal(Nanos now);
  // After an initiation was sent; also counts for the rate limit.
  void on_handshake_initiated(Nanos now);
  // After a response was consumed (initiator) or the next keypair was
  // confirmed by data (responder; on_keypair_first_used does this itself).
  void on_handshake_complete(Nanos now);
  // After a keypair was derived: as initiator on receiving the response (it
  // becomes current at once), as responder on sending the response (it
  // becomes "next", current only once data arrives with it). The responder
  // case also counts as a handshake message sent for the rate limit, as the
  // kernel's wg_packet_send_handshake_response does.
  void on_session_derived(Nanos now, bool we_are_initiator);
  // The responder's "next" keypair received its first data: it becomes
  // current (the old current becomes previous). Its birth stays the time it
  // was derived, since that is when the peer started counting its age. This
  // is key confirmation, so it is also on_handshake_complete.
  void on_keypair_first_used(Nanos now);

  // --- Timers ------------------------------------------------------------

  // Fires every timer whose deadline is <= now. Re-arms relative to `now`, so a
  // late poll fires each timer at most once.
  Actions poll(Nanos now);
  // Earliest pending deadline, or kNever.
  Nanos next_deadline() const;

  // --- Rate limit and configuration --------------------------------------

  // Kernel wg_packet_send_queued_handshake_initiation + the check in
  // wg_packet_send_handshake_initiation: a request that is not a retry
  // restarts the attempt count; any request within kRekeyTimeout of the last
  // handshake message sent is refused. A granted request counts as sent now
  // (the caller must then send it), so two requests in one tick yield one
  // initiation. Call it for initiations this class does not originate, e.g.
  // when packets are staged and no usable keypair exists.
  bool should_send_initiation(Nanos now, bool is_retry);

  // Interval in seconds, 0 = off. Turning it on asks for a keepalive at once
  // (kernel netlink set_peer), so that a NAT mapping opens without waiting.
  Actions set_persistent_keepalive(uint16_t seconds, Nanos now);
  uint16_t persistent_keepalive() const { return persistent_keepalive_s_; }

  // Peer removed or interface down (kernel wg_timers_stop + the keypair and
  // handshake reset of wg_stop): disarms everything and forgets keypair ages
  // and handshake state. Configuration (jitter, interval) is kept; later
  // events arm timers again, as when the interface comes back up.
  void stop();

  // --- Introspection (UAPI, tests) ---------------------------------------
  unsigned handshake_attempts() const { return attempts_; }
  bool has_current_keypair() const { return current_.live; }

 private:
  struct KeypairAge {
    Nanos birth = 0;
    bool we_initiated = false;
    bool live = false;
  };

  Nanos jitter();
  Actions fire_retransmit_handshake(Nanos now);
  Actions fire_send_keepalive(Nanos now);
  Actions fire_new_handshake(Nanos now);
  Actions fire_zero_key_material(Nanos now);
  Actions fire_persistent_keepalive(Nanos now);
  Actions fire_keypair_expiry(Nanos now);
  Nanos keypair_expiry() const;
  void forget_keypairs();

  JitterSource jitter_;
  uint16_t persistent_keepalive_s_ = 0;

  Nanos retransmit_handshake_ = kNever;
  Nanos send_keepalive_ = kNever;
  Nanos new_handshake_ = kNever;
  Nanos zero_key_material_ = kNever;
  Nanos persistent_keepalive_ = kNever;

  unsigned attempts_ = 0;
  bool need_another_keepalive_ = false;
  bool sent_lastminute_handshake_ = false;
  bool sent_handshake_ = false;  // last_sent_handshake_ is meaningful
  Nanos last_sent_handshake_ = 0;

  KeypairAge previous_;
  KeypairAge current_;
  KeypairAge next_;
};

}  // namespace wirespeed::controlplane::timers
