// From the operator's Config to what the data path binds at start-up: own
// addresses per port, MACs, listen port, MTU, and the EAL arguments each
// process runs with. Start-up only; both processes use the EAL part.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "dataplane/pipeline/context.hpp"

namespace wirespeed::dataplane::app {

net::IpAddr to_net(const config::IpAddress& a) noexcept;

// Fills the address part of `out` from the config (MACs and port ids are
// filled by the caller once the ports are open). False when a port has more
// addresses of one family than the data path keeps (kMaxOwnAddresses).
bool fill_addresses(const config::Config& cfg, pipeline::GatewayConfig& out, std::string* error);

// The primary's EAL argv: the command line's when it gave any, else the
// config's dataplane.eal; then --file-prefix and --proc-type=primary unless
// present. argv[0] first.
std::vector<std::string> primary_eal_args(const config::Config& cfg, const char* argv0,
                                          const std::vector<std::string>& command_line);

// The control plane's EAL argv: a secondary on the same file prefix, no PCI
// scan, one lcore, no devices of its own.
std::vector<std::string> secondary_eal_args(const config::Config& cfg, const char* argv0);

// rte_eal_init with secondary_eal_args: what every process that attaches to
// a running dataplane does first (the control plane, `wirespeed show`,
// `wirespeed reload`). True on success; on false rte_errno says why and the
// caller words the message.
bool init_secondary_eal(const config::Config& cfg, const char* argv0);

}  // namespace wirespeed::dataplane::app
