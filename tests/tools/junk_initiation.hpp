// A "valid-looking" handshake initiation for flood tests: type 1, 148 bytes,
// a correct mac1 for the responder's public key (so it passes the first,
// cheap check and reaches the Noise code or the cookie path), and random
// ephemeral, encrypted static and timestamp (so the responder must do one
// X25519 before it can reject it, the work a flood makes it do). mac2 is
// zero: it never carries a cookie. Used by wirespeed-flood and
// wirespeed-handshake-load; header-only on top of ws_cookie.
#pragma once

#include <sodium.h>

#include <cstring>
#include <span>

#include "controlplane/cookie/cookie.hpp"
#include "dataplane/wire/messages.hpp"

namespace wirespeed::test::tools {

// Builds `count` distinct junk initiations addressed to `responder` into
// `out` (each sizeof(MessageInitiation) bytes). A CookieMaker stamps mac1
// exactly as a real initiator would.
inline void make_junk_initiations(const controlplane::crypto::PublicKey& responder,
                                  std::span<dataplane::wire::MessageInitiation> out) {
  namespace wire = dataplane::wire;
  controlplane::cookie::CookieMaker maker(responder);
  for (wire::MessageInitiation& m : out) {
    std::memset(&m, 0, sizeof(m));
    m.header = wire::make_header(wire::MessageType::kHandshakeInitiation);
    randombytes_buf(&m.sender_index, sizeof(m.sender_index));
    randombytes_buf(m.unencrypted_ephemeral, sizeof(m.unencrypted_ephemeral));
    randombytes_buf(m.encrypted_static, sizeof(m.encrypted_static));
    randombytes_buf(m.encrypted_timestamp, sizeof(m.encrypted_timestamp));
    (void)maker.add_macs(wire::as_writable_bytes(m), 0);
  }
}

}  // namespace wirespeed::test::tools
