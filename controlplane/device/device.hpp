// The control plane's protocol driver: one Device per gateway interface ties
// the protocol core together — Noise handshakes (noise/), mac1/mac2 and cookie
// replies (cookie/), per-peer timers (timers/), the per-source handshake rate
// limit (ratelimit/) and receiver indices (peers/) — and speaks to the
// dataplane only through ring messages (dataplane/shm/abi.hpp).
//
// Runs in wirespeed-controlplane, on its main thread; not thread-safe. Pure
// logic: no DPDK, no sockets, no monotonic clock reads. Every entry point takes
// `now` (CLOCK_MONOTONIC ns, the base of the shared-memory timestamps) and
// appends the commands it wants executed to an Outbox, which the DPDK glue
// enqueues on the command ring in order. The one clock Device reads itself is
// the wall clock for TAI64N timestamps (injectable, see DeviceOptions).
//
// What the kernel does where (drivers/net/wireguard), and who does it here:
//   receive.c handshake path  -> on_handshake_datagram (punted types 1-3)
//   send.c handshake sends    -> commands kCmdTransmitUdp / kCmdSendKeepalive
//   noise.c add_new_keypair,
//     received_with_keypair   -> the dataplane applies them to its tables; the
//                                Device keeps a mirror of the roles (current,
//                                previous, next) so that it knows which local
//                                indices are live and when to release them
//   timers.c                  -> timers::PeerTimers, fed by on_traffic (counter
//                                deltas read from shared memory) and on_event
//
// Secrets: the device private key, the peers' preshared keys and handshake
// state live in Secret types. Session keys leave only inside kCmdKeypairInstall
// messages; wipe_outbox() zeroes an Outbox once the glue has enqueued it. No
// stats, view or error string carries key material.
#pragma once

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "config/config.hpp"
#include "controlplane/cookie/cookie.hpp"
#include "controlplane/crypto/secret.hpp"
#include "controlplane/noise/handshake.hpp"
#include "controlplane/peers/index_table.hpp"
#include "controlplane/ratelimit/ratelimiter.hpp"
#include "controlplane/timers/timers.hpp"
#include "dataplane/base/result.hpp"
#include "dataplane/shm/abi.hpp"

