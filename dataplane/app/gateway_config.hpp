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

// DPDK's runtime directory for `file_prefix`, as EAL computes it:
// /var/run/dpdk/PREFIX for root, else $XDG_RUNTIME_DIR (or /tmp)/dpdk/PREFIX.
std::string dpdk_runtime_dir(const std::string& file_prefix);

// True while a DPDK primary with this file prefix runs. A primary holds a
// write lock (fcntl) on <runtime dir>/config from its rte_eal_init until it
// exits; the kernel drops the lock the moment the process is gone, while the
// file stays. So the lock, not the file, says whether a dataplane runs.
// Needs no EAL: asked before rte_eal_init (a secondary EAL that finds no
// primary fails, but only after creating the runtime directory, which every
// `wirespeed show` on a stopped gateway would then leave behind).
bool primary_running(const std::string& file_prefix);

}  // namespace wirespeed::dataplane::app
