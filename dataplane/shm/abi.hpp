// The shared-memory ABI between wirespeed-dataplane (DPDK primary) and
// wirespeed-controlplane (DPDK secondary): one memzone holding the tables the
// workers read and the counters they write, and three rings of fixed-size
// messages. Everything here is plain data at fixed offsets: no pointers cross
// the process boundary (the two processes map hugepages at the same virtual
// addresses, but a secondary that restarts must be able to trust nothing but
// indices). The layout is versioned by StateHeader; a control plane that finds
// another magic, version or any struct size refuses to start.
//
// Who writes what:
//   StateHeader        dataplane main lcore (heartbeat), control plane (its pid)
//   PeerSlot/Keypair   dataplane main lcore only (single writer); workers read,
//                      and write only the per-keypair send counter, replay
//                      window (under its lock), the peer's endpoint (seqlock,
//                      roaming) and the "raised" flags below
//   counters           each lcore its own row; the control plane reads
//   neighbours         dataplane main lcore only; workers read lock-free
//
// Deviation from design-brief §1, recorded in docs/architecture.md: the punt
// and command rings carry copies of frames, not mbufs. A control plane killed
// while holding punted mbufs would leak them from the pool for good, and the
// mempool's per-lcore caches are indexed by lcore id across processes. Punted
// traffic is small (handshakes, ARP/ND, echo), so the copy costs nothing that
// matters, and the secondary never touches an mbuf.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "dataplane/replay/replay_window.hpp"

namespace wirespeed::dataplane::shm {

inline constexpr uint64_t kAbiMagic = 0x31764D4853505357ULL;  // "WSPSHMv1", little-endian
// 2: per-lcore busy/total TSC cycles, lcore ids and TSC rate in the header,
//    kCmdListenPortSet.
// 3: finer drop reasons (truncated ... unknown_ethertype): LcoreCounters grew.
// 4: ControlplaneCounters at the end of the zone.
// 5: kMaxPeers 1024 -> 16384 (every array sized by it moved), StageBudget.
inline constexpr uint32_t kAbiVersion = 5;

// Names are prefixed by DPDK's --file-prefix already, so they are fixed.
inline constexpr char kStateZoneName[] = "ws_state";
inline constexpr char kPuntRingName[] = "ws_punt";        // dataplane -> control plane: frames
inline constexpr char kEventRingName[] = "ws_events";     // dataplane -> control plane: events
inline constexpr char kCommandRingName[] = "ws_commands"; // control plane -> dataplane

// 16384 peers: a gateway of 10,000 configured peers with headroom. The zone
// costs ~7.6 KiB per peer slot, configured or not: one PeerSlot (1.3 KiB,
// 1 KiB of it the staging queue), four KeypairSlots (1.3 KiB each, 1 KiB of
// it the replay window) and a PeerCounters row per lcore (17 x 64 B), so
// about 122 MiB of hugepages in all (scripts/scale.sh prints the figure).
inline constexpr uint32_t kMaxPeers = 16384;
// current, previous, next, plus one being reclaimed after an RCU grace period.
inline constexpr uint32_t kKeypairsPerPeer = 4;
inline constexpr uint32_t kMaxKeypairs = kMaxPeers * kKeypairsPerPeer;
// Counter rows: row 0 is the main lcore, rows 1..kMaxWorkers the workers.
inline constexpr uint32_t kMaxWorkers = 16;
inline constexpr uint32_t kCounterRows = kMaxWorkers + 1;
inline constexpr uint32_t kNeighbourSlots = 1024;  // per port, open addressing, power of two
inline constexpr uint32_t kRingSize = 1024;        // messages per ring (power of two)
inline constexpr uint32_t kStageMax = 128;         // packets held per peer while a handshake is pending
// Packets held over all peers together. Without it the mbuf pool had to hold
// kStageMax for every configured peer (1.3 million mbufs, ~3 GB, for 10,000
// peers); with it the pool reserves this many (64 full queues, ~18 MB) and a
// LAN host sending to many peers that have no session gets stage_full, not
// an mbuf pool drained for everybody.
inline constexpr uint32_t kStagedTotalMax = 8192;
inline constexpr uint32_t kNoPeer = UINT32_MAX;
inline constexpr int32_t kNoKeypair = -1;

enum class PortRole : uint8_t { kOuter = 0, kInner = 1 };
inline constexpr unsigned kPortCount = 2;

// A peer's UDP endpoint. family 0 = none (the peer has not been heard from
// and has no configured endpoint). port in host byte order; v4 address in
// the first 4 bytes of addr, the rest zero.
struct Endpoint {
  uint8_t family = 0;
  uint8_t reserved = 0;
  uint16_t port = 0;
  uint8_t addr[16] = {};
};
static_assert(sizeof(Endpoint) == 20);

inline bool operator==(const Endpoint& a, const Endpoint& b) noexcept {
  if (a.family != b.family || a.port != b.port) return false;
  for (unsigned i = 0; i < 16; ++i)
    if (a.addr[i] != b.addr[i]) return false;
  return true;
}

// A single-writer-at-a-time sequence lock for a small value that readers on
// other lcores copy out (the endpoint: rarely written, read per burst).
// Writers must be serialised by the caller (see PeerSlot::endpoint_writer).
struct SeqCount {
  std::atomic<uint32_t> sequence{0};

