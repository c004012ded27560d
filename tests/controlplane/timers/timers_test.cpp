// Tests for controlplane/timers: the per-peer WireGuard timer state machine,
// driven by a fake clock. Each scenario asserts the exact Actions at the exact
// deadline and that nothing fires one nanosecond earlier. Numbers in the test
// names follow the scenarios of the timers issue (1 rekey … 10 stop).
#include "controlplane/timers/timers.hpp"

#include <gtest/gtest.h>

#include <ostream>

namespace wirespeed::controlplane::timers {

// gtest prints Actions by name on failure.
void PrintTo(Actions actions, std::ostream* os) {
  static constexpr struct {
    Action action;
    const char* name;
  } kNames[] = {{Action::kSendInitiation, "SendInitiation"},
                {Action::kSendKeepalive, "SendKeepalive"},
                {Action::kExpireKeypairs, "ExpireKeypairs"},
                {Action::kWipeKeys, "WipeKeys"},
                {Action::kGiveUp, "GiveUp"}};
  *os << "{";
  const char* sep = "";
  for (const auto& entry : kNames) {
    if (actions.has(entry.action)) {
      *os << sep << entry.name;
      sep = "|";
    }
  }
  *os << "}";
}
void PrintTo(Action action, std::ostream* os) { PrintTo(Actions(action), os); }

namespace {

using dataplane::wire::kKeepaliveTimeout;
using dataplane::wire::kKeyWipeTime;
using dataplane::wire::kMaxTimerHandshakes;
using dataplane::wire::kNanosPerMilli;
using dataplane::wire::kNanosPerSecond;
using dataplane::wire::kRejectAfterTime;
using dataplane::wire::kRekeyAfterMessages;
using dataplane::wire::kRekeyAfterTime;
using dataplane::wire::kRekeyTimeout;
using dataplane::wire::kRekeyTimeoutJitterMax;

constexpr Nanos kS = kNanosPerSecond;
constexpr Nanos kMs = kNanosPerMilli;
// Not 0, so that a "0 means unset" bug cannot hide.
constexpr Nanos kT0 = 1'000 * kS;
const Actions kNone{};

uint64_t no_jitter(void*) { return 0; }
uint64_t max_jitter(void*) { return kRekeyTimeoutJitterMax; }
uint64_t huge_jitter(void*) { return 10 * kS; }

PeerTimers make_timers(Nanos jitter = 0) {
  return PeerTimers(JitterSource{jitter == 0 ? no_jitter : max_jitter, nullptr});
}

// What the control plane does after sending a keepalive or data message.
void sent_authenticated(PeerTimers& t, Nanos now) {
  t.on_authenticated_packet_traversal(now);
  t.on_authenticated_packet_sent(now);
}

// 1 — rekey at 120 s by the initiator only; the message-count limit binds both.
TEST(PeerTimersTest, T01_RekeyAfterTimeOnSendByInitiatorOnly) {
  PeerTimers initiator = make_timers();
  initiator.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(initiator.on_data_sent(kT0 + 119'999 * kMs, 1), kNone);
  EXPECT_EQ(initiator.on_data_sent(kT0 + kRekeyAfterTime - 1, 2), kNone);
  EXPECT_EQ(initiator.on_data_sent(kT0 + kRekeyAfterTime, 3), Action::kSendInitiation);

  PeerTimers responder = make_timers();
  responder.on_session_derived(kT0, /*we_are_initiator=*/false);
  responder.on_keypair_first_used(kT0 + 10 * kMs);
  EXPECT_EQ(responder.on_data_sent(kT0 + kRekeyAfterTime, 1), kNone);
  EXPECT_EQ(responder.on_data_sent(kT0 + kRekeyAfterTime + 30 * kS, 2), kNone);
  // Counter limit: more than kRekeyAfterMessages sent, like the kernel's '>'.
  EXPECT_EQ(responder.on_data_sent(kT0 + 151 * kS, kRekeyAfterMessages), kNone);
  EXPECT_EQ(responder.on_data_sent(kT0 + 151 * kS, kRekeyAfterMessages + 1),
            Action::kSendInitiation);
}

TEST(PeerTimersTest, T01b_NoRekeyWithoutCurrentKeypair) {
  PeerTimers t = make_timers();
  // A responder's unconfirmed "next" keypair is not current yet.
  t.on_session_derived(kT0, /*we_are_initiator=*/false);
  EXPECT_FALSE(t.has_current_keypair());
  EXPECT_EQ(t.on_data_sent(kT0 + 10 * kS, kRekeyAfterMessages + 1), kNone);
  t.on_keypair_first_used(kT0 + 11 * kS);
  EXPECT_TRUE(t.has_current_keypair());
  EXPECT_EQ(t.on_data_sent(kT0 + 12 * kS, kRekeyAfterMessages + 1), Action::kSendInitiation);
}

// 2 — keepalive after 10 s of receive-only traffic.
TEST(PeerTimersTest, T02_KeepaliveAfterReceiveOnly) {
  PeerTimers t = make_timers();
  EXPECT_EQ(t.on_data_received(kT0), kNone);
  EXPECT_EQ(t.next_deadline(), kT0 + kKeepaliveTimeout);
  EXPECT_EQ(t.poll(kT0 + kKeepaliveTimeout - 1), kNone);
  EXPECT_EQ(t.poll(kT0 + kKeepaliveTimeout), Action::kSendKeepalive);
  sent_authenticated(t, kT0 + kKeepaliveTimeout);
  EXPECT_EQ(t.next_deadline(), kNever);
  EXPECT_EQ(t.poll(kT0 + 1'000 * kS), kNone);  // exactly once
}

TEST(PeerTimersTest, T02b_NoKeepaliveWhenWeSentSomething) {
  PeerTimers t = make_timers();
  EXPECT_EQ(t.on_data_received(kT0), kNone);
  sent_authenticated(t, kT0 + 5 * kS);
  EXPECT_EQ(t.poll(kT0 + kKeepaliveTimeout), kNone);
  EXPECT_EQ(t.next_deadline(), kNever);
}

TEST(PeerTimersTest, T02c_KeepalivesOnlyCountPayload) {
  PeerTimers t = make_timers();
  EXPECT_EQ(t.on_data_received(kT0, /*is_keepalive=*/true), kNone);
  EXPECT_EQ(t.next_deadline(), kNever);
}

// Kernel wg_expired_send_keepalive: data received while the keepalive timer
// is pending asks for one more round.
TEST(PeerTimersTest, T02d_NeedAnotherKeepalive) {
  PeerTimers t = make_timers();
  t.on_data_received(kT0);
  t.on_data_received(kT0 + 3 * kS);
  EXPECT_EQ(t.poll(kT0 + kKeepaliveTimeout), Action::kSendKeepalive);
  EXPECT_EQ(t.poll(kT0 + 2 * kKeepaliveTimeout - 1), kNone);
  EXPECT_EQ(t.poll(kT0 + 2 * kKeepaliveTimeout), Action::kSendKeepalive);
  EXPECT_EQ(t.next_deadline(), kNever);
}

// 3 — new initiation 15 s (+ jitter) after sending data with no reply.
TEST(PeerTimersTest, T03_NewHandshakeAfterSendWithoutReply) {
  for (Nanos jitter : {Nanos{0}, kRekeyTimeoutJitterMax}) {
    SCOPED_TRACE(jitter);
    PeerTimers t = make_timers(jitter);
    EXPECT_EQ(t.on_data_sent(kT0, 1), kNone);
    const Nanos deadline = kT0 + kKeepaliveTimeout + kRekeyTimeout + jitter;
    EXPECT_EQ(t.next_deadline(), deadline);
    // More data does not push it back: the first unanswered packet counts.
    EXPECT_EQ(t.on_data_sent(kT0 + 7 * kS, 2), kNone);
    EXPECT_EQ(t.poll(deadline - 1), kNone);
    EXPECT_EQ(t.poll(deadline), Action::kSendInitiation);
    EXPECT_EQ(t.next_deadline(), kNever);

    // Any authenticated packet back cancels it.
    PeerTimers answered = make_timers(jitter);
    answered.on_data_sent(kT0, 1);
    answered.on_authenticated_packet_received(kT0 + 14 * kS);
    EXPECT_EQ(answered.poll(deadline), kNone);

    // Keepalives expect no answer and arm nothing.
    PeerTimers keepalive_only = make_timers(jitter);
    keepalive_only.on_data_sent(kT0, 1, /*only_keepalives=*/true);
    EXPECT_EQ(keepalive_only.next_deadline(), kNever);
  }
}

// 4 — give up after kMaxTimerHandshakes (18) retries, i.e. 90 s of retrying.
TEST(PeerTimersTest, T04_GiveUpAfterMaxRetries) {
  for (Nanos jitter : {Nanos{0}, kRekeyTimeoutJitterMax}) {
    SCOPED_TRACE(jitter);
    PeerTimers t = make_timers(jitter);
    ASSERT_TRUE(t.should_send_initiation(kT0, /*is_retry=*/false));
    t.on_handshake_initiated(kT0);

    Nanos now = kT0;
    unsigned retries = 0;
    Actions fired;
    for (;;) {
      const Nanos deadline = t.next_deadline();
      ASSERT_EQ(deadline, now + kRekeyTimeout + jitter);
      ASSERT_EQ(t.poll(deadline - 1), kNone);
      fired = t.poll(deadline);
      now = deadline;
      if (fired != Action::kSendInitiation) break;
      ++retries;
      t.on_handshake_initiated(now);
      ASSERT_LE(retries, kMaxTimerHandshakes);
    }
    EXPECT_EQ(retries, 18U);
    EXPECT_EQ(fired, Action::kGiveUp);
    // Retries went out at 5 s .. 90 s; the last one's timeout ends at 95 s.
    EXPECT_EQ(now, kT0 + 19 * (kRekeyTimeout + jitter));
    EXPECT_EQ(t.handshake_attempts(), kMaxTimerHandshakes);

    // Afterwards only the wipe of partial state, and no more initiations.
    EXPECT_EQ(t.next_deadline(), now + kKeyWipeTime);
    EXPECT_EQ(t.poll(now + kKeyWipeTime - 1), kNone);
    EXPECT_EQ(t.poll(now + kKeyWipeTime), Action::kWipeKeys);
    EXPECT_EQ(t.next_deadline(), kNever);
  }
}

TEST(PeerTimersTest, T04b_HandshakeCompleteStopsRetransmits) {
  PeerTimers t = make_timers();
  t.on_handshake_initiated(kT0);
  EXPECT_EQ(t.poll(kT0 + kRekeyTimeout), Action::kSendInitiation);
  t.on_handshake_initiated(kT0 + kRekeyTimeout);
  EXPECT_EQ(t.handshake_attempts(), 1U);
  t.on_session_derived(kT0 + 6 * kS, /*we_are_initiator=*/true);
  t.on_handshake_complete(kT0 + 6 * kS);
  EXPECT_EQ(t.handshake_attempts(), 0U);
  EXPECT_EQ(t.poll(kT0 + 2 * kRekeyTimeout), kNone);
  EXPECT_EQ(t.next_deadline(), kT0 + 6 * kS + kRejectAfterTime);  // keypair expiry
}

TEST(PeerTimersTest, T04c_GiveUpKeepsPendingWipe) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  t.on_handshake_initiated(kT0 + 1 * kS);
  Nanos now = kT0 + 1 * kS;
  for (unsigned i = 0; i < kMaxTimerHandshakes; ++i) {
    now += kRekeyTimeout;
    ASSERT_EQ(t.poll(now), Action::kSendInitiation);
    t.on_handshake_initiated(now);
  }
  t.on_data_received(now);  // a keepalive owed to the peer is dropped on give-up
  EXPECT_EQ(t.poll(now + kRekeyTimeout), Action::kGiveUp);
  EXPECT_EQ(t.poll(now + kKeepaliveTimeout), kNone);
  // The wipe armed by the session stays at 540 s, not give-up + 540 s.
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime), Action::kExpireKeypairs);
  EXPECT_EQ(t.poll(kT0 + kKeyWipeTime - 1), kNone);
  EXPECT_EQ(t.poll(kT0 + kKeyWipeTime), Action::kWipeKeys);
  EXPECT_EQ(t.next_deadline(), kNever);
}

// 5 — reject after 180 s: the data path must stop using the keypair.
TEST(PeerTimersTest, T05_ExpireKeypairAtRejectAfterTime) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.next_deadline(), kT0 + kRejectAfterTime);
  EXPECT_EQ(t.poll(kT0 + 179'999 * kMs), kNone);
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime - 1), kNone);
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime), Action::kExpireKeypairs);
  EXPECT_FALSE(t.has_current_keypair());
  EXPECT_EQ(t.next_deadline(), kT0 + kKeyWipeTime);
}

