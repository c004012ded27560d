// Tests for summarise() (dataplane/shm/snapshot.hpp): a state zone filled by
// hand, read back as the figures `wirespeed show`, the telemetry commands and
// the metrics page print. No EAL: take_snapshot()'s lookups are exercised by
// the observability lab test against a running dataplane.
#include "dataplane/shm/snapshot.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace wirespeed::dataplane::shm {
namespace {

constexpr uint64_t kSecond = 1000000000ULL;

// The zone is ~8 MB: on the heap, value-initialised as the dataplane's is.
std::unique_ptr<StateZone> make_zone(uint32_t workers) {
  auto zone = std::make_unique<StateZone>();
  zone->header.worker_count = workers;
  zone->header.zone_size = sizeof(StateZone);
  return zone;
}

void activate_peer(StateZone& zone, uint32_t slot, uint8_t key_byte) {
  zone.peers[slot].state.store(PeerState::kActive);
  for (uint8_t& b : zone.peers[slot].public_key) b = key_byte;
}

void live_keypair(StateZone& zone, uint32_t peer, uint32_t k, uint32_t local, uint64_t birth) {
  KeypairSlot& kp = zone.keypairs[keypair_slot_number(peer, k)];
  kp.state.store(SlotState::kLive);
  kp.peer = peer;
  kp.local_index = local;
  kp.remote_index = local + 1000;
  kp.birth_ns = birth;
}

TEST(Summarise, EmptyZoneHasOneRowPerLcoreAndNoPeers) {
  auto zone = make_zone(2);
  zone->header.lcore_ids[0] = 0;
  zone->header.lcore_ids[1] = 1;
  zone->header.lcore_ids[2] = 3;
  const Snapshot s = summarise(*zone, 5 * kSecond);
  ASSERT_EQ(s.lcores.size(), 3u);
  EXPECT_EQ(s.lcores[0].row, 0u);
  EXPECT_EQ(s.lcores[2].row, 2u);
  EXPECT_EQ(s.lcores[2].lcore_id, 3u);
  EXPECT_TRUE(s.peers.empty());
  for (uint64_t d : s.drops) EXPECT_EQ(d, 0u);
  EXPECT_EQ(s.lcores[1].busy_ratio(), 0.0);  // nothing counted is 0, not NaN
  EXPECT_TRUE(s.rings.empty());              // summarise() never looks rings up
  EXPECT_FALSE(s.mempool.has_value());
}

TEST(Summarise, HeaderFieldsAndAges) {
  auto zone = make_zone(1);
  StateHeader& h = zone->header;
  h.dataplane_pid = 4242;
  h.controlplane_pid.store(4343);
  h.listen_port.store(51821);
  h.tsc_hz = 2'000'000'000;
  h.started_ns = 10 * kSecond;
  h.heartbeat_ns.store(14 * kSecond);
  h.ports[1].ethdev_port = 1;
  h.ports[1].queues = 2;
  h.ports[1].mtu = 1420;
  h.ports[1].mac[5] = 0xab;
  const Snapshot s = summarise(*zone, 15 * kSecond);
  EXPECT_EQ(s.taken_ns, 15 * kSecond);
  EXPECT_EQ(s.dataplane_pid, 4242u);
  EXPECT_EQ(s.controlplane_pid, 4343u);
  EXPECT_EQ(s.worker_count, 1u);
  EXPECT_EQ(s.listen_port, 51821);
  EXPECT_EQ(s.tsc_hz, 2'000'000'000u);
  EXPECT_EQ(s.uptime_ns, 5 * kSecond);
  EXPECT_EQ(s.heartbeat_age_ns, 1 * kSecond);
  EXPECT_EQ(s.ports[0].role, PortRole::kOuter);
  EXPECT_EQ(s.ports[1].role, PortRole::kInner);
  EXPECT_EQ(s.ports[1].ethdev_port, 1);
  EXPECT_EQ(s.ports[1].queues, 2);
  EXPECT_EQ(s.ports[1].mtu, 1420);
  EXPECT_EQ(s.ports[1].mac[5], 0xab);
  EXPECT_EQ(s.ports[1].name, "");  // no EAL lookup in summarise()
}

TEST(Summarise, TimestampsAheadOfNowGiveAgeZeroNotAWrap) {
  // The heartbeat is written by another lcore: it may be read just after a
  // `now` taken earlier on this one.
  auto zone = make_zone(1);
  zone->header.started_ns = 20 * kSecond;
  zone->header.heartbeat_ns.store(21 * kSecond);
  const Snapshot s = summarise(*zone, 19 * kSecond);
  EXPECT_EQ(s.uptime_ns, 0u);
  EXPECT_EQ(s.heartbeat_age_ns, 0u);
}

TEST(Summarise, PortAndDropCountersAreSummedOverRows) {
  auto zone = make_zone(2);
  for (unsigned r = 0; r < 3; ++r) {
    LcoreCounters& c = zone->lcore_counters[r];
    c.port[0].rx_packets.set(10 * (r + 1));
    c.port[0].rx_bytes.set(1000 * (r + 1));
    c.port[1].tx_packets.set(7 * (r + 1));
    c.port[1].tx_bytes.set(700 * (r + 1));
    c.drops[static_cast<unsigned>(DropReason::kReplay)].set(r + 1);
    c.drops[static_cast<unsigned>(DropReason::kTxFull)].set(100);
    c.decrypted.set(5);
  }
  const Snapshot s = summarise(*zone, kSecond);
  EXPECT_EQ(s.ports[0].rx_packets, 60u);
  EXPECT_EQ(s.ports[0].rx_bytes, 6000u);
  EXPECT_EQ(s.ports[0].tx_packets, 0u);
  EXPECT_EQ(s.ports[1].tx_packets, 42u);
  EXPECT_EQ(s.ports[1].tx_bytes, 4200u);
  EXPECT_EQ(s.drops[static_cast<unsigned>(DropReason::kReplay)], 6u);
  EXPECT_EQ(s.drops[static_cast<unsigned>(DropReason::kTxFull)], 300u);
  EXPECT_EQ(s.drops[static_cast<unsigned>(DropReason::kBadMac)], 0u);
  EXPECT_EQ(s.lcores[1].rx_packets[0], 20u);
  EXPECT_EQ(s.lcores[2].drops[static_cast<unsigned>(DropReason::kReplay)], 3u);
  EXPECT_EQ(s.lcores[0].decrypted, 5u);
}

TEST(Summarise, RowsBeyondTheWorkerCountAreNotRead) {
  auto zone = make_zone(1);
  zone->lcore_counters[2].drops[0].set(99);  // stale row of a bigger earlier run
  zone->lcore_counters[2].port[0].rx_packets.set(99);
  const Snapshot s = summarise(*zone, kSecond);
  EXPECT_EQ(s.lcores.size(), 2u);
  EXPECT_EQ(s.drops[0], 0u);
  EXPECT_EQ(s.ports[0].rx_packets, 0u);
}

TEST(Summarise, ADamagedWorkerCountStaysWithinTheArrays) {
  auto zone = make_zone(1'000'000);
  const Snapshot s = summarise(*zone, kSecond);
  EXPECT_EQ(s.lcores.size(), kCounterRows);
}

TEST(Summarise, BusyRatioIsBusyOverTotalAndNeverAboveOne) {
  auto zone = make_zone(2);
  zone->lcore_counters[1].busy_tsc.set(250);
  zone->lcore_counters[1].total_tsc.set(1000);
  // Read as busy > total (the pair is not one atomic read): clamped.
  zone->lcore_counters[2].busy_tsc.set(1010);
  zone->lcore_counters[2].total_tsc.set(1000);
  const Snapshot s = summarise(*zone, kSecond);
  EXPECT_DOUBLE_EQ(s.lcores[1].busy_ratio(), 0.25);
  EXPECT_EQ(s.lcores[1].busy_tsc, 250u);
  EXPECT_EQ(s.lcores[1].total_tsc, 1000u);
  EXPECT_DOUBLE_EQ(s.lcores[2].busy_ratio(), 1.0);
}

TEST(Summarise, OnlyActivePeersInSlotOrderWithTrafficSummed) {
  auto zone = make_zone(2);
  activate_peer(*zone, 7, 0x77);
  activate_peer(*zone, 3, 0x33);
  zone->peers[5].state.store(PeerState::kRetiring);  // being removed: not shown
  for (unsigned r = 0; r < 3; ++r) {
    PeerCounters& c = zone->peer_counters[r][7];
    c.rx_packets.set(r + 1);
    c.rx_bytes.set(100 * (r + 1));
    c.tx_packets.set(2 * (r + 1));
    c.tx_bytes.set(200 * (r + 1));
  }
  const Snapshot s = summarise(*zone, kSecond);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].slot, 3u);
  EXPECT_EQ(s.peers[0].public_key[31], 0x33);
  EXPECT_EQ(s.peers[0].rx_packets, 0u);
  EXPECT_EQ(s.peers[1].slot, 7u);
  EXPECT_EQ(s.peers[1].public_key[0], 0x77);
  EXPECT_EQ(s.peers[1].rx_packets, 6u);
  EXPECT_EQ(s.peers[1].rx_bytes, 600u);
  EXPECT_EQ(s.peers[1].tx_packets, 12u);
  EXPECT_EQ(s.peers[1].tx_bytes, 1200u);
}