namespace wirespeed::controlplane::device {

using dataplane::wire::Nanos;

// An Outbox may hold keypair installs: when it grows, the vector moves them
// and frees the old buffer, which wipe_outbox() never sees; its allocator
// zeroes what it frees.
using crypto::WipingAllocator;
using Outbox =
    std::vector<dataplane::shm::RingMessage, WipingAllocator<dataplane::shm::RingMessage>>;

// Zeroes every message of `out` (keypair installs carry session keys), then
// empties it. The glue calls it after enqueueing.
void wipe_outbox(Outbox& out) noexcept;

// Per-peer traffic as the glue sums it from the dataplane's per-lcore
// PeerCounters: cumulative since the dataplane started.
struct PeerTraffic {
  uint64_t rx_packets = 0;  // authenticated data messages, keepalives included
  uint64_t tx_packets = 0;
  uint64_t last_rx_ns = 0;
  uint64_t last_rx_data_ns = 0;  // advances only for messages with payload
  uint64_t last_tx_ns = 0;
  uint64_t last_tx_data_ns = 0;
  uint64_t current_send_counter = 0;  // of the current keypair, 0 if none
};

// A keypair the dataplane already holds, found in its tables by a restarted
// control plane.
struct AdoptedKeypair {
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
  uint64_t birth_ns = 0;  // CLOCK_MONOTONIC
  bool we_initiated = false;
  uint64_t send_counter = 0;
};

// Everything the dataplane holds for one peer slot.
struct AdoptedPeer {
  std::optional<AdoptedKeypair> current;
  std::optional<AdoptedKeypair> previous;
  std::optional<AdoptedKeypair> next;
  dataplane::shm::Endpoint endpoint;  // family 0: none
};

// Wall-clock source for TAI64N timestamps in initiations: nanoseconds since
// the Unix epoch. A null `now_ns` reads CLOCK_REALTIME. Tests inject one that
// advances with their fake monotonic clock (TAI64N is whitened to ~16.8 ms, so
// back-to-back handshakes on a real clock could share a timestamp and be
// refused as replays).
struct WallClock {
  uint64_t (*now_ns)(void* ctx) = nullptr;
  void* ctx = nullptr;
};

// Jitter drawn from libsodium's CSPRNG, uniform in [0, kRekeyTimeoutJitterMax].
timers::JitterSource random_jitter() noexcept;

// Something an operator wants in the log, one line each (the Agent words
// and writes them; the Device only reports). Never carries key material.
enum class DeviceEventKind : uint8_t {
  kPeerAdded,  // runtime add (UAPI set, reload); not install_peers()
  kPeerRemoved,
  kPeerChanged,  // detail: "endpoint", "persistent keepalive", "preshared key", "allowed ips"
                 // (also for a peer that lost a prefix to another), "name"
  kHandshakeInitiated,  // we sent an initiation; detail "traffic", "rekey", "retry" (attempt: N),
                        // "no reply", "forced"
  kHandshakeComplete,   // a keypair was installed; as_initiator says which role we had
  kPeerUp,              // the peer has a usable session after having none
  kPeerDown,            // the peer's sessions are gone; detail "expired", "keys wiped",
                        // "private key changed", "removed"
  kHandshakeGaveUp,     // kRekeyAttemptTime passed without a response
  kEndpointChanged,     // roaming: an authenticated packet came from a new address
  kPrivateKeyChanged,   // detail: nothing (the key is never logged)
};

struct DeviceEvent {
  DeviceEventKind kind = DeviceEventKind::kPeerAdded;
  uint32_t peer = 0;  // slot; shm::kNoPeer for kPrivateKeyChanged
  bool as_initiator = false;
  dataplane::shm::Endpoint endpoint;  // kEndpointChanged, kHandshakeComplete: the peer's endpoint
  const char* detail = "";            // static string
  unsigned attempt = 0;               // kHandshakeInitiated "retry": the retry's number (1..)
};

// Where events go; a null `fn` drops them.
struct EventSink {
  void (*fn)(void* ctx, const DeviceEvent& event) = nullptr;
  void* ctx = nullptr;
};

struct DeviceOptions {
  timers::JitterSource jitter = random_jitter();  // tests inject {} (none) or a constant
  EventSink events;
  WallClock wall_clock;
  // Candidate receiver indices; null draws from libsodium. Tests inject one to
  // prove that adopted indices are never handed out again.
  peers::IndexTable::Rng index_rng;
};

// Why a datagram or event was dropped, declared once as (symbol, "text").
#define WS_DEVICE_DROPS(X)                                                                \
  X(kMalformed, "malformed")                     /* wrong type or size, bad source */     \
  X(kBadMac, "bad_mac1")                         /* mac1 does not verify */               \
  X(kRateLimited, "rate_limited")                /* under load, source over its budget */ \
  X(kNotForUs, "initiation_not_for_us")          /* static key does not decrypt */        \
  X(kUnknownPeer, "unknown_peer")                /* static key not configured */          \
  X(kReplay, "replayed_initiation")              /* timestamp not newer */                \
  X(kFlood, "initiation_flood")                  /* > 50 initiations/s from the peer */   \
  X(kBadInitiation, "bad_initiation")            /* timestamp does not decrypt, etc. */   \
  X(kInitiationFailed, "initiation_not_created") /* ours: e.g. low-order peer key */      \
  X(kUnknownIndex, "unknown_receiver_index")     /* no handshake in flight with it */     \
  X(kBadResponse, "bad_response")                /* response does not authenticate */     \
  X(kBadCookieReply, "bad_cookie_reply")         /* cookie does not decrypt */            \
  X(kIndexExhausted, "index_exhausted")                                                   \
  X(kBadEvent, "bad_event")     /* unknown kind, peer or body */                          \
  X(kStaleEvent, "stale_event") /* names a keypair we no longer hold */

enum class DeviceDrop : uint8_t {
#define WS_DEVICE_DROP_ENUM(sym, text) sym,
  WS_DEVICE_DROPS(WS_DEVICE_DROP_ENUM)
#undef WS_DEVICE_DROP_ENUM
      kCount
};
inline constexpr unsigned kDeviceDropCount = static_cast<unsigned>(DeviceDrop::kCount);
const char* device_drop_name(DeviceDrop drop) noexcept;

struct DeviceStats {
  uint64_t drops[kDeviceDropCount] = {};
  uint64_t initiations_received = 0;  // processed into a response
  uint64_t responses_received = 0;    // consumed into a keypair
  uint64_t cookie_replies_received = 0;
  uint64_t initiations_sent = 0;
  uint64_t initiations_without_endpoint = 0;  // wanted, but the peer has no endpoint
  uint64_t responses_sent = 0;
  uint64_t cookie_replies_sent = 0;
  uint64_t handshakes_as_initiator = 0;
  uint64_t handshakes_as_responder = 0;  // responses sent (keypair installed as next)
  uint64_t keypairs_confirmed = 0;       // responder keypairs promoted by first data
  uint64_t keypairs_cleared = 0;         // kCmdKeypairsClear sent

