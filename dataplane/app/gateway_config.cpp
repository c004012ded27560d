// Start-up translation of the config (see gateway_config.hpp).
#include "dataplane/app/gateway_config.hpp"

#include <fcntl.h>
#include <rte_eal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace wirespeed::dataplane::app {

net::IpAddr to_net(const config::IpAddress& a) noexcept {
  net::IpAddr out;
  out.family = a.family;
  std::memcpy(out.bytes.data(), a.bytes.data(), 16);
  return out;
}

namespace {

bool fill_port(const config::PortConfig& port, pipeline::PortAddresses& out, std::string* error) {
  for (const config::InterfaceAddress& ia : port.address) {
    const net::IpAddr a = to_net(ia.address);
    if (a.family == 4) {
      if (out.v4_count == pipeline::kMaxOwnAddresses) {
        *error = "port " + port.port + " has more IPv4 addresses than the data path keeps (4)";
        return false;
      }
      out.v4[out.v4_count] = a;
      out.v4_prefix[out.v4_count++] = ia.prefix_length;
    } else {
      if (out.v6_count == pipeline::kMaxOwnAddresses) {
        *error = "port " + port.port + " has more IPv6 addresses than the data path keeps (4)";
        return false;
      }
      out.v6[out.v6_count] = a;
      out.v6_prefix[out.v6_count++] = ia.prefix_length;
    }
  }
  if (port.gateway) out.gateway = to_net(*port.gateway);
  return true;
}

bool has_option(const std::vector<std::string>& args, const char* name) {
  const size_t len = std::strlen(name);
  for (const std::string& a : args) {
    if (a.compare(0, len, name) == 0) return true;
  }
  return false;
}

}  // namespace

bool fill_addresses(const config::Config& cfg, pipeline::GatewayConfig& out, std::string* error) {
  out.listen_port = cfg.listen_port;
  out.mtu = cfg.mtu;
  return fill_port(cfg.outer, out.addresses[static_cast<unsigned>(shm::PortRole::kOuter)], error) &&
         fill_port(cfg.inner, out.addresses[static_cast<unsigned>(shm::PortRole::kInner)], error);
}

std::vector<std::string> primary_eal_args(const config::Config& cfg, const char* argv0,
                                          const std::vector<std::string>& command_line) {
  std::vector<std::string> args{argv0};
  const std::vector<std::string>& given = command_line.empty() ? cfg.eal : command_line;
  args.insert(args.end(), given.begin(), given.end());
  if (!has_option(args, "--file-prefix")) args.push_back("--file-prefix=" + cfg.file_prefix);
  if (!has_option(args, "--proc-type")) args.push_back("--proc-type=primary");
  return args;
}

std::vector<std::string> secondary_eal_args(const config::Config& cfg, const char* argv0) {
  // The main lcore of the secondary gets an lcore id the primary never uses
  // (the last one), so nothing indexed by lcore id in shared memory (mempool
  // caches, RCU thread ids) can collide. It runs on CPU 0, and sleeps most of
  // the time.
  return {argv0,
          "--proc-type=secondary",
          "--file-prefix=" + cfg.file_prefix,
          "--lcores=" + std::to_string(RTE_MAX_LCORE - 1) + "@0",
          "--no-pci",
          "--log-level=lib.eal:error",
          "--no-telemetry"};
}

bool init_secondary_eal(const config::Config& cfg, const char* argv0) {
  std::vector<std::string> eal = secondary_eal_args(cfg, argv0);
  std::vector<char*> eal_argv;
  for (std::string& a : eal) eal_argv.push_back(a.data());
  return rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) >= 0;
}

std::string dpdk_runtime_dir(const std::string& file_prefix) {
  // eal_create_runtime_dir() in DPDK's eal_filesystem: root uses /var/run.
  std::string base = "/var/run";
  if (getuid() != 0) {
    const char* xdg = std::getenv("XDG_RUNTIME_DIR");
    base = xdg != nullptr ? xdg : "/tmp";
  }
  return base + "/dpdk/" + file_prefix;
}

bool primary_running(const std::string& file_prefix) {
  const std::string path = dpdk_runtime_dir(file_prefix) + "/config";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // What rte_eal_primary_proc_alive() does, without needing EAL: would a
  // read lock on the file conflict with someone's write lock?
  struct flock lock {};
  lock.l_type = F_RDLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 0;  // the whole file
  const bool locked = fcntl(fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
  close(fd);
  return locked;
}

}  // namespace wirespeed::dataplane::app