TEST(Summarise, PeerEndpointHandshakesAndAge) {
  auto zone = make_zone(1);
  activate_peer(*zone, 0, 1);
  activate_peer(*zone, 1, 2);
  Endpoint e;
  e.family = 4;
  e.port = 51820;
  e.addr[0] = 192;
  e.addr[3] = 2;
  write_endpoint(zone->peers[0], e);
  zone->peers[0].handshakes.set(3);
  zone->peers[0].last_handshake_ns.set(8 * kSecond);
  zone->peers[0].staged_count = 5;
  const Snapshot s = summarise(*zone, 10 * kSecond);
  ASSERT_EQ(s.peers.size(), 2u);
  EXPECT_EQ(s.peers[0].endpoint, e);
  EXPECT_EQ(s.peers[0].handshakes, 3u);
  ASSERT_TRUE(s.peers[0].last_handshake_age_ns.has_value());
  EXPECT_EQ(*s.peers[0].last_handshake_age_ns, 2 * kSecond);
  EXPECT_EQ(s.peers[0].staged, 5u);
  EXPECT_EQ(s.peers[1].endpoint.family, 0);
  EXPECT_FALSE(s.peers[1].last_handshake_age_ns.has_value());  // never
}

TEST(Summarise, KeypairsByRoleOnlyWhenLiveAndOwnedByThePeer) {
  auto zone = make_zone(1);
  activate_peer(*zone, 2, 9);
  PeerSlot& p = zone->peers[2];
  live_keypair(*zone, 2, 0, 11, 4 * kSecond);
  live_keypair(*zone, 2, 1, 12, 1 * kSecond);
  zone->keypairs[keypair_slot_number(2, 0)].send_counter.store(77);
  zone->keypairs[keypair_slot_number(2, 0)].we_initiated = 1;
  p.current.store(keypair_slot_number(2, 0));
  p.previous.store(keypair_slot_number(2, 1));
  // `next` points at a slot being reclaimed: not reported.
  zone->keypairs[keypair_slot_number(2, 2)].state.store(SlotState::kRetiring);
  zone->keypairs[keypair_slot_number(2, 2)].peer = 2;
  p.next.store(keypair_slot_number(2, 2));
  const Snapshot s = summarise(*zone, 10 * kSecond);
  ASSERT_EQ(s.peers.size(), 1u);
  const std::vector<KeypairSnapshot>& k = s.peers[0].keypairs;
  ASSERT_EQ(k.size(), 2u);
  EXPECT_STREQ(k[0].role, "current");
  EXPECT_EQ(k[0].local_index, 11u);
  EXPECT_EQ(k[0].remote_index, 1011u);
  EXPECT_EQ(k[0].age_ns, 6 * kSecond);
  EXPECT_EQ(k[0].send_counter, 77u);
  EXPECT_TRUE(k[0].we_initiated);
  EXPECT_STREQ(k[1].role, "previous");
  EXPECT_EQ(k[1].age_ns, 9 * kSecond);
  EXPECT_FALSE(k[1].we_initiated);
}

TEST(Summarise, AKeypairOfAnotherPeerOrOutOfRangeIsIgnored) {
  auto zone = make_zone(1);
  activate_peer(*zone, 0, 1);
  live_keypair(*zone, 1, 0, 5, kSecond);  // belongs to peer 1
  zone->peers[0].current.store(keypair_slot_number(1, 0));
  zone->peers[0].next.store(static_cast<int32_t>(kMaxKeypairs));  // garbage index
  const Snapshot s = summarise(*zone, 2 * kSecond);
  ASSERT_EQ(s.peers.size(), 1u);
  EXPECT_TRUE(s.peers[0].keypairs.empty());
}

TEST(Summarise, StagedCountIsBoundedByTheQueue) {
  auto zone = make_zone(1);
  activate_peer(*zone, 0, 1);
  zone->peers[0].staged_count = kStageMax + 50;  // a torn read must not report more
  const Snapshot s = summarise(*zone, kSecond);
  EXPECT_EQ(s.peers[0].staged, kStageMax);
}

}  // namespace
}  // namespace wirespeed::dataplane::shm
