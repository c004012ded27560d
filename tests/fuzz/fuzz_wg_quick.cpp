// libFuzzer target: `wirespeed import` (controlplane/cli/import.hpp) on a
// wg-quick file's text: parse_wg_quick, then render_yaml of what it read.
// The YAML the import writes must be YAML the loader can read: with its
// placeholders filled in, load_config_text may refuse a value (the import
// asks the operator to run check-config) but never the syntax.
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "controlplane/cli/import.hpp"
#include "controlplane/cli/wg_quick.hpp"

namespace {

namespace cli = wirespeed::controlplane::cli;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const cli::WgQuickResult parsed = cli::parse_wg_quick(text);
  if (!parsed.config) {
    if (parsed.error.message.empty()) __builtin_trap();  // line 0: no place (no [Interface])
    return 0;
  }
  std::string yaml = cli::render_yaml(*parsed.config, "fuzz.conf", "wg0");
  replace_all(yaml, cli::kPlaceholderOuterPort, "net_null0");
  replace_all(yaml, cli::kPlaceholderInnerPort, "net_null1");
  replace_all(yaml, cli::kPlaceholderOuterAddressV4, "192.0.2.1/24");
  replace_all(yaml, cli::kPlaceholderOuterAddressV6, "2001:db8::1/64");
  replace_all(yaml, cli::kPlaceholderOuterGateway, "192.0.2.254");
  replace_all(yaml, cli::kPlaceholderInnerAddress, "10.0.0.1/24");
  const auto loaded =
      wirespeed::config::load_config_text(yaml, "imported.yaml", "/nonexistent/wirespeed-fuzz");
  if (!loaded.config && loaded.error.message.rfind("YAML syntax error", 0) == 0) __builtin_trap();
  return 0;
}