TEST(PeerTimersTest, T05b_ResponderKeypairAgesFromDerivation) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/false);
  t.on_keypair_first_used(kT0 + 30 * kS);
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime - 1), kNone);
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime), Action::kExpireKeypairs);
}

TEST(PeerTimersTest, T05c_PreviousKeypairExpiresBeforeCurrent) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  t.on_session_derived(kT0 + 120 * kS, /*we_are_initiator=*/true);  // old one becomes previous
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime), Action::kExpireKeypairs);
  EXPECT_TRUE(t.has_current_keypair());
  EXPECT_EQ(t.next_deadline(), kT0 + 120 * kS + kRejectAfterTime);
  EXPECT_EQ(t.poll(kT0 + 120 * kS + kRejectAfterTime), Action::kExpireKeypairs);
  EXPECT_FALSE(t.has_current_keypair());
}

// 6 — zero key material 540 s after the last session was derived.
TEST(PeerTimersTest, T06_WipeKeysAfterThreeRejectPeriods) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime), Action::kExpireKeypairs);
  EXPECT_EQ(t.poll(kT0 + 3 * kRejectAfterTime - 1), kNone);
  EXPECT_EQ(t.poll(kT0 + 3 * kRejectAfterTime), Action::kWipeKeys);
  EXPECT_EQ(t.next_deadline(), kNever);
}

