// `wirespeed check-config` (check_config.hpp). `wirespeed` process only.
#include "controlplane/cli/check_config.hpp"

#include <string>

#include "controlplane/cli/keys.hpp"

namespace wirespeed::controlplane::cli {

std::string describe_config(const config::Config& cfg) {
  const crypto::PublicKey pub = crypto::public_key(cfg.private_key);
  std::string s = "interface " + cfg.name + " public_key " + key_to_base64(pub) + " listen_port " +
                  std::to_string(cfg.listen_port) + " mtu " + std::to_string(cfg.mtu) + ", " +
                  std::to_string(cfg.peers.size()) + " peer(s), file_prefix " + cfg.file_prefix +
                  ", " + std::to_string(cfg.workers.size()) + " worker(s), outer " +
                  cfg.outer.port + ", inner " + cfg.inner.port;
  return s;
}

int check_config_command(int argc, char** argv, std::FILE* out, std::FILE* err) {
  if (argc != 2 || argv[1][0] == '-') {
    std::fputs("Usage: wirespeed check-config FILE\n", err);
    return 1;
  }
  const config::LoadResult loaded = config::load_config(argv[1]);
  if (!loaded.config) {
    std::fprintf(err, "%s\n", loaded.error.to_string().c_str());
    return 2;
  }
  std::fprintf(out, "%s: ok: %s\n", argv[1], describe_config(*loaded.config).c_str());
  return 0;
}

}  // namespace wirespeed::controlplane::cli