  uint32_t read_begin() const noexcept {
    uint32_t s;
    while ((s = sequence.load(std::memory_order_acquire)) & 1U) {
    }
    return s;
  }
  bool read_retry(uint32_t begin) const noexcept {
    std::atomic_thread_fence(std::memory_order_acquire);
    return sequence.load(std::memory_order_relaxed) != begin;
  }
  void write_begin() noexcept {
    sequence.store(sequence.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
  }
  void write_end() noexcept { sequence.fetch_add(1, std::memory_order_release); }
};

// A tiny test-and-set lock usable in shared memory by both processes
// (rte_spinlock_t is the same thing; this keeps the header free of EAL).
struct SpinLock {
  std::atomic<uint32_t> word{0};
  void lock() noexcept {
    while (word.exchange(1, std::memory_order_acquire) != 0) {
      while (word.load(std::memory_order_relaxed) != 0) __builtin_ia32_pause();
    }
  }
  bool try_lock() noexcept { return word.exchange(1, std::memory_order_acquire) == 0; }
  void unlock() noexcept { word.store(0, std::memory_order_release); }
};

// A counter that exactly one lcore writes and anyone reads: a relaxed
// load+store (a plain add), never a locked read-modify-write.
struct Counter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n) noexcept {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) noexcept { value.store(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return value.load(std::memory_order_relaxed); }
};

enum class SlotState : uint32_t { kFree = 0, kLive = 1, kRetiring = 2 };

// One session's keys (design-brief §2 "Keypairs"). Installed by the main lcore,
// found by workers through the receiver-index hash. The keys are secrets:
// the slot is wiped when it is reclaimed.
struct alignas(64) KeypairSlot {
  std::atomic<SlotState> state{SlotState::kFree};
  uint32_t peer = kNoPeer;
  uint32_t local_index = 0;   // receiver index peers put in messages to us
  uint32_t remote_index = 0;  // receiver index we put in messages to the peer
  uint64_t birth_ns = 0;      // CLOCK_MONOTONIC when the session was derived
  uint8_t we_initiated = 0;
  // Set by the first worker that authenticates a packet under this keypair
  // while it is the peer's `next`; it then asks the main lcore to rotate.
  std::atomic<uint8_t> confirm_raised{0};
  // Set once when the data path saw this keypair near its rekey limits.
  std::atomic<uint8_t> rekey_raised{0};
  uint8_t reserved[5] = {};
  uint8_t send_key[32] = {};
  uint8_t receive_key[32] = {};
  // Nonces are reserved by fetch_add, a whole burst at a time (encap).
  alignas(64) std::atomic<uint64_t> send_counter{0};
  alignas(64) SpinLock replay_lock;  // held for update() only; check() reads without it
  replay::ReplayWindow replay;
};

enum class PeerState : uint32_t { kFree = 0, kActive = 1, kRetiring = 2 };

struct PeerSlot;
// The peer's endpoint, copied out under its sequence lock (any lcore, either
// process) / written by one writer at a time (see PeerSlot::endpoint_writer).
inline Endpoint read_endpoint(const PeerSlot& peer) noexcept;
inline void write_endpoint(PeerSlot& peer, const Endpoint& endpoint) noexcept;

struct alignas(64) PeerSlot {
  std::atomic<PeerState> state{PeerState::kFree};
  uint32_t generation = 0;  // bumped each time the slot is (re)used
  uint8_t public_key[32] = {};
  // Keypair slot numbers (index into StateZone::keypairs) or kNoKeypair.
  std::atomic<int32_t> current{kNoKeypair};
  std::atomic<int32_t> previous{kNoKeypair};
  std::atomic<int32_t> next{kNoKeypair};
  uint32_t reserved0 = 0;
  // Written by the main lcore when it installs a keypair: what `--show` and
  // a restarted control plane report as the peer's handshakes.
  Counter handshakes;
  Counter last_handshake_ns;  // CLOCK_MONOTONIC birth of the newest keypair