  uint64_t drop(DeviceDrop d) const noexcept { return drops[static_cast<unsigned>(d)]; }
  uint64_t total_drops() const noexcept;
};

// Read-only view of one peer (status output, UAPI, tests).
struct PeerView {
  bool live = false;  // false: the slot is free (never used, or removed); nothing else is set
  std::string name;
  crypto::PublicKey public_key{};
  dataplane::shm::Endpoint endpoint;
  bool has_current = false;  // a confirmed keypair not past kRejectAfterTime
  uint32_t current_local_index = 0;
  bool has_next = false;  // responder keypair awaiting confirmation
  uint32_t next_local_index = 0;
  bool has_previous = false;
  bool handshake_in_flight = false;     // our initiation awaits a response
  Nanos last_handshake_ns = 0;          // monotonic; 0 = never
  uint64_t last_handshake_wall_ns = 0;  // Unix ns, for `wg show latest-handshakes`
  unsigned handshake_attempts = 0;
  uint16_t persistent_keepalive = 0;
  std::vector<config::Prefix> allowed_ips;  // in the order they were added
  bool has_preshared_key = false;           // the key itself: Device::preshared_key()
};

class Device {
 public:
  // Copies what it needs out of `cfg`: the private key and the peers. Peer
  // slot i is cfg.peers[i]. kInvalidArgument for more than kMaxPeers peers, a
  // duplicate public key, a peer whose key is the device's own, an invalid
  // prefix or endpoint (load_config never produces those; hand-built ones may).
  static Result<std::unique_ptr<Device>> create(const config::Config& cfg, DeviceOptions opts);

  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  // kCmdPeerSet (+ kCmdEndpointSet when an endpoint is configured) and one
  // kCmdAllowedIpAdd per prefix, for every peer; arms persistent keepalives.
  // After a restart call adopt() first: a peer adopted with an endpoint keeps
  // it (the roamed endpoint wins over the configured one, as in the kernel).
  void install_peers(Nanos now, Outbox& out);

  // After a control-plane restart: what the dataplane already holds for slot
  // `peer`. Reserves the local indices, mirrors the keypair roles and primes
  // the timers (session derived at birth_ns) so that rekey, expiry and wipe
  // happen on the session's schedule. Emits nothing. Call right after
  // create() and before install_peers(), once per peer the dataplane holds.
  void adopt(uint32_t peer, const AdoptedPeer& state, Nanos now);
  void adopt(uint32_t peer, const std::optional<AdoptedKeypair>& current, Nanos now);

