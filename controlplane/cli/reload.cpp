// `wirespeed reload` (reload.hpp): validate, find the control plane by its
// UAPI socket, SIGHUP it.
#include "controlplane/cli/reload.hpp"

#include <rte_eal.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "controlplane/cli/show.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "dataplane/shm/state.hpp"

namespace wirespeed::controlplane::cli {

namespace {

constexpr char kUapiDirectory[] = "/var/run/wireguard";
// /proc/PID/comm keeps 15 characters of the executable's name.
constexpr char kControlplaneComm[] = "wirespeed-contr";

int usage() {
  std::fputs("Usage: wirespeed reload [--config FILE]\n", stderr);
  return 1;
}

// The --config argument of `pid`'s command line, or "".
std::string config_of(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream buf;
  buf << f.rdbuf();
  const std::string all = buf.str();
  std::vector<std::string> args;
  for (size_t start = 0; start < all.size();) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) return args[i + 1];
    if (args[i].starts_with("--config=")) return args[i].substr(9);
  }
  return "";
}

// realpath() as a string; `path` itself when it cannot be resolved. The
// other process's relative path is resolved against its own cwd.
std::string resolved(const std::string& path, pid_t relative_to) {
  std::string full = path;
  if (!path.empty() && path[0] != '/' && relative_to > 0) {
    full = "/proc/" + std::to_string(relative_to) + "/cwd/" + path;
  }
  char buf[PATH_MAX];
  return realpath(full.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// The second way: the pid the control plane wrote into the shared state's
// header (attaching as a DPDK secondary, as `wirespeed show` does). -1 with
// *error when there is no dataplane or no control plane attached to it.
pid_t header_pid(const config::Config& cfg, const char* argv0, std::string* error) {
  if (!dataplane::app::primary_running(cfg.file_prefix)) {
    *error = "no dataplane runs with file prefix " + cfg.file_prefix;
    return -1;
  }
  if (!dataplane::app::init_secondary_eal(cfg, argv0)) {
    *error = "no dataplane runs with file prefix " + cfg.file_prefix;
    return -1;
  }
  pid_t pid = -1;
  {
    auto state = dataplane::shm::SharedState::attach();
    if (!state) {
      *error = state.error().context;
    } else if (const uint32_t p = state->zone().header.controlplane_pid.load(); p != 0) {
      pid = static_cast<pid_t>(p);
    } else {
      *error = "the dataplane has no control plane attached";
    }
  }
  rte_eal_cleanup();
  return pid;
}

}  // namespace

pid_t listener_pid(const std::string& path, std::string* error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = path + ": path too long for a unix socket";
    return -1;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  pid_t pid = -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = path + ": " + std::strerror(errno);
  } else {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0) {
      *error = path + ": cannot read the listener's credentials: " + std::strerror(errno);
    } else {
      pid = cred.pid;
    }
  }
  close(fd);
  return pid;
}

std::string process_name(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(f, name);
  return name;
}

int reload_command(int argc, char** argv, const char* argv0) {
  std::string config_path = kDefaultConfig;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.starts_with("--config=")) {
      config_path = std::string(a.substr(9));
    } else {
      return usage();
    }
  }
  const config::LoadResult loaded = config::load_config(config_path);
  if (!loaded.config) {
    std::fprintf(stderr, "%s\n", loaded.error.to_string().c_str());
    std::fprintf(stderr,
                 "wirespeed reload: not reloading: the file is invalid, the gateway keeps running "
                 "as it is\n");
    return 2;
  }
  const std::string socket_path = std::string(kUapiDirectory) + "/" + loaded.config->name + ".sock";
  std::string error;
  pid_t pid = listener_pid(socket_path, &error);
  if (pid <= 0) {
    std::string shm_error;
    pid = header_pid(*loaded.config, argv0, &shm_error);
    if (pid <= 0) {
      std::fprintf(stderr, "wirespeed reload: no control plane found for %s: %s; %s\n",
                   loaded.config->name.c_str(), error.c_str(), shm_error.c_str());
      return 1;
    }
  }
  const std::string comm = process_name(pid);
  if (comm != kControlplaneComm) {
    std::fprintf(stderr,
                 "wirespeed reload: %s belongs to pid %d (%s), not wirespeed-controlplane; not "
                 "signalling it\n",
                 socket_path.c_str(), static_cast<int>(pid), comm.c_str());
    return 1;
  }
  const std::string theirs = config_of(pid);
  if (!theirs.empty() && resolved(theirs, pid) != resolved(config_path, 0)) {
    std::fprintf(stderr,
                 "wirespeed reload: warning: the control plane (pid %d) runs %s, not %s; it "
                 "re-reads its own file\n",
                 static_cast<int>(pid), theirs.c_str(), config_path.c_str());
  }
  if (kill(pid, SIGHUP) != 0) {
    std::fprintf(stderr, "wirespeed reload: cannot signal pid %d: %s\n", static_cast<int>(pid),
                 std::strerror(errno));
    return 1;
  }
  std::printf(
      "wirespeed reload: sent SIGHUP to wirespeed-controlplane (pid %d) of %s; its log says what "
      "changed\n",
      static_cast<int>(pid), loaded.config->name.c_str());
  return 0;
}

}  // namespace wirespeed::controlplane::cli
