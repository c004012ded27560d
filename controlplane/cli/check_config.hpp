// `wirespeed check-config FILE`: the gateway's YAML loaded by the same loader
// the two processes use (config/config.hpp), touching no device, no shared
// memory, no socket.
//
// Valid: one summary line on stdout, exit 0. Invalid: the loader's one error
// on stderr as FILE:LINE:COLUMN: message (FILE: message when it has no
// place), exit 2 (the status the gateway itself exits with on that file).
// Usage errors exit 1. `wirespeed` process only.
#pragma once

#include <cstdio>

#include "config/config.hpp"

namespace wirespeed::controlplane::cli {

// The summary line printed for a valid file (no key material in it).
std::string describe_config(const config::Config& cfg);

int check_config_command(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace wirespeed::controlplane::cli
