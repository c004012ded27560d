// Process hardening shared by every wirespeed process that holds key
// material: wirespeed-dataplane (session keys in the keypair slots),
// wirespeed-controlplane (the device private key, PSKs, handshake state) and
// the `wirespeed` CLI (genkey/genpsk, key files read by check-config).
// Called once, first thing in main(), before any key is read. See
// docs/security.md for what it does and does not protect against.
#pragma once

#include <cstddef>

#include "dataplane/base/result.hpp"

namespace wirespeed {

// Makes this process produce no core dump: RLIMIT_CORE soft and hard 0 (so a
// child or a later setrlimit cannot raise it again without privilege) and
// PR_SET_DUMPABLE 0, which also stops core_pattern pipes (systemd-coredump,
// apport) that ignore RLIMIT_CORE, stops non-root ptrace attaches and makes
// /proc/<pid>/{mem,environ,maps,...} owned by root. Root (CAP_SYS_PTRACE)
// can still read them: this guards against dumps leaking to disk, not
// against root. Errc::kSystem with errno if either call fails.
Result<void> disable_core_dumps() noexcept;

// Keeps this process's memory out of swap: mlockall(MCL_CURRENT |
// MCL_FUTURE | MCL_ONFAULT). On-fault, so a page is locked when first
// touched: the huge address ranges EAL reserves and never touches cost
// nothing. For the control plane, whose ordinary heap holds the private key,
// PSKs and handshake state (the dataplane's keys are in hugepages, which are
// never swapped). Errc::kSystem with errno when refused (no CAP_IPC_LOCK and
// a small RLIMIT_MEMLOCK): callers warn and run on.
Result<void> lock_memory() noexcept;

// Zeroes n bytes at p in a way the compiler may not elide even when the
// memory is never read again (explicit_bzero). For key material leaving
// shared memory or the stack.
void secure_wipe(void* p, size_t n) noexcept;

}  // namespace wirespeed
