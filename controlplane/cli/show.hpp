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

}  // namespace wirespeed::controlplane::cli
