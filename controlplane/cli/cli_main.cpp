// `wirespeed`: the operator's command (issue 4). One subcommand per file:
//   genkey | genpsk | pubkey         keys.cpp          (byte-compatible with wg)
//   check-config FILE                check_config.cpp  (exit 0 valid, 2 not)
//   import FILE.conf [-o OUT.yaml] [--key-file KEY]   import.cpp (wg-quick -> YAML)
//   show [--config F] [--json] [--watch [S]]   show.cpp (DPDK secondary, read-only)
//   reload [--config F]              reload.cpp        (SIGHUP to the control plane)
// Only this file calls exit paths; the subcommands return their status.
#include <cstdio>
#include <cstring>

#include "controlplane/cli/check_config.hpp"
#include "controlplane/cli/import.hpp"
#include "controlplane/cli/keys.hpp"
#include "controlplane/cli/reload.hpp"
#include "controlplane/cli/show.hpp"
#include "dataplane/base/hardening.hpp"

namespace {

int usage(std::FILE* out) {
  std::fputs(
      "Usage: wirespeed <command> [arguments]\n"
      "\n"
      "  genkey                    print a new private key (base64), as wg genkey\n"
      "  pubkey                    read a private key on stdin, print its public key\n"
      "  genpsk                    print a new preshared key\n"
      "  check-config FILE         validate a gateway YAML; exit 0 valid, 2 invalid\n"
      "  import FILE.conf [-o OUT.yaml] [--name NAME] [--key-file KEY]\n"
      "                            convert a wg-quick file to a gateway YAML\n"
      "  show [--config FILE] [--json] [--watch [SECONDS]]\n"
      "                            counters of the running gateway\n"
      "  reload [--config FILE]    make the running control plane re-read its YAML\n"
      "\n"
      "FILE defaults to /etc/wirespeed/wsp0.yaml for show and reload.\n",
      out);
  return out == stdout ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace wirespeed::controlplane::cli;
  if (auto hardened = wirespeed::disable_core_dumps(); !hardened) {  // genkey, key files
    std::fprintf(stderr, "wirespeed: %s: %s\n", hardened.error().context,
                 std::strerror(hardened.error().sys_errno));
    return 1;
  }
  if (argc < 2) return usage(stderr);
  const char* cmd = argv[1];
  // Subcommands see their own name as argv[0], as wg's do.
  int sub_argc = argc - 1;
  char** sub_argv = argv + 1;
  if (std::strcmp(cmd, "genkey") == 0) return genkey_command(sub_argc, sub_argv, stdout, stderr);
  if (std::strcmp(cmd, "genpsk") == 0) return genpsk_command(sub_argc, sub_argv, stdout, stderr);
  if (std::strcmp(cmd, "pubkey") == 0) {
    return pubkey_command(sub_argc, sub_argv, stdin, stdout, stderr);
  }
  if (std::strcmp(cmd, "check-config") == 0)
    return check_config_command(sub_argc, sub_argv, stdout, stderr);
  if (std::strcmp(cmd, "import") == 0) return import_command(sub_argc, sub_argv, stdout, stderr);
  if (std::strcmp(cmd, "show") == 0) return show_command(sub_argc, sub_argv, argv[0]);
  if (std::strcmp(cmd, "reload") == 0) return reload_command(sub_argc, sub_argv, argv[0]);
  if (std::strcmp(cmd, "help") == 0 || std::strcmp(cmd, "--help") == 0 ||
      std::strcmp(cmd, "-h") == 0) {
    return usage(stdout);
  }
  std::fprintf(stderr, "wirespeed: unknown command \"%s\"\n", cmd);
  return usage(stderr);
}
