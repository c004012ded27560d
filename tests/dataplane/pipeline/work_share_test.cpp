// Tests for work sharing between workers (dataplane/pipeline/worker.hpp): a
// worker that is behind hands full bursts to an idle one, which processes
// them on its own context; nothing is shared otherwise; one peer's nonces and
// replay window stay correct when two lcores work on it.
#include <gtest/gtest.h>
#include <rte_ring.h>

#include "dataplane/pipeline/keypair_rules.hpp"
#include "dataplane/pipeline/worker.hpp"
#include "dataplane/wire/messages.hpp"
#include "tests/dataplane/pipeline/pipeline_fixture.hpp"

namespace wirespeed::dataplane::pipeline_test {
namespace {

class WorkShareTest : public PipelineTest {
 protected:
  void SetUp() override {
    PipelineTest::SetUp();
    const char* names[2] = {"dpt_share_o", "dpt_share_i"};
    for (unsigned p = 0; p < 2; ++p) {
      share_.ring[p] = rte_ring_create(names[p], 8 * pipeline::kBurst, 0, 0);
      ASSERT_NE(share_.ring[p], nullptr);
    }
    busy_.ctx = &worker_ctx_;  // row 1
    busy_.share = &share_;
    busy_.index = 0;
    helper_.ctx = &main_ctx_;  // row 0 stands in for a second worker
    helper_.share = &share_;
    helper_.index = 1;
    standard_setup();
  }
  void TearDown() override {
    for (rte_ring* r : share_.ring) {
      EXPECT_EQ(rte_ring_count(r), 0u) << "bursts left in a share ring";
      rte_ring_free(r);
    }
    PipelineTest::TearDown();
  }

  std::vector<Bytes> lan_frames(unsigned n, uint8_t tag = 0) {
    std::vector<Bytes> frames;
    for (unsigned i = 0; i < n; ++i)
      frames.push_back(lan_frame(ip_packet(net().host4, net().remote4, 40 + i, static_cast<uint8_t>(tag + i))));
    return frames;
  }
  uint64_t encrypted(unsigned row) const { return zone().lcore_counters[row].encrypted.get(); }
  uint64_t decrypted(unsigned row) const { return zone().lcore_counters[row].decrypted.get(); }
  void dispatch(PortRole role, const std::vector<Bytes>& frames) {
    std::vector<rte_mbuf*> m = make_mbufs(frames);
    ASSERT_EQ(m.size(), frames.size());
    pipeline::dispatch_burst(busy_, role, m.data(), static_cast<unsigned>(m.size()));
  }

