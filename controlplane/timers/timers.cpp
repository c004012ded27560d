// Per-peer WireGuard timer state machine: see timers.hpp for the list of timers
// and what arms, disarms and fires each. Control-plane process, timer thread.
#include "controlplane/timers/timers.hpp"

#include <algorithm>

namespace wirespeed::controlplane::timers {

namespace wire = dataplane::wire;

namespace {

// A monotonic clock starts near 0, but a fake or offset one may not: a
// deadline that would wrap means "never" rather than "already due".
constexpr Nanos after(Nanos now, Nanos delay) {
  return now > kNever - delay ? kNever : now + delay;
}

constexpr bool has_expired(Nanos birth, Nanos lifetime, Nanos now) {
  return after(birth, lifetime) <= now;
}

constexpr bool due(Nanos deadline, Nanos now) { return deadline != kNever && deadline <= now; }

constexpr Nanos kNewHandshakeTimeout = wire::kKeepaliveTimeout + wire::kRekeyTimeout;
// 165 s: the initiator's last chance to rekey before its key dies at 180 s,
// leaving one keepalive timeout and one handshake timeout of margin.
constexpr Nanos kLastMinuteAge =
    wire::kRejectAfterTime - wire::kKeepaliveTimeout - wire::kRekeyTimeout;

}  // namespace

Nanos PeerTimers::jitter() {
  if (jitter_.draw == nullptr) return 0;
  return std::min<Nanos>(jitter_.draw(jitter_.ctx), wire::kRekeyTimeoutJitterMax);
}

// --- Events ---------------------------------------------------------------

Actions PeerTimers::on_data_sent(Nanos now, uint64_t send_counter, bool only_keepalives) {
  if (!only_keepalives && new_handshake_ == kNever) {
    new_handshake_ = after(now, kNewHandshakeTimeout + jitter());
  }
  // send.c keep_key_fresh: the counter limit binds both sides (a responder
  // that only sends must rekey too), the age limit only the initiator, so that
  // both ends do not start simultaneous handshakes at 120 s.
  const bool stale = current_.live &&
                     (send_counter > wire::kRekeyAfterMessages ||
                      (current_.we_initiated &&
                       has_expired(current_.birth, wire::kRekeyAfterTime, now)));
  if (stale && should_send_initiation(now, /*is_retry=*/false)) return Action::kSendInitiation;
  return {};
}

Actions PeerTimers::on_data_received(Nanos now, bool is_keepalive) {
  if (!is_keepalive) {
    if (send_keepalive_ == kNever) {
      send_keepalive_ = after(now, wire::kKeepaliveTimeout);
    } else {
      need_another_keepalive_ = true;
    }
  }
  // receive.c keep_key_fresh: the flag is set even if the rate limit refuses,
  // so a receive-only initiator tries the last-minute handshake once per
  // handshake; the retransmit and new-handshake timers cover the rest.
  if (sent_lastminute_handshake_) return {};
  if (current_.live && current_.we_initiated &&
      has_expired(current_.birth, kLastMinuteAge, now)) {
    sent_lastminute_handshake_ = true;
    if (should_send_initiation(now, /*is_retry=*/false)) return Action::kSendInitiation;
  }
  return {};
}

void PeerTimers::on_authenticated_packet_sent(Nanos /*now*/) {
  // Anything we send tells the peer we are alive: no keepalive needed.
  send_keepalive_ = kNever;
}

void PeerTimers::on_authenticated_packet_received(Nanos /*now*/) {
  // The peer answered something: the path works, no new handshake needed.
  new_handshake_ = kNever;
}

void PeerTimers::on_authenticated_packet_traversal(Nanos now) {
  if (persistent_keepalive_s_ != 0) {
    persistent_keepalive_ =
        after(now, static_cast<Nanos>(persistent_keepalive_s_) * wire::kNanosPerSecond);
  }
}

void PeerTimers::on_handshake_initiated(Nanos now) {
  sent_handshake_ = true;
  last_sent_handshake_ = now;
  retransmit_handshake_ = after(now, wire::kRekeyTimeout + jitter());
}

void PeerTimers::on_handshake_complete(Nanos /*now*/) {
  retransmit_handshake_ = kNever;
  attempts_ = 0;
  sent_lastminute_handshake_ = false;
}

void PeerTimers::on_session_derived(Nanos now, bool we_are_initiator) {
  zero_key_material_ = after(now, wire::kKeyWipeTime);
  const KeypairAge fresh{now, we_are_initiator, true};
  // Slot moves of the kernel's add_new_keypair (noise.c), kept only so that
  // the key-freshness checks and keypair_expiry look at the right birth time.
  if (we_are_initiator) {
    // A pending "next" was never confirmed but the peer may still send with it
    // for a while: it becomes previous, the old current is dropped.
    previous_ = next_.live ? next_ : current_;
    next_ = KeypairAge{};
    current_ = fresh;
  } else {
    next_ = fresh;
    previous_ = KeypairAge{};
    // The response that carries this session is a handshake message sent.
    sent_handshake_ = true;
    last_sent_handshake_ = now;
  }
}

void PeerTimers::on_keypair_first_used(Nanos now) {
  if (next_.live) {
    previous_ = current_;
    current_ = next_;
    next_ = KeypairAge{};
  }
  on_handshake_complete(now);
}

// --- Timers ---------------------------------------------------------------

Actions PeerTimers::fire_retransmit_handshake(Nanos now) {
  retransmit_handshake_ = kNever;
  if (attempts_ >= wire::kMaxTimerHandshakes) {
    // Nobody answers: stop trying until new traffic or configuration asks
    // again, and make sure whatever a half-finished exchange left is wiped.
    send_keepalive_ = kNever;
    if (zero_key_material_ == kNever) zero_key_material_ = after(now, wire::kKeyWipeTime);
    return Action::kGiveUp;
  }
  ++attempts_;
  if (should_send_initiation(now, /*is_retry=*/true)) return Action::kSendInitiation;
  return {};
}

Actions PeerTimers::fire_send_keepalive(Nanos now) {
  send_keepalive_ = kNever;
  if (need_another_keepalive_) {
    need_another_keepalive_ = false;
    send_keepalive_ = after(now, wire::kKeepaliveTimeout);
  }
  return Action::kSendKeepalive;
}

Actions PeerTimers::fire_new_handshake(Nanos now) {
  new_handshake_ = kNever;
  if (should_send_initiation(now, /*is_retry=*/false)) return Action::kSendInitiation;
  return {};
}

Actions PeerTimers::fire_zero_key_material(Nanos /*now*/) {
  zero_key_material_ = kNever;
  forget_keypairs();
  return Action::kWipeKeys;
}

Actions PeerTimers::fire_persistent_keepalive(Nanos /*now*/) {
  persistent_keepalive_ = kNever;
  if (persistent_keepalive_s_ == 0) return {};
  return Action::kSendKeepalive;
}

Actions PeerTimers::fire_keypair_expiry(Nanos now) {
  for (KeypairAge* slot : {&previous_, &current_, &next_}) {
    if (slot->live && has_expired(slot->birth, wire::kRejectAfterTime, now)) *slot = KeypairAge{};
  }
  return Action::kExpireKeypairs;
}

Nanos PeerTimers::keypair_expiry() const {
  Nanos earliest = kNever;
  for (const KeypairAge* slot : {&previous_, &current_, &next_}) {
    if (slot->live) earliest = std::min(earliest, after(slot->birth, wire::kRejectAfterTime));
  }
  return earliest;
}

void PeerTimers::forget_keypairs() {
  previous_ = KeypairAge{};
  current_ = KeypairAge{};
  next_ = KeypairAge{};
}

Actions PeerTimers::poll(Nanos now) {
  Actions actions;
  // Handshake timers first and the retry before the new handshake: when both
  // are due, one initiation goes out and the other request meets the rate limit.
  if (due(retransmit_handshake_, now)) actions |= fire_retransmit_handshake(now);
  if (due(new_handshake_, now)) actions |= fire_new_handshake(now);
  if (due(send_keepalive_, now)) actions |= fire_send_keepalive(now);
  if (due(persistent_keepalive_, now)) actions |= fire_persistent_keepalive(now);
  // Expiry before wipe: when both are due the wipe covers it anyway, and
  // forget_keypairs would hide the expiry.
  if (due(keypair_expiry(), now)) actions |= fire_keypair_expiry(now);
  if (due(zero_key_material_, now)) actions |= fire_zero_key_material(now);
  return actions;
}

Nanos PeerTimers::next_deadline() const {
  return std::min({retransmit_handshake_, send_keepalive_, new_handshake_, zero_key_material_,
                   persistent_keepalive_, keypair_expiry()});
}

// --- Rate limit and configuration -----------------------------------------

bool PeerTimers::should_send_initiation(Nanos now, bool is_retry) {
  if (!is_retry) attempts_ = 0;
  if (sent_handshake_ && !has_expired(last_sent_handshake_, wire::kRekeyTimeout, now)) {
    return false;
  }
  sent_handshake_ = true;
  last_sent_handshake_ = now;
  return true;
}

Actions PeerTimers::set_persistent_keepalive(uint16_t seconds, Nanos now) {
  const bool turned_on = persistent_keepalive_s_ == 0 && seconds != 0;
  persistent_keepalive_s_ = seconds;
  if (seconds == 0) {
    persistent_keepalive_ = kNever;
    return {};
  }
  // A changed interval applies from the next traversal, as in the kernel;
  // arm only so that an idle peer starts its keepalives at all.
  if (persistent_keepalive_ == kNever) on_authenticated_packet_traversal(now);
  return turned_on ? Actions(Action::kSendKeepalive) : Actions();
}

void PeerTimers::stop() {
  retransmit_handshake_ = kNever;
  send_keepalive_ = kNever;
  new_handshake_ = kNever;
  zero_key_material_ = kNever;
  persistent_keepalive_ = kNever;
  attempts_ = 0;
  need_another_keepalive_ = false;
  sent_lastminute_handshake_ = false;
  sent_handshake_ = false;
  last_sent_handshake_ = 0;
  forget_keypairs();
}

}  // namespace wirespeed::controlplane::timers
