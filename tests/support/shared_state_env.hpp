// The shared state as the dataplane makes it, for control-plane tests that
// have no dataplane: an EAL with --no-huge (anonymous memory, no hugepages)
// as a primary of a per-process file prefix, and a SharedState created in it.
// Nobody drains the rings; the tests read and fill them themselves.
//
// One EAL per process: register it once with
//   ::testing::AddGlobalTestEnvironment(new test::SharedStateEnvironment("name", "pfx"));
#pragma once

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ring.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataplane/shm/state.hpp"

namespace wirespeed::test {

class SharedStateEnvironment : public ::testing::Environment {
 public:
  SharedStateEnvironment(std::string program, std::string prefix)
      : program_(std::move(program)), prefix_(std::move(prefix)) {}

  void SetUp() override {
    std::vector<std::string> args = {program_,
                                     "--no-huge",
                                     "-m",
                                     "256",
                                     "--no-pci",
                                     "--no-shconf",
                                     "--no-telemetry",
                                     "-l",
                                     "0",
                                     "--log-level=error",
                                     "--file-prefix=" + prefix_ + std::to_string(getpid())};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    ASSERT_GE(rte_eal_init(static_cast<int>(argv.size()), argv.data()), 0)
        << "rte_eal_init: " << rte_strerror(rte_errno);
    auto state = dataplane::shm::SharedState::create(0);
    ASSERT_TRUE(state.ok()) << state.error().context;
    state_.emplace(std::move(*state));
  }

  static dataplane::shm::SharedState& state() { return *state_; }

  // Everything on the command ring, oldest first; the ring is left empty.
  static std::vector<dataplane::shm::RingMessage> drain_commands() {
    std::vector<dataplane::shm::RingMessage> out;
    dataplane::shm::RingMessage m;
    while (rte_ring_dequeue_elem(state_->commands(), &m, sizeof(m)) == 0) out.push_back(m);
    return out;
  }

 private:
  std::string program_;
  std::string prefix_;
  static inline std::optional<dataplane::shm::SharedState> state_;
};

}  // namespace wirespeed::test
