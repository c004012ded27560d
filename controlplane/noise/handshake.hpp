// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (whitepaper §5.4).
//
// One Handshake per peer holds that peer's Noise state between messages and
// yields the transport keys. It knows nothing of sockets, timers, cookies or
// tables: the caller (control plane, handshake worker) finds the peer, checks
// mac1/mac2 with the cookie module, allocates indices, and hands the
// SessionKeys to the data path.
//
// Flow (I = initiator, R = responder):
//   I: create_initiation()                       -> message 1 (macs left zero)
//   R: open_initiation() with the device identity -> the initiator's static key
//   R: the peer with that key: consume_initiation() -> timestamp/flood checked
//   R: create_response()                          -> message 2 (macs left zero)
//   I: consume_response()
//   both: begin_session()                         -> send/receive keys, indices
//
// Not thread-safe: one handshake worker owns a peer's Handshake at a time.
#pragma once

#include <cstdint>
#include <optional>

#include "controlplane/crypto/blake2s.hpp"
#include "controlplane/crypto/x25519.hpp"
#include "controlplane/noise/tai64n.hpp"
#include "dataplane/base/result.hpp"
#include "dataplane/wire/constants.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::controlplane::noise {

using crypto::Hash;
using crypto::Key;
using crypto::PrivateKey;
using crypto::PublicKey;
using dataplane::wire::Nanos;

inline constexpr char kConstruction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
inline constexpr char kIdentifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

// The device's static key pair. Owned by the device; Handshakes borrow it.
struct StaticIdentity {
  PrivateKey private_key;
  PublicKey public_key{};

  static StaticIdentity from_private(PrivateKey key) noexcept;
};

// What a completed handshake gives the data path.
struct SessionKeys {
  Key send;
  Key receive;
  uint32_t local_index = 0;   // the index peers put in messages to us
  uint32_t remote_index = 0;  // the index we put in messages to the peer
  bool we_initiated = false;
};

// First half of consuming an initiation: done with the device identity only,
// before the peer is known (the static key inside names the peer).
struct OpenedInitiation {
  PublicKey remote_static{};
  PublicKey remote_ephemeral{};
  uint32_t remote_index = 0;
  Hash hash{};
  Key chaining_key;
  uint8_t encrypted_timestamp[kTai64nLen + dataplane::wire::kTagLen] = {};
};

enum class HandshakeState : uint8_t {
  kZeroed,
  kCreatedInitiation,
  kConsumedInitiation,
  kCreatedResponse,
  kConsumedResponse,
};

class Handshake {
 public:
  // `identity` must outlive the Handshake. A zero preshared key means none
  // (the protocol mixes 32 zero bytes then, as every implementation does).
  Handshake(const StaticIdentity& identity, const PublicKey& remote_static) noexcept;
  Handshake(const Handshake&) = delete;
  Handshake& operator=(const Handshake&) = delete;

  void set_preshared_key(Key psk) noexcept { preshared_key_ = std::move(psk); }
  // The device's private key changed: recompute the static-static DH and
  // drop any handshake in flight (its keys derive from the old identity).
  void set_identity(const StaticIdentity& identity) noexcept;

  const PublicKey& remote_static() const noexcept { return remote_static_; }
  HandshakeState state() const noexcept { return state_; }
  uint32_t local_index() const noexcept { return local_index_; }
  const Tai64n& latest_timestamp() const noexcept { return latest_timestamp_; }

  // Initiator, message 1. `local_index` is the receiver index allocated for
  // this handshake. mac1/mac2 are left zero for the cookie module.
  Result<dataplane::wire::MessageInitiation> create_initiation(uint32_t local_index,
                                                               const Tai64n& timestamp) noexcept;

  // Responder, message 1, first half: es, then decrypt the initiator's static
  // key. Device-level: no peer state is touched.
  static Result<OpenedInitiation> open_initiation(const dataplane::wire::MessageInitiation& msg,
                                                  const StaticIdentity& identity) noexcept;

  // Responder, message 1, second half, on the peer whose public key is
  // opened.remote_static: ss, decrypt the timestamp, reject it unless newer
  // than the latest accepted (replay) and unless 1/50 s has passed since the
  // last accepted initiation (flood). `now` is monotonic.
  Result<Tai64n> consume_initiation(const OpenedInitiation& opened, Nanos now) noexcept;

  // Responder, message 2.
  Result<dataplane::wire::MessageResponse> create_response(uint32_t local_index) noexcept;

  // Initiator, message 2. The caller found this Handshake by the message's
  // receiver index; a response that fails leaves the state untouched, so a
  // forged response cannot abort a real handshake.
  Result<void> consume_response(const dataplane::wire::MessageResponse& msg) noexcept;

  // Both sides: derive the transport keys and clear the ephemeral state.
  Result<SessionKeys> begin_session() noexcept;

  // Forget the handshake in flight (not the peer's identity, psk, or the
  // replay timestamp).
  void clear() noexcept;

 private:
  const StaticIdentity* identity_;
  PublicKey remote_static_;
  Key preshared_key_;
  crypto::SharedSecret precomputed_static_static_;  // zero when remote key is low-order

  HandshakeState state_ = HandshakeState::kZeroed;
  Hash hash_{};
  Key chaining_key_;
  PrivateKey ephemeral_private_;
  PublicKey remote_ephemeral_{};
  uint32_t local_index_ = 0;
  uint32_t remote_index_ = 0;

  Tai64n latest_timestamp_{};
  std::optional<Nanos> last_initiation_consumption_;
};

}  // namespace wirespeed::controlplane::noise