  // A handshake-class datagram (types 1-3) punted from the listen port, UDP
  // payload only; `from` = its source address and port. `under_load`: the
  // glue saw the punt ring deep (design-brief §4). Malformed or
  // unauthenticated input is dropped and counted, never more.
  void on_handshake_datagram(std::span<const uint8_t> datagram,
                             const dataplane::shm::Endpoint& from, bool under_load, Nanos now,
                             Outbox& out);

  // A message from the event ring (kEventNeedHandshake, kEventKeypairConfirmed,
  // kEventEndpointChanged, kEventRekeyWanted); other kinds count as kBadEvent.
  void on_event(const dataplane::shm::RingMessage& event, Nanos now, Outbox& out);

  // The peer's counters as of `now`. The first call per peer only records the
  // baseline (the counters are cumulative since the dataplane started, which
  // may be long before this process); later calls turn the deltas into timer
  // events. Counters that went backwards (dataplane restarted) re-baseline.
  void on_traffic(uint32_t peer, const PeerTraffic& traffic, Nanos now, Outbox& out);

  // Fires every due timer of every peer.
  void tick(Nanos now, Outbox& out);
  // Earliest pending timer deadline, timers::kNever when none. The glue asks
  // on every pass of its loop; the walk over every peer is only redone after
  // a call that may have moved a timer (every public non-const member marks
  // it), so an idle gateway of 10,000 peers does not walk them 2,000 times a
  // second.
  Nanos next_deadline() const;
  // The same, always by walking every peer (tests compare the two).
  Nanos scan_deadlines() const;

  // Starts a handshake now, past the one-per-kRekeyTimeout rate limit (CLI,
  // tests). Restarts the attempt count.
  void force_rekey(uint32_t peer, Nanos now, Outbox& out);

  // --- runtime configuration (UAPI set, SIGHUP reload): device_config.cpp -
  // Each applies at once and emits only the commands that change something;
  // other peers' sessions are never touched. Slots are the dataplane's peer
  // slots: a removed peer's slot is free for the next add (lowest first).

  // kInvalidArgument when the key is configured already, is the device's own
  // public key, or a prefix/endpoint is invalid; kExhausted when all kMaxPeers
  // slots are taken. Nothing changes on error. A prefix another peer holds
  // moves to the new peer (as in the kernel). Emits what install_peers emits
  // for it, and kPeerAdded.
  Result<uint32_t> add_peer(const config::PeerConfig& peer, Nanos now, Outbox& out);
  // Withdraws its routes, keypairs and indices (kCmdPeerRemove), forgets it.
  // A slot that is not live is ignored (so are unknown slots in the setters).
  void remove_peer(uint32_t peer, Nanos now, Outbox& out);
  // The configured endpoint; the dataplane's current one becomes it at once
  // (kCmdEndpointSet unless the mirrored current endpoint is that already).
  // An address family other than 4 or 6 is ignored.
  void set_endpoint(uint32_t peer, const config::Endpoint& endpoint, Nanos now, Outbox& out);
  // Used from the next handshake on; the sessions in place stay (as the kernel).
  void set_preshared_key(uint32_t peer, const std::optional<crypto::Key>& key, Nanos now);
  // 0 = off. Re-arms (or disarms) the persistent-keepalive timer; a newly
  // enabled keepalive is sent at once, as the kernel does.
  void set_persistent_keepalive(uint32_t peer, uint16_t seconds, Nanos now, Outbox& out);
  // Replaces the allowed IPs by `prefixes`, emitting only the difference, so
  // that a prefix in both the old and new list is never withdrawn. A prefix
  // another peer holds moves to this one (one kCmdAllowedIpAdd: the dataplane
  // moves it; nothing is withdrawn from the other peer). Prefixes are
  // canonicalised; invalid ones (the loader and UAPI parser never produce
  // them) are skipped.
  void set_allowed_ips(uint32_t peer, const std::vector<config::Prefix>& prefixes, Nanos now,
                       Outbox& out);
  void add_allowed_ips(uint32_t peer, const std::vector<config::Prefix>& prefixes, Nanos now,
                       Outbox& out);
  // A new identity: every peer's precomputed static-static DH is redone,
  // handshakes in flight are abandoned and every session is cleared (new
  // handshakes follow on traffic), as the kernel does. A peer whose public key
  // equals the new public key is removed. Same key as now: no change at all.
  void set_private_key(const crypto::PrivateKey& key, Nanos now, Outbox& out);