TEST(PeerTimersTest, T06b_NewSessionPushesWipeBack) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.poll(kT0 + kRejectAfterTime), Action::kExpireKeypairs);
  const Nanos second = kT0 + 300 * kS;
  t.on_session_derived(second, /*we_are_initiator=*/false);
  EXPECT_EQ(t.poll(second + kRejectAfterTime), Action::kExpireKeypairs);
  EXPECT_EQ(t.poll(kT0 + kKeyWipeTime), kNone);
  EXPECT_EQ(t.poll(second + kKeyWipeTime - 1), kNone);
  EXPECT_EQ(t.poll(second + kKeyWipeTime), Action::kWipeKeys);
  EXPECT_EQ(t.next_deadline(), kNever);
}

TEST(PeerTimersTest, T06c_ExpiryAndWipeInOneLatePoll) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.poll(kT0 + 10'000 * kS), Action::kExpireKeypairs | Action::kWipeKeys);
  EXPECT_EQ(t.next_deadline(), kNever);
}

// 7 — persistent keepalive every interval without traversal.
TEST(PeerTimersTest, T07_PersistentKeepalive) {
  PeerTimers t = make_timers();
  // Turning it on sends one at once (kernel netlink), then every 25 s.
  EXPECT_EQ(t.set_persistent_keepalive(25, kT0), Action::kSendKeepalive);
  sent_authenticated(t, kT0);
  Nanos now = kT0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(t.next_deadline(), now + 25 * kS);
    ASSERT_EQ(t.poll(now + 25 * kS - 1), kNone);
    ASSERT_EQ(t.poll(now + 25 * kS), Action::kSendKeepalive);
    now += 25 * kS;
    sent_authenticated(t, now);
  }
  // Traffic either way resets it.
  t.on_authenticated_packet_traversal(now + 20 * kS);
  EXPECT_EQ(t.poll(now + 25 * kS), kNone);
  EXPECT_EQ(t.poll(now + 45 * kS - 1), kNone);
  EXPECT_EQ(t.poll(now + 45 * kS), Action::kSendKeepalive);

  // A new interval applies from the next traversal and asks for nothing now.
  EXPECT_EQ(t.set_persistent_keepalive(30, now + 45 * kS), kNone);
  EXPECT_EQ(t.persistent_keepalive(), 30);

  // 0 turns it off: nothing pending, traversal arms nothing.
  EXPECT_EQ(t.set_persistent_keepalive(0, now + 46 * kS), kNone);
  EXPECT_EQ(t.next_deadline(), kNever);
  t.on_authenticated_packet_traversal(now + 47 * kS);
  EXPECT_EQ(t.next_deadline(), kNever);
  EXPECT_EQ(t.poll(now + 1'000 * kS), kNone);
}

// 8 — last-minute handshake at 165 s on receive: initiator only, once.
TEST(PeerTimersTest, T08_LastMinuteHandshakeOnReceive) {
  const Nanos last_minute = kRejectAfterTime - kKeepaliveTimeout - kRekeyTimeout;
  ASSERT_EQ(last_minute, 165 * kS);

  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.on_data_received(kT0 + last_minute - 1), kNone);
  EXPECT_EQ(t.on_data_received(kT0 + last_minute, /*is_keepalive=*/true), Action::kSendInitiation);
  // Past the rate limit, still only once per handshake.
  EXPECT_EQ(t.on_data_received(kT0 + last_minute + 2 * kRekeyTimeout), kNone);
  // A completed handshake allows the next last-minute attempt.
  t.on_handshake_complete(kT0 + last_minute + 11 * kS);
  EXPECT_EQ(t.on_data_received(kT0 + last_minute + 12 * kS), Action::kSendInitiation);

  PeerTimers responder = make_timers();
  responder.on_session_derived(kT0, /*we_are_initiator=*/false);
  responder.on_keypair_first_used(kT0 + 1 * kS);
  EXPECT_EQ(responder.on_data_received(kT0 + last_minute), kNone);
  EXPECT_EQ(responder.on_data_received(kT0 + 179 * kS), kNone);
}

