// Lab harness: wireguard-go in a test-made network namespace
// (tests/lab/wireguard_go_peer.hpp).
#include "tests/lab/wireguard_go_peer.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

extern char** environ;

namespace wirespeed::test::lab {
namespace {

std::vector<char*> to_argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

bool on_path(const std::string& tool) {
  return run_command({"sh", "-c", "command -v " + tool + " >/dev/null"}) == 0;
}

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

bool write_key_file(const std::string& path, const std::string& key_b64) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return false;
  const std::string line = key_b64 + "\n";
  const bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  close(fd);
  return ok;
}

}  // namespace

int run_command(const std::vector<std::string>& argv, std::string* out) {
  char path[] = "/tmp/ws-lab-out-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
  pid_t pid = -1;
  auto args = to_argv(argv);
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = -1;
  if (rc == 0) waitpid(pid, &status, 0);
  if (out != nullptr) {
    std::ifstream in(path);
    out->assign(std::istreambuf_iterator<char>(in), {});
  }
  close(fd);
  unlink(path);
  if (rc != 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string missing_prerequisites() {
  std::string missing;
  if (geteuid() != 0) missing += " root (run as root: network namespaces and TUN devices need it);";
  struct stat st{};
  if (stat("/dev/net/tun", &st) != 0) missing += " /dev/net/tun (scripts/setup.sh creates it);";
  for (const char* tool : {"wireguard-go", "wg", "ip"}) {
    if (!on_path(tool)) {
      missing += std::string(" ") + tool + " (scripts/setup.sh installs it);";
    }
  }
  return missing;
}

bool WireguardGoPeer::start(const std::string& tag, const PeerConfig& config, std::string* error) {
  const std::string pid = std::to_string(getpid());
  netns_ = "ws-" + tag + "-" + pid;
  interface_ = "ws" + tag.substr(0, 4) + pid;  // IFNAMSIZ: 15 characters at most
  if (interface_.size() > 15) interface_ = interface_.substr(0, 15);

  std::string out;
  if (run_command({"ip", "netns", "add", netns_}, &out) != 0) {
    *error = "ip netns add " + netns_ + " failed: " + out;
    netns_.clear();
    return false;
  }
  exec_in_namespace({"ip", "link", "set", "lo", "up"});

  char dir[] = "/tmp/ws-lab-keys-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    *error = "mkdtemp failed";
    return false;
  }
  key_dir_ = dir;

  // -f keeps wireguard-go in the foreground so that its pid is ours to stop.
  wg_pid_ = spawn_in_namespace({"wireguard-go", "-f", interface_});
  if (wg_pid_ < 0) {
    *error = "could not start wireguard-go";
    return false;
  }
  const std::string sock = "/var/run/wireguard/" + interface_ + ".sock";
  struct stat st{};
  for (int i = 0; i < 100 && stat(sock.c_str(), &st) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (stat(sock.c_str(), &st) != 0) {
    *error = "wireguard-go did not create " + sock + " within 2 s";
    return false;
  }

  const std::string priv = key_dir_ + "/private.key";
  if (!write_key_file(priv, config.private_key_b64)) {
    *error = "cannot write " + priv;
    return false;
  }
  std::vector<std::string> set = {"wg", "set", interface_, "private-key", priv, "listen-port",
                                  std::to_string(config.listen_port), "peer",
                                  config.peer_public_key_b64, "allowed-ips", config.peer_allowed_ips};
  if (!config.peer_endpoint.empty()) {
    set.insert(set.end(), {"endpoint", config.peer_endpoint});
  }
  if (!config.preshared_key_b64.empty()) {
    const std::string psk = key_dir_ + "/preshared.key";
    if (!write_key_file(psk, config.preshared_key_b64)) {
      *error = "cannot write " + psk;
      return false;
    }
    set.insert(set.end(), {"preshared-key", psk});
  }
  for (const auto& cmd : std::vector<std::vector<std::string>>{
           set,
           {"ip", "address", "add", config.tunnel_cidr, "dev", interface_},
           {"ip", "link", "set", interface_, "up"}}) {
    if (exec_in_namespace(cmd, &out) != 0) {
      *error = "in " + netns_ + ": `" + join(cmd) + "` failed: " + out;
      return false;
    }
  }
  return true;
}

bool WireguardGoPeer::enter(std::string* error) {
  if (original_netns_fd_ < 0) original_netns_fd_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  const std::string path = "/var/run/netns/" + netns_;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
    *error = "cannot enter " + path + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return false;
  }
  close(fd);
  return true;
}

void WireguardGoPeer::leave() {
  if (original_netns_fd_ >= 0) {
    (void)setns(original_netns_fd_, CLONE_NEWNET);
    close(original_netns_fd_);
    original_netns_fd_ = -1;
  }
}

int WireguardGoPeer::exec_in_namespace(const std::vector<std::string>& argv, std::string* out) {
  std::vector<std::string> full = {"ip", "netns", "exec", netns_};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, out);
}

pid_t WireguardGoPeer::spawn_in_namespace(const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"ip", "netns", "exec", netns_};
  full.insert(full.end(), argv.begin(), argv.end());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  auto args = to_argv(full);
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int WireguardGoPeer::wait_background(pid_t pid, int timeout_ms) {
  int status = 0;
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

void WireguardGoPeer::stop() {
  leave();
  if (wg_pid_ > 0) {
    kill(wg_pid_, SIGTERM);
    if (wait_background(wg_pid_, 2000) < 0) kill(wg_pid_, SIGKILL);
    wg_pid_ = -1;
  }
  if (!interface_.empty()) unlink(("/var/run/wireguard/" + interface_ + ".sock").c_str());
  if (!netns_.empty()) run_command({"ip", "netns", "delete", netns_});
  if (!key_dir_.empty()) run_command({"rm", "-rf", key_dir_});
  netns_.clear();
}

WireguardGoPeer::~WireguardGoPeer() { stop(); }

}  // namespace wirespeed::test::lab
