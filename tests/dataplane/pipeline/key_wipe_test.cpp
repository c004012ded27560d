// Session keys leave the dataplane's shared memory when their keypair does
// (issue 6, "key material is wiped on rotation and exit"). Each test installs
// keypairs through the command ring as the control plane does, retires them
// one way — a newer keypair rotating them out, kCmdKeypairsClear, peer
// removal, a peer re-keyed with another public key, an unconfirmed `next`
// replaced — and then searches every byte of the state memzone and of the
// command ring's memory for the 32-byte keys. Nothing else is inspected:
// wherever a copy hid, the search would find it. The first test is the
// control that shows the search does find live keys.
//
// Exit: SharedState::wipe_secrets(), which ~SharedState runs (what
// wirespeed-dataplane does on SIGINT/SIGTERM) before freeing the memzones, is
// called with keys live in a slot and an unconsumed install in the command
// ring, and the memory is searched right after. Searching after the free
// instead would prove nothing: EAL's rte_memzone_free zeroes memory it
// considers clean by itself, so such a test could not fail. In a gateway the
// same bytes are the hugepage files, which outlive the process.
#include <gtest/gtest.h>
#include <rte_ring.h>

#include <cstring>
#include <random>
#include <span>
#include <string>

#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

using KeyWipeTest = PipelineTest;

// make_keypair's indices with keys that have no pattern a zeroed or
// counter-filled region could match by chance.
TestKeypair random_keypair(uint8_t seed, bool we_initiated = true) {
  TestKeypair kp = make_keypair(seed, we_initiated);
  std::mt19937 rng(0x5ec0de00U + seed);
  for (uint8_t& b : kp.send_key) b = static_cast<uint8_t>(rng());
  for (uint8_t& b : kp.receive_key) b = static_cast<uint8_t>(rng());
  return kp;
}

size_t occurrences(std::span<const uint8_t> memory, const Key& key) {
  size_t n = 0;
  const uint8_t* p = memory.data();
  const uint8_t* end = memory.data() + memory.size();
  while (static_cast<size_t>(end - p) >= key.size()) {
    const void* hit = memmem(p, static_cast<size_t>(end - p), key.data(), key.size());
    if (hit == nullptr) break;
    ++n;
    p = static_cast<const uint8_t*>(hit) + 1;
  }
  return n;
}

// A ring's whole memzone: header and message slots.
std::span<const uint8_t> ring_memory(const rte_ring* ring) {
  const ssize_t size = rte_ring_get_memsize_elem(sizeof(shm::RingMessage), ring->size);
  EXPECT_GT(size, 0);
  return {reinterpret_cast<const uint8_t*>(ring), static_cast<size_t>(size)};
}

struct Regions {
  std::span<const uint8_t> zone;
  std::span<const uint8_t> commands;
};

Regions regions(const shm::SharedState& state) {
  return {{reinterpret_cast<const uint8_t*>(&state.zone()), sizeof(shm::StateZone)},
          ring_memory(state.commands())};
}

// Where the keys of kp are found, as text for the failure message; "" when
// nowhere.
std::string where(const Regions& r, const TestKeypair& kp) {
  std::string out;
  for (const auto& [name, key] :
       {std::pair<const char*, const Key&>{"send", kp.send_key}, {"receive", kp.receive_key}}) {
    const size_t in_zone = occurrences(r.zone, key), in_ring = occurrences(r.commands, key);
    if (in_zone != 0)
      out += std::string(name) + " key x" + std::to_string(in_zone) + " in the zone; ";
    if (in_ring != 0)
      out += std::string(name) + " key x" + std::to_string(in_ring) + " in the command ring; ";
  }
  return out;
}