  // Makes peers and identity equal to `cfg`'s, as `wg syncconf` does: peers
  // absent from cfg are removed, new ones added, changed ones updated field by
  // field (an unchanged peer emits nothing and keeps its sessions). An
  // endpoint is applied only when the configured endpoint changed, so a peer
  // that roamed stays where it roamed to. The caller has validated cfg whole.
  void sync(const config::Config& cfg, Nanos now, Outbox& out);

  // Upper bound of slot numbers in use (slots below it may be free: peer_live).
  uint32_t peer_count() const noexcept { return static_cast<uint32_t>(peers_.size()); }
  bool peer_live(uint32_t peer) const noexcept {
    return peer < peers_.size() && peers_[peer] != nullptr;
  }
  std::optional<uint32_t> find_peer(const crypto::PublicKey& public_key) const;
  // The peer's preshared key, empty when none (UAPI get and showconf only).
  std::optional<crypto::Key> preshared_key(uint32_t peer) const;
  const crypto::PrivateKey& private_key() const noexcept;
  PeerView peer_view(uint32_t peer) const;
  const DeviceStats& stats() const noexcept { return stats_; }
  const crypto::PublicKey& public_key() const noexcept { return identity_.public_key; }

 private:
  // A keypair the dataplane holds for a peer, as far as the control plane
  // needs to know it (the keys themselves went to the dataplane).
  struct KeypairRecord {
    uint32_t local_index = 0;
    uint32_t remote_index = 0;
    Nanos birth = 0;
    bool we_initiated = false;
  };

  struct Peer {
    uint32_t slot = 0;
    std::string name;
    crypto::PublicKey public_key{};
    std::optional<dataplane::shm::Endpoint> configured_endpoint;
    std::vector<config::Prefix> allowed_ips;
    uint16_t persistent_keepalive = 0;

    std::unique_ptr<noise::Handshake> handshake;
    std::unique_ptr<cookie::CookieMaker> cookie_maker;
    timers::PeerTimers timers;

    dataplane::shm::Endpoint endpoint;  // family 0: none known
    uint32_t handshake_index = 0;       // index of our initiation in flight, 0 = none
    std::optional<KeypairRecord> current, previous, next;
    Nanos last_handshake = 0;
    uint64_t last_handshake_wall = 0;
    std::optional<PeerTraffic> traffic;  // last seen by on_traffic
    bool adopted_endpoint = false;
    std::optional<crypto::Key> preshared_key;  // mirror of the handshake's, for UAPI get
    bool up = false;                           // kPeerUp reported, kPeerDown not yet

    explicit Peer(timers::JitterSource jitter) : timers(jitter) {}
  };

  Device(crypto::PrivateKey private_key, DeviceOptions opts, ratelimit::RateLimiter limiter);

