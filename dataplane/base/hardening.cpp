// Process hardening (see hardening.hpp). Start-up only, any process.
#include "dataplane/base/hardening.hpp"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace wirespeed {

Result<void> disable_core_dumps() noexcept {
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return make_error(Errc::kSystem, "setrlimit(RLIMIT_CORE, 0)", errno);
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return make_error(Errc::kSystem, "prctl(PR_SET_DUMPABLE, 0)", errno);
  }
  return {};
}

Result<void> lock_memory() noexcept {
  // The system call itself: sanitizer runtimes turn mlockall() into a no-op.
  if (syscall(SYS_mlockall, MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) != 0) {
    return make_error(Errc::kSystem, "mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)", errno);
  }
  return {};
}

void secure_wipe(void* p, size_t n) noexcept {
  if (p != nullptr && n != 0) explicit_bzero(p, n);
}

}  // namespace wirespeed