  pipeline::WorkShare share_;
  pipeline::WorkerSpec busy_, helper_;
};

TEST_F(WorkShareTest, FullBurstGoesToTheIdleWorkerAndIsSealedThere) {
  pipeline::set_idle(helper_, true);
  dispatch(PortRole::kInner, lan_frames(pipeline::kBurst));
  EXPECT_EQ(rte_ring_count(share_.ring[static_cast<unsigned>(PortRole::kInner)]), pipeline::kBurst);
  EXPECT_EQ(encrypted(1), 0u) << "the busy worker handed the burst over";
  EXPECT_EQ(pipeline::help_shared(helper_), pipeline::kBurst);
  EXPECT_EQ(encrypted(0), pipeline::kBurst) << "the helper sealed it";
  EXPECT_EQ(encrypted(1), 0u);
  const std::vector<SentDatagram> sent = take_outer();
  ASSERT_EQ(sent.size(), pipeline::kBurst);
  for (unsigned i = 0; i < sent.size(); ++i) {
    const Bytes msg = sent[i].message();
    ASSERT_GE(msg.size(), wire::kKeepaliveSize);
    const uint64_t counter = pipeline::load_le64(msg.data() + 8);
    EXPECT_EQ(counter, i);
    EXPECT_TRUE(reference_open(kp0_.send_key, counter, Bytes(msg.begin() + 16, msg.end())).has_value());
  }
  EXPECT_EQ(total_drops(), 0u);
}

TEST_F(WorkShareTest, NothingIsSharedWithoutAnIdleWorkerOrForAPartialBurst) {
  // Nobody idle: processed where it was received.
  dispatch(PortRole::kInner, lan_frames(pipeline::kBurst));
  EXPECT_EQ(encrypted(1), pipeline::kBurst);
  // Only the busy worker itself idle: still its own work.
  pipeline::set_idle(busy_, true);
  dispatch(PortRole::kInner, lan_frames(pipeline::kBurst, 50));
  EXPECT_EQ(encrypted(1), 2 * pipeline::kBurst);
  pipeline::set_idle(busy_, false);
  // A helper idle, but the burst is not full: the worker is not behind.
  pipeline::set_idle(helper_, true);
  dispatch(PortRole::kInner, lan_frames(5, 100));
  EXPECT_EQ(encrypted(1), 2 * pipeline::kBurst + 5);
  EXPECT_EQ(pipeline::help_shared(helper_), 0u);
  EXPECT_EQ(take_outer().size(), 2 * pipeline::kBurst + 5);
}

TEST_F(WorkShareTest, BacklogBoundsWhatIsHandedOver) {
  pipeline::set_idle(helper_, true);
  const unsigned bursts = pipeline::kShareBacklog / pipeline::kBurst + 2;
  for (unsigned b = 0; b < bursts; ++b) dispatch(PortRole::kInner, lan_frames(pipeline::kBurst, static_cast<uint8_t>(b)));
  const unsigned queued = rte_ring_count(share_.ring[static_cast<unsigned>(PortRole::kInner)]);
  EXPECT_EQ(queued, pipeline::kShareBacklog);
  EXPECT_EQ(encrypted(1), bursts * pipeline::kBurst - queued) << "past the backlog, the worker works itself";
  while (pipeline::help_shared(helper_) != 0) {
  }
  EXPECT_EQ(encrypted(0), queued);
  EXPECT_EQ(take_outer().size(), bursts * pipeline::kBurst);
  EXPECT_EQ(total_drops(), 0u);
}

// One peer's data messages, opened by two workers out of order: every packet
// is decrypted once, the replay window (one per keypair, shared) catches the
// duplicate that arrives at the other worker.
TEST_F(WorkShareTest, OnePeerDecryptedByTwoWorkersKeepsItsReplayWindow) {
  auto frames = [&](uint64_t first, unsigned n) {
    std::vector<Bytes> out;
    for (unsigned i = 0; i < n; ++i)
      out.push_back(peer_data(kp0_, first + i, ip_packet(net().remote4, net().host4, 60, static_cast<uint8_t>(i))));
    return out;
  };
  pipeline::set_idle(helper_, true);
  dispatch(PortRole::kOuter, frames(0, pipeline::kBurst));                 // to the helper
  pipeline::set_idle(helper_, false);
  dispatch(PortRole::kOuter, frames(pipeline::kBurst, pipeline::kBurst));  // here, first
  EXPECT_EQ(decrypted(1), pipeline::kBurst);
  EXPECT_EQ(pipeline::help_shared(helper_), pipeline::kBurst);             // older counters, later
  EXPECT_EQ(decrypted(0), pipeline::kBurst);
  // A replay of counter 3, now at the helper, and of 40 here.
  pipeline::set_idle(helper_, true);
  std::vector<Bytes> dup = frames(3, 1);
  for (unsigned i = 1; i < pipeline::kBurst; ++i) dup.push_back(frames(40, 1)[0]);
  dispatch(PortRole::kOuter, dup);
  EXPECT_EQ(pipeline::help_shared(helper_), pipeline::kBurst);
  EXPECT_EQ(drops(DropReason::kReplay), pipeline::kBurst);
  EXPECT_EQ(decrypted(0) + decrypted(1), 2 * pipeline::kBurst);
  EXPECT_EQ(take_tx(PortRole::kInner).size(), 2 * pipeline::kBurst);
}

}  // namespace
}  // namespace wirespeed::dataplane::pipeline_test