  // --- device.cpp: keypair mirror, timers, events -------------------------
  Peer* live(uint32_t slot) noexcept { return peer_live(slot) ? peers_[slot].get() : nullptr; }
  const Peer* live(uint32_t slot) const noexcept {
    return peer_live(slot) ? peers_[slot].get() : nullptr;
  }
  void notify(DeviceEventKind kind, const Peer* peer, const char* detail = "") const;
  void notify(const DeviceEvent& event) const;
  void mark_up(Peer& peer);
  void mark_down(Peer& peer, const char* why);
  uint32_t draw_index();
  void release_index(uint32_t index);
  void drop_keypair(std::optional<KeypairRecord>& slot);
  void add_keypair(Peer& peer, const KeypairRecord& fresh);
  void confirm_next(Peer& peer, Nanos now);
  void clear_keypairs(Peer& peer, Nanos now, Outbox& out, const char* why);
  void expire_keypairs(Peer& peer, Nanos now, Outbox& out);
  void wipe_peer(Peer& peer, Nanos now, Outbox& out);
  // `why`: the kHandshakeInitiated detail should the actions send one.
  void apply(Peer& peer, timers::Actions actions, Nanos now, Outbox& out, const char* why);
  void request_handshake(Peer& peer, Nanos now, Outbox& out, const char* why);
  void adopt_keypair(std::optional<KeypairRecord>& slot, const std::optional<AdoptedKeypair>& k);
  uint64_t wall_now_ns() const;
  void count(DeviceDrop d) noexcept { ++stats_.drops[static_cast<unsigned>(d)]; }

  // --- device_config.cpp: peers made, installed and changed ---------------
  // A Peer for `pc` in `slot`, not yet in peers_ or by_public_key_.
  std::unique_ptr<Peer> make_peer(const config::PeerConfig& pc, uint32_t slot);
  // kInvalidArgument unless `pc` can be added (keys, prefixes, endpoint).
  Result<void> check_peer(const config::PeerConfig& pc) const;
  // kCmdPeerSet (+ endpoint), the prefixes, the persistent keepalive.
  void install_peer(Peer& peer, Nanos now, Outbox& out);
  // Records `prefix` (canonical) as `peer`'s, taking it from any other peer
  // (reported as kPeerChanged "allowed ips" there). False when `peer` has it.
  bool take_prefix(Peer& peer, const config::Prefix& prefix);
  static void push_allowed_ip(Outbox& out, uint32_t slot, const config::Prefix& prefix, bool add,
                              Nanos now);
  void set_name(Peer& peer, const std::string& name);

  // --- device_handshake.cpp: the handshake messages ------------------------
  // `why`: the kHandshakeInitiated detail.
  void send_initiation(Peer& peer, Nanos now, Outbox& out, const char* why);
  void on_initiation(std::span<const uint8_t> datagram, const dataplane::shm::Endpoint& from,
                     Nanos now, Outbox& out);
  void on_response(std::span<const uint8_t> datagram, const dataplane::shm::Endpoint& from,
                   Nanos now, Outbox& out);
  void on_cookie_reply(std::span<const uint8_t> datagram, Nanos now);
  void send_cookie_reply(std::span<const uint8_t> datagram, const dataplane::shm::Endpoint& from,
                         Nanos now, Outbox& out);
  void emit_keypair(Peer& peer, const noise::SessionKeys& keys, Nanos now, Outbox& out);

  noise::StaticIdentity identity_;
  DeviceOptions opts_;
  cookie::CookieChecker checker_;
  ratelimit::RateLimiter limiter_;
  // Indices the dataplane holds from before a restart: never drawn again.
  std::unordered_set<uint32_t> reserved_indices_;
  peers::IndexTable indices_;
  std::vector<std::unique_ptr<Peer>> peers_;
  // next_deadline()'s cache; stale after anything that may move a timer.
  mutable Nanos next_deadline_ = timers::kNever;
  mutable bool deadline_stale_ = true;
  void deadlines_changed() noexcept { deadline_stale_ = true; }
  std::map<crypto::PublicKey, uint32_t> by_public_key_;
  // Which peer holds each allowed IP (canonical): one owner per prefix.
  std::map<config::Prefix, uint32_t> prefix_owner_;
  DeviceStats stats_;
};

}  // namespace wirespeed::controlplane::device
