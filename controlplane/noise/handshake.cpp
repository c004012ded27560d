// Noise IKpsk2 message creation and consumption (controlplane/noise/handshake.hpp).
// Control plane, handshake worker. Each step is labelled with its Noise token
// as in the whitepaper §5.4.2–5.4.4.
#include "controlplane/noise/handshake.hpp"

#include <sodium.h>

#include <cstring>

#include "controlplane/crypto/aead.hpp"

namespace wirespeed::controlplane::noise {
namespace wire = dataplane::wire;
using crypto::kAeadTagLen;
using crypto::kHashLen;

namespace {

// Ci = HASH(construction), Hi = HASH(Ci || identifier): the same for every
// handshake, computed once.
struct InitialState {
  Hash chaining_key;
  Hash hash;
  InitialState() {
    chaining_key = crypto::hash({std::span(reinterpret_cast<const uint8_t*>(kConstruction),
                                           sizeof(kConstruction) - 1)});
    hash = crypto::hash({chaining_key, std::span(reinterpret_cast<const uint8_t*>(kIdentifier),
                                                 sizeof(kIdentifier) - 1)});
  }
};

const InitialState& initial_state() {
  static const InitialState state;
  return state;
}

// Start of both sides: ck = Ci, h = HASH(Hi || responder's static public key).
void handshake_init(Key& chaining_key, Hash& hash, std::span<const uint8_t, 32> responder_static) {
  const InitialState& init = initial_state();
  std::memcpy(chaining_key.data(), init.chaining_key.data(), kHashLen);
  hash = crypto::hash({init.hash, responder_static});
}

void mix_hash(Hash& hash, std::span<const uint8_t> data) { hash = crypto::hash({hash, data}); }

// ck = KDF1(ck, input)
void mix_key(Key& chaining_key, std::span<const uint8_t> input) {
  Key next;
  crypto::kdf1(next, chaining_key.bytes(), input);
  chaining_key = std::move(next);
}

// (ck, key) = KDF2(ck, DH(private, public)). Fails on a low-order public key.
Result<void> mix_dh(Key& chaining_key, Key* key, const PrivateKey& private_key,
                    std::span<const uint8_t, 32> public_key) {
  auto shared = crypto::dh(private_key, public_key);
  if (!shared) return shared.error();
  Key next;
  Key scratch;
  crypto::kdf2(next, key ? *key : scratch, chaining_key.bytes(), shared->bytes());
  chaining_key = std::move(next);
  return ok_result();
}

// The same with the precomputed static-static DH.
Result<void> mix_precomputed_dh(Key& chaining_key, Key& key, const crypto::SharedSecret& shared) {
  if (shared.is_zero()) return make_error(Errc::kBadKey, "noise: low-order peer static key");
  Key next;
  crypto::kdf2(next, key, chaining_key.bytes(), shared.bytes());
  chaining_key = std::move(next);
  return ok_result();
}

// (ck, tau, key) = KDF3(ck, psk); h = HASH(h || tau)
void mix_psk(Key& chaining_key, Hash& hash, Key& key, const Key& psk) {
  Key next;
  Key tau;
  crypto::kdf3(next, tau, key, chaining_key.bytes(), psk.bytes());
  chaining_key = std::move(next);
  mix_hash(hash, tau.bytes());
}

// dst = AEAD(key, 0, src, h); h = HASH(h || dst)
void message_encrypt(std::span<uint8_t> dst, std::span<const uint8_t> src, const Key& key, Hash& hash) {
  auto sealed = crypto::chacha20poly1305_seal(dst, src, hash, 0, key.bytes());
  (void)sealed;  // sizes are fixed by the message structs
  mix_hash(hash, dst);
}

// dst = AEAD-open(key, 0, src, h); h = HASH(h || src)
Result<void> message_decrypt(std::span<uint8_t> dst, std::span<const uint8_t> src, const Key& key,
                             Hash& hash) {
  auto opened = crypto::chacha20poly1305_open(dst, src, hash, 0, key.bytes());
  if (!opened) return opened;
  mix_hash(hash, src);
  return ok_result();
}

// e: the ephemeral public key goes into the hash and the chaining key.
void message_ephemeral(uint8_t* dst, std::span<const uint8_t, 32> ephemeral, Key& chaining_key,
                       Hash& hash) {
  if (dst != nullptr) std::memcpy(dst, ephemeral.data(), ephemeral.size());
  mix_hash(hash, ephemeral);
  mix_key(chaining_key, ephemeral);
}

}  // namespace

StaticIdentity StaticIdentity::from_private(PrivateKey key) noexcept {
  StaticIdentity id;
  id.public_key = crypto::public_key(key);
  id.private_key = std::move(key);
  return id;
}

Handshake::Handshake(const StaticIdentity& identity, const PublicKey& remote_static) noexcept
    : identity_(&identity), remote_static_(remote_static) {
  set_identity(identity);
}

void Handshake::set_identity(const StaticIdentity& identity) noexcept {
  identity_ = &identity;
  auto ss = crypto::dh(identity.private_key, remote_static_);
  if (ss) {
    precomputed_static_static_ = std::move(*ss);
  } else {
    precomputed_static_static_.wipe();
  }
  clear();
}

void Handshake::clear() noexcept {
  state_ = HandshakeState::kZeroed;
  sodium_memzero(hash_.data(), hash_.size());
  chaining_key_.wipe();
  ephemeral_private_.wipe();
  remote_ephemeral_.fill(0);
  local_index_ = 0;
  remote_index_ = 0;
}

Result<wire::MessageInitiation> Handshake::create_initiation(uint32_t local_index,
                                                             const Tai64n& timestamp) noexcept {
  if (precomputed_static_static_.is_zero()) {
    return make_error(Errc::kBadKey, "noise: low-order peer static key");
  }
  clear();
  wire::MessageInitiation msg{};
  msg.header = wire::make_header(wire::MessageType::kHandshakeInitiation);
  msg.sender_index.set(local_index);

  handshake_init(chaining_key_, hash_, remote_static_);

  /* e */
  ephemeral_private_ = crypto::generate_private_key();
  const PublicKey ephemeral_public = crypto::public_key(ephemeral_private_);
  message_ephemeral(msg.unencrypted_ephemeral, ephemeral_public, chaining_key_, hash_);

  /* es */
  Key key;
  if (auto r = mix_dh(chaining_key_, &key, ephemeral_private_, remote_static_); !r) {
    clear();
    return r.error();
  }

  /* s */
  message_encrypt(msg.encrypted_static, identity_->public_key, key, hash_);

  /* ss */
  if (auto r = mix_precomputed_dh(chaining_key_, key, precomputed_static_static_); !r) {
    clear();
    return r.error();
  }

  /* {t} */
  message_encrypt(msg.encrypted_timestamp, timestamp, key, hash_);

  local_index_ = local_index;
  state_ = HandshakeState::kCreatedInitiation;
  return msg;
}

Result<OpenedInitiation> Handshake::open_initiation(const wire::MessageInitiation& msg,
                                                    const StaticIdentity& identity) noexcept {
  OpenedInitiation opened;
  handshake_init(opened.chaining_key, opened.hash, identity.public_key);

  /* e */
  std::memcpy(opened.remote_ephemeral.data(), msg.unencrypted_ephemeral, 32);
  message_ephemeral(nullptr, opened.remote_ephemeral, opened.chaining_key, opened.hash);

  /* es */
  Key key;
  if (auto r = mix_dh(opened.chaining_key, &key, identity.private_key, opened.remote_ephemeral); !r) {
    return r.error();
  }

  /* s */
  if (auto r = message_decrypt(opened.remote_static, msg.encrypted_static, key, opened.hash); !r) {
    return make_error(Errc::kDecryptFailed, "noise: initiation static key does not decrypt");
  }

  opened.remote_index = msg.sender_index.get();
  std::memcpy(opened.encrypted_timestamp, msg.encrypted_timestamp, sizeof(opened.encrypted_timestamp));
  return opened;
}

Result<Tai64n> Handshake::consume_initiation(const OpenedInitiation& opened, Nanos now) noexcept {
  if (!crypto::equal_ct(opened.remote_static, remote_static_)) {
    return make_error(Errc::kUnknownPeer, "noise: initiation is for another peer");
  }
  Key chaining_key = opened.chaining_key.clone();
  Hash hash = opened.hash;

  /* ss */
  Key key;
  if (auto r = mix_precomputed_dh(chaining_key, key, precomputed_static_static_); !r) return r.error();

  /* {t} */
  Tai64n timestamp;
  if (auto r = message_decrypt(timestamp, opened.encrypted_timestamp, key, hash); !r) {
    return make_error(Errc::kDecryptFailed, "noise: initiation timestamp does not decrypt");
  }

  // An initiation must carry a newer timestamp than any accepted before, and
  // a peer gets at most kInitiationsPerSecond of them accepted.
  if (!tai64n_after(timestamp, latest_timestamp_)) {
    return make_error(Errc::kReplayed, "noise: initiation timestamp not newer than the last");
  }
  if (last_initiation_consumption_ &&
      now < *last_initiation_consumption_ + wire::kNanosPerSecond / wire::kInitiationsPerSecond) {
    return make_error(Errc::kRateLimited, "noise: initiations from this peer too frequent");
  }

  clear();
  hash_ = hash;
  chaining_key_ = std::move(chaining_key);
  remote_ephemeral_ = opened.remote_ephemeral;
  remote_index_ = opened.remote_index;
  latest_timestamp_ = timestamp;
  last_initiation_consumption_ = now;
  state_ = HandshakeState::kConsumedInitiation;
  return timestamp;
}

Result<wire::MessageResponse> Handshake::create_response(uint32_t local_index) noexcept {
  if (state_ != HandshakeState::kConsumedInitiation) {
    return make_error(Errc::kBadState, "noise: response without a consumed initiation");
  }
  wire::MessageResponse msg{};
  msg.header = wire::make_header(wire::MessageType::kHandshakeResponse);
  msg.sender_index.set(local_index);
  msg.receiver_index.set(remote_index_);

  /* e */
  ephemeral_private_ = crypto::generate_private_key();
  const PublicKey ephemeral_public = crypto::public_key(ephemeral_private_);
  message_ephemeral(msg.unencrypted_ephemeral, ephemeral_public, chaining_key_, hash_);

  /* ee */
  if (auto r = mix_dh(chaining_key_, nullptr, ephemeral_private_, remote_ephemeral_); !r) {
    clear();
    return r.error();
  }

  /* se */
  if (auto r = mix_dh(chaining_key_, nullptr, ephemeral_private_, remote_static_); !r) {
    clear();
    return r.error();
  }

  /* psk */
  Key key;
  mix_psk(chaining_key_, hash_, key, preshared_key_);

  /* {} */
  message_encrypt(msg.encrypted_nothing, {}, key, hash_);

  local_index_ = local_index;
  state_ = HandshakeState::kCreatedResponse;
  return msg;
}

Result<void> Handshake::consume_response(const wire::MessageResponse& msg) noexcept {
  if (state_ != HandshakeState::kCreatedInitiation || msg.receiver_index.get() != local_index_) {
    return make_error(Errc::kBadState, "noise: response without a matching initiation");
  }
  // Work on copies: only a response that authenticates may change the state.
  Key chaining_key = chaining_key_.clone();
  Hash hash = hash_;
  PublicKey remote_ephemeral;
  std::memcpy(remote_ephemeral.data(), msg.unencrypted_ephemeral, 32);

  /* e */
  message_ephemeral(nullptr, remote_ephemeral, chaining_key, hash);

  /* ee */
  if (auto r = mix_dh(chaining_key, nullptr, ephemeral_private_, remote_ephemeral); !r) return r;

  /* se */
  if (auto r = mix_dh(chaining_key, nullptr, identity_->private_key, remote_ephemeral); !r) return r;

  /* psk */
  Key key;
  mix_psk(chaining_key, hash, key, preshared_key_);

  /* {} */
  if (auto r = message_decrypt({}, msg.encrypted_nothing, key, hash); !r) {
    return make_error(Errc::kDecryptFailed, "noise: response does not authenticate");
  }

  hash_ = hash;
  chaining_key_ = std::move(chaining_key);
  remote_ephemeral_ = remote_ephemeral;
  remote_index_ = msg.sender_index.get();
  state_ = HandshakeState::kConsumedResponse;
  return ok_result();
}

Result<SessionKeys> Handshake::begin_session() noexcept {
  SessionKeys keys;
  if (state_ == HandshakeState::kConsumedResponse) {
    crypto::kdf2(keys.send, keys.receive, chaining_key_.bytes(), {});
    keys.we_initiated = true;
  } else if (state_ == HandshakeState::kCreatedResponse) {
    crypto::kdf2(keys.receive, keys.send, chaining_key_.bytes(), {});
    keys.we_initiated = false;
  } else {
    return make_error(Errc::kBadState, "noise: no completed handshake to derive keys from");
  }
  keys.local_index = local_index_;
  keys.remote_index = remote_index_;
  clear();
  return keys;
}

}  // namespace wirespeed::controlplane::noise
