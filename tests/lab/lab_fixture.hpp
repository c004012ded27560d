// The fixture the lab tests share: fails (never skips) when a prerequisite of
// the gateway lab is missing, tears the lab down after each test and, when the
// test failed, prints the lab's diagnostics and keeps its directory.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "tests/lab/gateway_lab.hpp"

namespace wirespeed::test::lab {

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string missing = GatewayLab::missing_gateway();
    ASSERT_TRUE(missing.empty()) << "gateway lab prerequisites missing:" << missing;
  }

  void TearDown() override {
    if (HasFailure() && !lab_.dir().empty()) {
      std::cout << lab_.diagnostics() << std::endl;
      lab_.keep_directory();
    }
    lab_.down();
  }

  void up(const LabOptions& options) {
    std::string error;
    ASSERT_TRUE(lab_.up(options, &error)) << error;
  }

  // Lab up, both gateway processes started and ready.
  void start(const LabOptions& options) {
    ASSERT_NO_FATAL_FAILURE(up(options));
    std::string error;
    ASSERT_TRUE(lab_.start_gateway(&error)) << error;
  }

  ShowState show() {
    ShowState state;
    std::string error;
    EXPECT_TRUE(lab_.show(&state, &error)) << error;
    return state;
  }

  std::string remote_key() const { return lab_.env("REMOTE_PUB"); }

  int64_t handshakes(const ShowState& state) const {
    return state.peer_number(remote_key(), "handshakes");
  }

  std::string endpoint(const ShowState& state) const {
    const auto* peer = state.peer(remote_key());
    if (peer == nullptr || !peer->count("endpoint")) {
      return "(no peer record for " + remote_key() + ")";
    }
    return peer->at("endpoint");
  }

  // Three echo replies within 10 s: the first may wait for a handshake.
  void expect_ping(Where from, const std::string& to, const std::string& source = "") {
    std::string out;
    EXPECT_EQ(lab_.ping(from, to, 3, 10, &out, source), 0)
        << "ping " << to << " from " << lab_.namespace_of(from) << " failed:\n"
        << out;
  }

  GatewayLab lab_;
};

}  // namespace wirespeed::test::lab
