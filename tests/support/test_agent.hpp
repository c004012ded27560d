// A control-plane Agent on a SharedStateEnvironment's state, started as
// wirespeed-controlplane starts one, for tests that drive it by hand.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "controlplane/app/agent.hpp"
#include "dataplane/base/clock.hpp"
#include "tests/support/shared_state_env.hpp"

namespace wirespeed::test {

// Loads the config at `path`, makes the zone say that a dataplane (this
// process) listens on `listen_port`, creates the Agent with its UAPI socket
// in `dir`, starts it and throws away its start-up commands.
inline void start_agent(const std::string& path, const std::string& dir, uint16_t listen_port,
                        std::unique_ptr<controlplane::app::Agent>* out) {
  config::LoadResult loaded = config::load_config(path);
  ASSERT_TRUE(loaded.config) << loaded.error.to_string();
  dataplane::shm::StateZone& zone = SharedStateEnvironment::state().zone();
  zone.header.dataplane_pid = static_cast<uint32_t>(getpid());
  zone.header.listen_port = listen_port;
  controlplane::uapi::ServerOptions options;
  options.directory = dir;
  auto agent = controlplane::app::Agent::create(std::move(*loaded.config),
                                                SharedStateEnvironment::state(), options);
  ASSERT_TRUE(agent.ok()) << agent.error().context;
  *out = std::move(*agent);
  (*out)->start(monotonic_ns());
  SharedStateEnvironment::drain_commands();
}

}  // namespace wirespeed::test
