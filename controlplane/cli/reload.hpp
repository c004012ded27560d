// `wirespeed reload [--config FILE]`: asks the running wirespeed-controlplane
// to re-read its YAML and apply the difference (SIGHUP; the control plane's
// side is controlplane_main.cpp / Agent::reload).
//
// Steps, each with its own error:
//   1. Load FILE with the gateway's loader. An invalid file is reported
//      (FILE:LINE:COLUMN: message, exit 2) and nothing is signalled: the
//      control plane would reject it whole anyway, and this way the operator
//      sees why at once instead of in its log.
//   2. Find the control plane: the process listening on the UAPI socket
//      /var/run/wireguard/<interface.name>.sock, by SO_PEERCRED (connect,
//      read the peer's credentials, close without a byte sent). No EAL.
//      When there is no socket, the pid the control plane put in the shared
//      state's header (StateHeader::controlplane_pid; a DPDK secondary attach).
//   3. Check that the pid is a wirespeed-controlplane (/proc/PID/comm) and
//      warn when its --config is another file than FILE.
//   4. kill(pid, SIGHUP).
// The reload itself is asynchronous: its outcome is in the control plane's
// log (`journalctl -u wirespeed-controlplane@NAME`).
//
// Exit status: 0 signalled, 2 invalid config, 1 anything else (usage, no
// control plane found, not allowed to signal it). `wirespeed` process only.
#pragma once

#include <sys/types.h>

#include <string>

namespace wirespeed::controlplane::cli {

// The pid of the process that listens on the unix stream socket `path`, by
// SO_PEERCRED; -1 with *error set when there is none (no socket, nobody
// accepting, not a socket).
pid_t listener_pid(const std::string& path, std::string* error);

// The command name of `pid` from /proc/PID/comm ("" when it is gone).
std::string process_name(pid_t pid);

int reload_command(int argc, char** argv, const char* argv0);

}  // namespace wirespeed::controlplane::cli
