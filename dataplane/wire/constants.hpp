// WireGuard protocol constants (whitepaper §6.1, kernel messages.h).
//
// Names keep the spec's names. Times are in nanoseconds of a monotonic clock,
// the unit every clock in wirespeed uses (TSC-derived in the dataplane,
// CLOCK_MONOTONIC in the control plane, a fake clock in tests).
#pragma once

#include <cstdint>

namespace wirespeed::dataplane::wire {

using Nanos = uint64_t;
inline constexpr Nanos kNanosPerSecond = 1'000'000'000ULL;
inline constexpr Nanos kNanosPerMilli = 1'000'000ULL;

// Message counters.
inline constexpr uint64_t kRekeyAfterMessages = 1ULL << 60;
// 2^64 - 2^13 - 1: a sender stops before its counter could wrap the receiver's window.
inline constexpr uint64_t kRejectAfterMessages = ~0ULL - (1ULL << 13);

// Timers.
inline constexpr Nanos kRekeyAfterTime = 120 * kNanosPerSecond;
inline constexpr Nanos kRejectAfterTime = 180 * kNanosPerSecond;
inline constexpr Nanos kRekeyAttemptTime = 90 * kNanosPerSecond;
inline constexpr Nanos kRekeyTimeout = 5 * kNanosPerSecond;
inline constexpr Nanos kRekeyTimeoutJitterMax = 333 * kNanosPerMilli;  // added to kRekeyTimeout
inline constexpr Nanos kKeepaliveTimeout = 10 * kNanosPerSecond;
inline constexpr Nanos kCookieRefreshTime = 120 * kNanosPerSecond;
// A cookie the initiator holds is used for this long: the responder's secret
// may have rotated up to kRekeyTimeout ago (kernel COOKIE_SECRET_LATENCY).
inline constexpr Nanos kCookieSecretLatency = 5 * kNanosPerSecond;
// Keys are wiped when nothing renewed them for three reject periods (540 s).
inline constexpr Nanos kKeyWipeTime = 3 * kRejectAfterTime;
// Retransmissions before giving up: kRekeyAttemptTime / kRekeyTimeout = 18.
inline constexpr unsigned kMaxTimerHandshakes = kRekeyAttemptTime / kRekeyTimeout;

// Handshake flood control.
inline constexpr unsigned kInitiationsPerSecond = 50;     // per peer, accepted
inline constexpr unsigned kPacketsPerSecondPerSource = 20;  // cookie-less initiations per source IP
inline constexpr unsigned kPacketsBurstPerSource = 5;

// Replay window: 8192 bits of which one 64-bit word is slack, so 8128 usable.
inline constexpr unsigned kCounterBitsTotal = 8192;
inline constexpr unsigned kCounterRedundantBits = 64;
inline constexpr unsigned kCounterWindowSize = kCounterBitsTotal - kCounterRedundantBits;

// Data messages are padded to a multiple of this (capped at the MTU).
inline constexpr unsigned kMessagePadding = 16;

}  // namespace wirespeed::dataplane::wire