// 9 — initiation rate limit: one handshake message per kRekeyTimeout.
TEST(PeerTimersTest, T09_InitiationRateLimit) {
  PeerTimers t = make_timers();
  EXPECT_TRUE(t.should_send_initiation(kT0, /*is_retry=*/false));
  EXPECT_FALSE(t.should_send_initiation(kT0, /*is_retry=*/false));
  EXPECT_FALSE(t.should_send_initiation(kT0 + 4'999 * kMs, /*is_retry=*/false));
  EXPECT_FALSE(t.should_send_initiation(kT0 + kRekeyTimeout - 1, /*is_retry=*/false));
  EXPECT_TRUE(t.should_send_initiation(kT0 + kRekeyTimeout, /*is_retry=*/false));
}

TEST(PeerTimersTest, T09b_RateLimitAppliesToEventsAndTimers) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.on_data_sent(kT0 + kRekeyAfterTime, 1), Action::kSendInitiation);
  t.on_handshake_initiated(kT0 + kRekeyAfterTime + 1 * kMs);
  EXPECT_EQ(t.on_data_sent(kT0 + kRekeyAfterTime + 1 * kS, 2), kNone);
  EXPECT_EQ(t.on_data_sent(kT0 + kRekeyAfterTime + 4 * kS, 3), kNone);
  // The retry comes from the retransmit timer, not from the data path.
  EXPECT_EQ(t.poll(kT0 + kRekeyAfterTime + 1 * kMs + kRekeyTimeout), Action::kSendInitiation);
  EXPECT_EQ(t.handshake_attempts(), 1U);
}