TEST_F(KeyWipeTest, LiveKeysAreFoundInTheirSlotAndNowhereElse) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(101);
  shm::CmdKeypairInstall body{};
  body.local_index = a.local_index;
  body.remote_index = a.remote_index;
  body.birth_ns = a.birth_ns;
  body.we_initiated = 1;
  std::memcpy(body.send_key, a.send_key.data(), 32);
  std::memcpy(body.receive_key, a.receive_key.data(), 32);
  indices_used_.push_back(a.local_index);
  command(MessageKind::kCmdKeypairInstall, 0, body);
  // Queued, not yet applied: the message sits in the ring's slot.
  EXPECT_EQ(occurrences(regions(state()).commands, a.send_key), 1u);
  EXPECT_EQ(occurrences(regions(state()).commands, a.receive_key), 1u);
  poll();

  const shm::KeypairSlot* slot = live_keypair(a.local_index);
  ASSERT_NE(slot, nullptr);
  EXPECT_EQ(occurrences(regions(state()).zone, a.send_key), 1u);
  EXPECT_EQ(occurrences(regions(state()).zone, a.receive_key), 1u);
  EXPECT_EQ(std::memcmp(slot->send_key, a.send_key.data(), 32), 0);
  EXPECT_EQ(occurrences(regions(state()).commands, a.send_key), 0u)
      << "the applied install's ring slot still holds the send key";
  EXPECT_EQ(occurrences(regions(state()).commands, a.receive_key), 0u)
      << "the applied install's ring slot still holds the receive key";
}

TEST_F(KeyWipeTest, RotatedOutByNewerKeypairs) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(111), b = random_keypair(112), c = random_keypair(113);
  install(0, a);
  install(0, b);  // a -> previous
  EXPECT_NE(where(regions(state()), a), "") << "a is previous: its keys are still in use";
  install(0, c);  // a retired (and reclaimed: no RCU reader is online)
  EXPECT_EQ(where(regions(state()), a), "");
  EXPECT_NE(where(regions(state()), b), "");
  EXPECT_NE(where(regions(state()), c), "");
}

TEST_F(KeyWipeTest, UnconfirmedNextReplacedByARetry) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(121, false), b = random_keypair(122, false);
  install(0, a);  // responder: a is next
  install(0, b);  // the initiator retried: a is gone
  EXPECT_EQ(where(regions(state()), a), "");
  EXPECT_NE(where(regions(state()), b), "");
}

TEST_F(KeyWipeTest, KeypairsClearWipesCurrentPreviousAndNext) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(131), b = random_keypair(132),
                    c = random_keypair(133, false);
  install(0, a);
  install(0, b);
  install(0, c);  // a previous... b current, c next
  command(MessageKind::kCmdKeypairsClear, 0);
  poll();
  for (const TestKeypair* kp : {&a, &b, &c}) EXPECT_EQ(where(regions(state()), *kp), "");
}

TEST_F(KeyWipeTest, PeerRemoveWipesItsKeys) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(141), b = random_keypair(142, false);
  install(0, a);
  install(0, b);
  remove_peer(0);
  EXPECT_EQ(where(regions(state()), a), "");
  EXPECT_EQ(where(regions(state()), b), "");
}

TEST_F(KeyWipeTest, PeerReplacedByAnotherPublicKeyWipesTheOldKeys) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(151);
  install(0, a);
  add_peer(0, std::nullopt, /*key_seed=*/77);
  EXPECT_EQ(where(regions(state()), a), "");
}

TEST_F(KeyWipeTest, DataplaneExitWipesLiveSlotsAndUnconsumedInstalls) {
  standard_setup(4, false);
  const TestKeypair a = random_keypair(161), b = random_keypair(162);
  install(0, a);  // live in its slot
  // b is still in the command ring when the dataplane stops.
  shm::CmdKeypairInstall body{};
  body.local_index = b.local_index;
  std::memcpy(body.send_key, b.send_key.data(), 32);
  std::memcpy(body.receive_key, b.receive_key.data(), 32);
  command(MessageKind::kCmdKeypairInstall, 0, body);
  const Regions before = regions(state());
  ASSERT_NE(where(before, a), "");
  ASSERT_NE(where(before, b), "");

  state_->wipe_secrets();  // what ~SharedState runs first, before any memory is freed
  EXPECT_EQ(where(before, a), "");
  EXPECT_EQ(where(before, b), "");
  EXPECT_EQ(peer(0).state.load(), shm::PeerState::kActive) << "only the secrets go";
  take_ring(state().commands());  // the wiped install: TearDown removes the peer
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
