// `wirespeed show [--config FILE] [--json] [--watch [SECONDS]]`: attaches to
// the running gateway's shared memory as a DPDK secondary (the way
// `wirespeed-controlplane --show` does: same file prefix, --no-pci, an lcore
// id the primary never uses), takes one Snapshot (dataplane/shm/snapshot.hpp)
// and prints it (show_render.hpp). It only reads: no command is sent, no
// counter reset, the control plane is not needed.
//
// --watch prints a new snapshot every SECONDS (default 1, 0.1..3600) until
// SIGINT/SIGTERM; on a terminal the text form redraws in place, otherwise
// frames follow each other (with --json one document per line). It stops
// with exit 1 when the dataplane process is gone.
//
// Exit status: 0 shown, 2 the config does not load (its error printed),
// 1 usage error or no dataplane to attach to. `wirespeed` process only.
#pragma once

#include <string>

namespace wirespeed::controlplane::cli {

inline constexpr char kDefaultConfig[] = "/etc/wirespeed/wsp0.yaml";

int show_command(int argc, char** argv, const char* argv0);

// DPDK's runtime directory of `file_prefix` as EAL computes it
// (/var/run/dpdk/PREFIX for root, else $XDG_RUNTIME_DIR/dpdk/PREFIX or
// /tmp/dpdk/PREFIX).
std::string dpdk_runtime_dir(const std::string& file_prefix);

// True when a primary of `file_prefix` has published its configuration
// there. Checked before rte_eal_init: a secondary EAL that finds no primary
// fails, but only after creating the runtime directory, which would then be
// left behind by every `wirespeed show` on a stopped gateway.
bool dataplane_published(const std::string& file_prefix);

}  // namespace wirespeed::controlplane::cli