  // The endpoint: written by the main lcore (configuration, handshakes) and by
  // workers (roaming on an authenticated data packet), serialised by
  // endpoint_writer; read by encap under endpoint_seq.
  alignas(64) SpinLock endpoint_writer;
  SeqCount endpoint_seq;
  Endpoint endpoint;

  // Last time (CLOCK_MONOTONIC ns) a "needs handshake" event was raised, so a
  // burst of staged packets raises one event, not one per packet.
  alignas(64) std::atomic<uint64_t> handshake_wanted_ns{0};

  // Packets waiting for a keypair (primary-local mbuf pointers: only the
  // dataplane process touches these). Slow path, so a lock is fine here.
  alignas(64) SpinLock stage_lock;
  uint32_t staged_count = 0;
  uint64_t staged[kStageMax] = {};  // struct rte_mbuf* stored as integers
};

inline Endpoint read_endpoint(const PeerSlot& peer) noexcept {
  Endpoint e;
  uint32_t seq;
  do {
    seq = peer.endpoint_seq.read_begin();
    e = peer.endpoint;
  } while (peer.endpoint_seq.read_retry(seq));
  return e;
}

inline void write_endpoint(PeerSlot& peer, const Endpoint& endpoint) noexcept {
  peer.endpoint_writer.lock();
  peer.endpoint_seq.write_begin();
  peer.endpoint = endpoint;
  peer.endpoint_seq.write_end();
  peer.endpoint_writer.unlock();
}

// Drop reasons, declared once as (symbol, "text"): the enum and the names
// the control plane prints come from the same list. The parse failures
// (truncated .. unknown_ethertype) are net::FrameDefect's verdicts, worked
// out only on the drop branch (pipeline::frame_drop_reason); what each means
// to an operator is docs/operating.md's drop table.
#define WS_DROP_REASONS(X)                                                            \
  X(kMalformed, "malformed")                /* in several mbuf segments */            \
  X(kTruncated, "truncated")                /* a header cut short: Eth/ARP/IP/UDP */  \
  X(kBadIpHeader, "bad_ip_header")          /* IP version != EtherType's, IHL < 5 */  \
  X(kBadIpLength, "bad_ip_length")          /* IP length < header or > frame */       \
  X(kBadUdpLength, "bad_udp_length")        /* UDP length < 8 or > IP payload */      \
  X(kFragment, "fragment")                  /* outer fragment: never reassembled */   \
  X(kVlan, "vlan")                          /* 802.1Q/802.1ad tag: untagged ports */  \
  X(kUnknownEtherType, "unknown_ethertype") /* not IPv4, IPv6 or ARP */               \
  X(kNotForUs, "not_for_us")                /* not our MAC/IP/port, not punted */     \
  X(kBadMessage, "bad_message")             /* WireGuard type/size wrong */           \
  X(kUnknownIndex, "unknown_receiver_index")                                          \
  X(kKeypairExpired, "keypair_expired")     /* past reject-after time/messages */     \
  X(kReplay, "replay")                                                                \
  X(kBadMac, "bad_mac")                     /* AEAD tag did not verify */             \
  X(kBadInner, "bad_inner_packet")          /* decrypted bytes are not IP */          \
  X(kSourceNotAllowed, "source_not_allowed")                                          \
  X(kNoRoute, "no_route")                   /* encap: no peer for destination */      \
  X(kNoEndpoint, "no_endpoint")             /* peer has no endpoint yet */            \
  X(kNoKeypair, "no_keypair")               /* keypair gone while staged */           \
  X(kStageFull, "stage_full")                                                         \
  X(kNoNeighbour, "no_neighbour")           /* next hop MAC unknown */                \
  X(kTooBig, "too_big")                     /* exceeds MTU / punt frame size */       \
  X(kRingFull, "ring_full")                                                           \
  X(kMbufExhausted, "mbuf_exhausted")                                                 \
  X(kTxFull, "tx_full")                     /* NIC TX queue did not take it */

enum class DropReason : uint8_t {
#define WS_DROP_ENUM(sym, text) sym,
  WS_DROP_REASONS(WS_DROP_ENUM)
#undef WS_DROP_ENUM
      kCount
};
inline constexpr unsigned kDropReasonCount = static_cast<unsigned>(DropReason::kCount);
const char* drop_reason_name(DropReason reason) noexcept;

struct alignas(64) PortCounters {
  Counter rx_packets, rx_bytes, tx_packets, tx_bytes;
};

struct alignas(64) LcoreCounters {
  PortCounters port[kPortCount];
  Counter decrypted, encrypted, punted, staged, keepalives_received;
  Counter drops[kDropReasonCount];
  Counter loops;  // worker loop iterations (liveness)
  // TSC cycles spent in loop passes that received at least one packet, and in
  // all passes: busy_tsc / total_tsc is the lcore's busy ratio.
  Counter busy_tsc, total_tsc;
};

struct alignas(64) PeerCounters {
  Counter rx_packets, rx_bytes;  // authenticated data messages (bytes: outer UDP payload)
  Counter tx_packets, tx_bytes;
  Counter last_rx_ns;        // last authenticated packet, keepalives included
  Counter last_rx_data_ns;   // last one that carried data
  Counter last_tx_ns;
  Counter last_tx_data_ns;
};

// One neighbour: IP -> MAC. Keys are inserted and never removed (a gateway's
// neighbours are a bounded set); the MAC is replaced atomically.
struct NeighbourEntry {
  std::atomic<uint64_t> mac{0};    // bit 63 set = valid; low 48 bits the MAC (byte 0 lowest)
  std::atomic<uint8_t> used{0};    // published after family/addr are written
  uint8_t family = 0;
  uint8_t reserved[6] = {};
  uint8_t addr[16] = {};
};
static_assert(sizeof(NeighbourEntry) == 32);
inline constexpr uint64_t kNeighbourValid = 1ULL << 63;

struct alignas(64) PortInfo {
  uint8_t mac[6] = {};
  uint16_t ethdev_port = 0;
  uint16_t queues = 0;
  uint16_t mtu = 0;  // L3 MTU of the port
};

struct alignas(64) StateHeader {
  uint64_t magic = kAbiMagic;
  uint32_t abi_version = kAbiVersion;
  uint32_t header_size = sizeof(StateHeader);
  uint32_t zone_size = 0;  // sizeof(StateZone), filled by the creator
  uint32_t peer_size = sizeof(PeerSlot);
  uint32_t keypair_size = sizeof(KeypairSlot);
  uint32_t lcore_counters_size = sizeof(LcoreCounters);
  uint32_t peer_counters_size = sizeof(PeerCounters);
  uint32_t ring_message_size = 0;  // sizeof(RingMessage), filled by the creator
  uint32_t max_peers = kMaxPeers;
  uint32_t drop_reasons = kDropReasonCount;
  uint32_t dataplane_pid = 0;
  std::atomic<uint32_t> controlplane_pid{0};
  uint32_t worker_count = 0;
  // Written by the creator at start and by the main lcore on kCmdListenPortSet.
  std::atomic<uint32_t> listen_port{0};
  uint64_t tsc_hz = 0;  // rte_get_tsc_hz() of the dataplane
  // EAL lcore id of each counter row (row 0 the main lcore, 1.. the workers).
  uint16_t lcore_ids[kCounterRows] = {};
  std::atomic<uint64_t> heartbeat_ns{0};  // main lcore, every loop; CLOCK_MONOTONIC; 0: stopping
  uint64_t started_ns = 0;
  PortInfo ports[kPortCount];
};

// What the control plane counts (handshake messages, its drops, its flood
// handling), published for `--show` by the control plane's main thread (the
// one writer) as absolute values since that control plane started. Slot
// meanings and names belong to the control plane (controlplane/app/status.cpp);
// the dataplane only zeroes the block when it creates the zone.
inline constexpr uint32_t kControlplaneCounterSlots = 64;
struct alignas(64) ControlplaneCounters {
  Counter value[kControlplaneCounterSlots];
};

// Packets staged over all peers (<= kStagedTotalMax): reserved by workers
// under a peer's stage_lock before they stage, released by whoever takes the
// packets out (the main lcore). Slow path only; one shared line is fine.
struct alignas(64) StageBudget {
  std::atomic<uint32_t> staged{0};

