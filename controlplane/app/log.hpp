// The control plane's log: one line per event, with a level, to stdout
// (systemd's journal adds the time and unit; a terminal gets an ISO 8601 UTC
// timestamp in front when stdout is not the journal). Never a secret: callers
// pass public keys, addresses and counts only.
//
// Control-plane main thread (the level is a plain global; set it at start and
// on reload).
#pragma once

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace wirespeed::controlplane::app {

using config::LogLevel;

void set_log_level(LogLevel level) noexcept;
LogLevel log_level() noexcept;
const char* log_level_name(LogLevel level) noexcept;  // "error", "warning", "info", "debug"

// Writes "[TIME ]LEVEL: MESSAGE\n" when `level` is at or above the set level.
void log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

// A peer as it appears in log lines: its name when it has one, else the
// first 8 characters of its base64 public key followed by "…" — never more
// of a key, never anything secret.
std::string peer_label(std::string_view name, const uint8_t public_key[32]);

}  // namespace wirespeed::controlplane::app
