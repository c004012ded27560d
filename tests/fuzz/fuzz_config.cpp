// libFuzzer target: the YAML configuration loader (config/config.hpp) on
// text in memory (load_config_text, the same code load_config runs after
// reading the file). Relative key files resolve under a directory that does
// not exist, so no input reads a file by accident. A failed load must say
// what failed; a successful one must satisfy what the processes rely on.
#include <string>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto result =
      wirespeed::config::load_config_text(text, "fuzz.yaml", "/nonexistent/wirespeed-fuzz");
  if (!result.config) {
    if (result.error.message.empty()) __builtin_trap();
    (void)result.error.to_string();
    return 0;
  }
  const auto& c = *result.config;
  if (c.name.empty() || c.name.size() > 15 || c.workers.empty() || c.outer.address.empty() ||
      c.inner.address.empty())
    __builtin_trap();
  for (const auto& peer : c.peers) {
    for (const auto& prefix : peer.allowed_ips)
      if (!wirespeed::controlplane::peers::is_valid(prefix)) __builtin_trap();
  }
  return 0;
}