  // Reserves up to `want` packets; returns how many it got.
  uint32_t reserve(uint32_t want) noexcept {
    uint32_t cur = staged.load(std::memory_order_relaxed);
    uint32_t got;
    do {
      got = cur >= kStagedTotalMax ? 0 : std::min(want, kStagedTotalMax - cur);
      if (got == 0) return 0;
    } while (!staged.compare_exchange_weak(cur, cur + got, std::memory_order_relaxed));
    return got;
  }
  // Saturates at zero: tests that place packets by hand never reserved them.
  void release(uint32_t n) noexcept {
    uint32_t cur = staged.load(std::memory_order_relaxed);
    while (!staged.compare_exchange_weak(cur, cur > n ? cur - n : 0, std::memory_order_relaxed)) {
    }
  }
};

struct StateZone {
  StateHeader header;
  StageBudget stage_budget;
  PeerSlot peers[kMaxPeers];
  KeypairSlot keypairs[kMaxKeypairs];
  LcoreCounters lcore_counters[kCounterRows];
  PeerCounters peer_counters[kCounterRows][kMaxPeers];
  NeighbourEntry neighbours[kPortCount][kNeighbourSlots];
  ControlplaneCounters controlplane_counters;
};

inline constexpr int32_t keypair_slot_number(uint32_t peer, uint32_t k) noexcept {
  return static_cast<int32_t>(peer * kKeypairsPerPeer + k);
}

// ---------------------------------------------------------------------------
// Ring messages. All three rings carry RingMessage elements (rte_ring_*_elem
// with esize = sizeof(RingMessage)); `kind` says which body follows.

enum class MessageKind : uint16_t {
  // punt ring (dataplane -> control plane): body = the whole Ethernet frame
  kPuntFrame = 1,