TEST(PeerTimersTest, T09c_ResponseSentCountsAndNonRetryResetsAttempts) {
  PeerTimers t = make_timers();
  t.on_session_derived(kT0, /*we_are_initiator=*/false);  // we sent a response
  EXPECT_FALSE(t.should_send_initiation(kT0 + 1 * kS, /*is_retry=*/false));

  t.on_handshake_initiated(kT0 + 10 * kS);
  EXPECT_EQ(t.poll(kT0 + 15 * kS), Action::kSendInitiation);
  EXPECT_EQ(t.handshake_attempts(), 1U);
  // A fresh request restarts the count even when the rate limit refuses it.
  EXPECT_FALSE(t.should_send_initiation(kT0 + 16 * kS, /*is_retry=*/false));
  EXPECT_EQ(t.handshake_attempts(), 0U);
}

TEST(PeerTimersTest, T09d_SimultaneousRetryAndNewHandshakeSendOnce) {
  PeerTimers t = make_timers();
  t.on_data_sent(kT0, 1);                   // new_handshake at +15 s
  t.on_handshake_initiated(kT0 + 10 * kS);  // retransmit at +15 s
  EXPECT_EQ(t.poll(kT0 + 15 * kS), Action::kSendInitiation);
  EXPECT_EQ(t.next_deadline(), kNever);
}

