// A device and a peer on each side of a handshake, for tests that drive the
// Noise and cookie modules together: Alice initiates, Bob responds.
#pragma once

#include <memory>

#include "controlplane/cookie/cookie.hpp"
#include "controlplane/noise/handshake.hpp"

namespace wirespeed::test {

namespace noise = controlplane::noise;
namespace cookie = controlplane::cookie;
namespace crypto = controlplane::crypto;

struct Side {
  noise::StaticIdentity identity;
  std::unique_ptr<noise::Handshake> handshake;        // this side's state for the other side
  std::unique_ptr<cookie::CookieChecker> checker;     // verifies what the other side sends
  std::unique_ptr<cookie::CookieMaker> maker;         // stamps what this side sends

  Side() : identity(noise::StaticIdentity::from_private(crypto::generate_private_key())) {}

  void pair_with(const Side& other) {
    handshake = std::make_unique<noise::Handshake>(identity, other.identity.public_key);
    checker = std::make_unique<cookie::CookieChecker>(identity.public_key);
    maker = std::make_unique<cookie::CookieMaker>(other.identity.public_key);
  }
};

struct HandshakePair {
  Side alice;
  Side bob;
  HandshakePair() {
    alice.pair_with(bob);
    bob.pair_with(alice);
  }
  void set_psk(const crypto::Key& psk) {
    alice.handshake->set_preshared_key(psk.clone());
    bob.handshake->set_preshared_key(psk.clone());
  }
};

}  // namespace wirespeed::test