  // event ring (dataplane -> control plane)
  kEventNeedHandshake = 20,   // peer has packets staged and no usable keypair
  kEventKeypairConfirmed,     // body: EventKeypair; `next` became current
  kEventEndpointChanged,      // body: EventEndpoint; roaming moved the peer
  kEventNeighbourMiss,        // port + body: EventNeighbour; a next hop has no MAC
  kEventRekeyWanted,          // body: EventKeypair; current passed rekey-after messages

  // command ring (control plane -> dataplane)
  kCmdPeerSet = 40,       // body: CmdPeerSet; add or update a peer in slot `peer`
  kCmdPeerRemove,         // remove slot `peer` with its keypairs, routes and staged packets
  kCmdAllowedIpAdd,       // body: CmdAllowedIp
  kCmdAllowedIpRemove,    // body: CmdAllowedIp
  kCmdKeypairInstall,     // body: CmdKeypairInstall
  kCmdKeypairsClear,      // retire every keypair of `peer` (expiry, key wipe)
  kCmdNeighbourSet,       // port + body: CmdNeighbourSet
  kCmdTransmitFrame,      // port + body: a complete Ethernet frame to send as is
  kCmdTransmitUdp,        // body: CmdTransmitUdp; a WireGuard message to a peer
  kCmdSendKeepalive,      // send an empty data message to `peer` now
  kCmdEndpointSet,        // body: Endpoint; set `peer`'s endpoint
  kCmdFlushStaged,        // drop `peer`'s staged packets (handshake gave up)
  kCmdListenPortSet,      // body: CmdListenPort; the UDP port the gateway listens and sends on
};

struct EventKeypair {
  uint32_t local_index;
  uint32_t reserved;
  uint64_t send_counter;
};

// The new endpoint and the Ethernet source of the packet that moved it (the
// next hop's MAC towards the endpoint), so the control plane can install
// the neighbour without asking.
struct EventEndpoint {
  Endpoint endpoint;
  uint8_t mac[6];
  uint8_t reserved[2];
};

struct EventNeighbour {
  uint8_t family;
  uint8_t reserved[3];
  uint8_t addr[16];
};

struct CmdPeerSet {
  uint8_t public_key[32];
  Endpoint endpoint;  // family 0: keep the current one (none for a new peer)
};

struct CmdListenPort {
  uint16_t port;  // host byte order, 1..65535
  uint8_t reserved[2];
};

struct CmdAllowedIp {
  uint8_t family;
  uint8_t cidr;
  uint8_t reserved[2];
  uint8_t addr[16];
};

struct CmdKeypairInstall {
  uint32_t local_index;
  uint32_t remote_index;
  uint64_t birth_ns;
  uint8_t we_initiated;  // 1: becomes current at once; 0: becomes next until confirmed
  uint8_t reserved[7];
  uint8_t send_key[32];
  uint8_t receive_key[32];
};

struct CmdNeighbourSet {
  uint8_t family;
  uint8_t reserved;
  uint8_t mac[6];
  uint8_t addr[16];
};

struct CmdTransmitUdp {
  Endpoint destination;  // family 0: the peer's current endpoint
  uint16_t payload_len;
  uint8_t reserved[2];
  uint8_t payload[256];  // a handshake message (<= 148 bytes) or cookie reply
};

inline constexpr size_t kRingMessageSize = 2048;
inline constexpr size_t kRingHeaderSize = 32;
inline constexpr size_t kRingBodyMax = kRingMessageSize - kRingHeaderSize;

struct alignas(8) RingMessage {
  MessageKind kind;
  uint16_t length = 0;      // bytes of body in use
  uint32_t peer = kNoPeer;  // peer slot, when the kind has one
  uint8_t port = 0;         // PortRole, when the kind has one
  uint8_t reserved0[7] = {};
  uint64_t timestamp_ns = 0;  // CLOCK_MONOTONIC when it was made
  uint64_t peer_generation = 0;
  uint8_t body[kRingBodyMax];
};
static_assert(sizeof(RingMessage) == kRingMessageSize);
static_assert(offsetof(RingMessage, body) == kRingHeaderSize);
static_assert(kRingMessageSize % 4 == 0, "rte_ring element size must be a multiple of 4");
static_assert(std::is_trivially_copyable_v<CmdKeypairInstall>);
static_assert(sizeof(CmdTransmitUdp) <= kRingBodyMax);

// True when the header says the zone was made by a build with this ABI.
// On false, `why` points at a static string naming the first mismatch.
bool abi_matches(const StateHeader& header, const char** why) noexcept;

}  // namespace wirespeed::dataplane::shm