// 10 — stop() disarms everything and resets the handshake state.
TEST(PeerTimersTest, T10_StopLeavesNothingPending) {
  PeerTimers t = make_timers(kRekeyTimeoutJitterMax);
  EXPECT_EQ(t.set_persistent_keepalive(25, kT0), Action::kSendKeepalive);
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  t.on_data_sent(kT0, 1);
  t.on_data_received(kT0);
  t.on_handshake_initiated(kT0);
  ASSERT_NE(t.next_deadline(), kNever);

  t.stop();
  EXPECT_EQ(t.next_deadline(), kNever);
  EXPECT_EQ(t.poll(kT0 + 100'000 * kS), kNone);
  EXPECT_FALSE(t.has_current_keypair());
  EXPECT_EQ(t.handshake_attempts(), 0U);
  EXPECT_EQ(t.persistent_keepalive(), 25);  // configuration survives
  EXPECT_TRUE(t.should_send_initiation(kT0 + 1 * kS, /*is_retry=*/false));
}

// next_deadline is the earliest of all pending deadlines.
TEST(PeerTimersTest, NextDeadlineIsEarliest) {
  PeerTimers t = make_timers();
  EXPECT_EQ(t.next_deadline(), kNever);
  t.on_session_derived(kT0, /*we_are_initiator=*/true);
  EXPECT_EQ(t.next_deadline(), kT0 + kRejectAfterTime);
  t.on_data_sent(kT0 + 1 * kS, 1);
  EXPECT_EQ(t.next_deadline(), kT0 + 16 * kS);
  t.on_data_received(kT0 + 2 * kS);
  EXPECT_EQ(t.next_deadline(), kT0 + 12 * kS);
  t.on_handshake_initiated(kT0 + 3 * kS);
  EXPECT_EQ(t.next_deadline(), kT0 + 8 * kS);
}

TEST(PeerTimersTest, JitterIsClampedAndOptional) {
  PeerTimers clamped(JitterSource{huge_jitter, nullptr});
  clamped.on_handshake_initiated(kT0);
  EXPECT_EQ(clamped.next_deadline(), kT0 + kRekeyTimeout + kRekeyTimeoutJitterMax);

  PeerTimers none(JitterSource{});
  none.on_handshake_initiated(kT0);
  EXPECT_EQ(none.next_deadline(), kT0 + kRekeyTimeout);
}

TEST(PeerTimersTest, DeadlinesSaturateNearEndOfTime) {
  PeerTimers t = make_timers();
  t.on_data_received(kNever - 1);
  EXPECT_EQ(t.next_deadline(), kNever);
  EXPECT_EQ(t.poll(kNever - 1), kNone);
}

}  // namespace
}  // namespace wirespeed::controlplane::timers
