// Lab harness for the gateway tests (tests/lab/gateway_lab.hpp): drives
// scripts/lib/lab.sh and the processes it starts. Runs in the test process;
// everything it starts it also stops. The --show parser is show_state.cpp,
// background traffic transfer.cpp.
#include "tests/lab/gateway_lab.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/lab/wireguard_go_peer.hpp"

extern char** environ;

namespace wirespeed::test::lab {
namespace {

#ifndef WS_SOURCE_ROOT
#error "WS_SOURCE_ROOT must be defined by the build (tests/meson.build)"
#endif
#ifndef WS_BUILD_ROOT
#error "WS_BUILD_ROOT must be defined by the build (tests/meson.build)"
#endif

std::string tail(const std::string& text, size_t lines) {
  size_t at = text.size();
  for (size_t n = 0; at > 0 && n <= lines; --at) {
    if (text[at - 1] == '\n') ++n;
  }
  return text.substr(at == 0 ? 0 : at + 1);
}

bool on_path(const std::string& tool) {
  return run_command({"sh", "-c", "command -v " + tool + " >/dev/null"}) == 0;
}

std::vector<char*> to_argv(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

// A pid that is not our child (or already reaped): alive unless gone or a zombie.
bool alive_not_child(pid_t pid) {
  if (kill(pid, 0) != 0) return false;
  const std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] != 'Z';
}

// Tags must be unique among labs that may exist at once on this host (a run
// of this binary, a leftover of a killed one): the pid and a sequence number.
std::string next_tag() {
  static unsigned sequence = 0;
  return "g" + std::to_string(getpid() % 1000000) + std::to_string(sequence++ % 100);
}

}  // namespace

void sleep_ms(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string source_root() {
  const char* env = std::getenv("WIRESPEED_SOURCE_ROOT");
  return env != nullptr && *env != '\0' ? env : WS_SOURCE_ROOT;
}

std::string build_root() {
  const char* env = std::getenv("WIRESPEED_BUILD_ROOT");
  return env != nullptr && *env != '\0' ? env : WS_BUILD_ROOT;
}

// --- Background ------------------------------------------------------------------

Background::~Background() {
  reset();
}

Background::Background(Background&& other) noexcept {
  *this = std::move(other);
}

Background& Background::operator=(Background&& other) noexcept {
  if (this != &other) {
    reset();
    pid_ = other.pid_;
    status_ = other.status_;
    reaped_ = other.reaped_;
    log_path_ = std::move(other.log_path_);
    other.pid_ = -1;
  }
  return *this;
}

void Background::reset() {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
  pid_ = -1;
  reaped_ = false;
}

bool Background::running() {
  if (pid_ <= 0 || reaped_) return false;
  if (waitpid(pid_, &status_, WNOHANG) == pid_) {
    reaped_ = true;
    return false;
  }
  return true;
}

int Background::wait(int timeout_ms) {
  if (pid_ <= 0) return kSignalled;
  for (int waited = 0; !reaped_; waited += 20) {
    if (!running()) break;
    if (waited >= timeout_ms) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status_, 0);
      reaped_ = true;
      return kTimedOut;
    }
    sleep_ms(20);
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : kSignalled;
}

std::string Background::output() const {
  return read_text(log_path_);
}

bool Background::signal(int sig) {
  return pid_ > 0 && !reaped_ && kill(pid_, sig) == 0;
}

// --- GatewayLab --------------------------------------------------------------------

GatewayLab::GatewayLab() {
  // lab.sh's processes are orphaned when it exits; be their reaper.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
}

GatewayLab::~GatewayLab() {
  down();
}

std::string GatewayLab::missing_tools() {
  std::string missing = missing_prerequisites();  // root, /dev/net/tun, wireguard-go, wg, ip
  for (const char* tool : {"ethtool", "python3", "ping", "tcpdump", "sha256sum", "setsid"}) {
    if (!on_path(tool)) missing += std::string(" ") + tool + " (scripts/setup.sh installs it);";
  }
  for (const char* script : {"/scripts/lib/lab.sh", "/scripts/lib/lab_traffic.py"}) {
    if (access((source_root() + script).c_str(), R_OK) != 0)
      missing += " " + source_root() + script + " (not found);";
  }
  return missing;
}

std::string GatewayLab::missing_gateway() {
  std::string missing = missing_tools();
  // lab.sh knows where the build puts them (one place for that).
  std::string out;
  if (run_command({"bash", source_root() + "/scripts/lib/lab.sh", "binaries", build_root()},
                  &out) != 0) {
    std::istringstream lines(out);
    bool named = false;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("lab: ", 0) == 0) {
        missing += " " + line.substr(5) + ";";
        named = true;
      }
    }
    if (!named)
      missing += " the gateway binaries (scripts/lib/lab.sh binaries failed: " + out + ");";
  }
  const std::string meminfo = read_text("/proc/meminfo");
  const size_t at = meminfo.find("HugePages_Free:");
  if (at == std::string::npos || std::atol(meminfo.c_str() + at + 15) <= 0) {
    missing +=
        " free hugepages (scripts/setup.sh reserves them; 'scripts/lib/lab.sh clean' frees "
        "leftovers);";
  }
  return missing;
}

int GatewayLab::lab_sh(const std::vector<std::string>& args, std::string* out) {
  std::vector<std::string> argv = {"bash", source_root() + "/scripts/lib/lab.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, out);
}

bool GatewayLab::up(const LabOptions& options, std::string* error) {
  if (is_up_) {
    *error = "lab already up";
    return false;
  }
  tag_ = next_tag();
  char dir[] = "/tmp/ws-gwlab-XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    *error = std::string("mkdtemp: ") + strerror(errno);
    return false;
  }
  dir_ = dir;
  // Labs of test processes that were killed (a runner's timeout) would hold
  // hugepages and namespaces for good: remove them first.
  lab_sh({"clean-orphans"}, nullptr);
  struct stat st {};
  if (stat(("/run/wirespeed-lab/" + tag_).c_str(), &st) == 0)
    lab_sh({"down", tag_}, nullptr);  // stale

  std::vector<std::string> args = {
      "up", tag_, dir_, "--build", build_root(), "--owner", std::to_string(getpid())};
  args.insert(args.end(), {"--outer", options.outer == OuterFamily::kIpv4 ? "v4" : "v6"});
  if (!options.gateway_knows_endpoint) args.push_back("--no-gateway-endpoint");
  if (!options.remote_knows_endpoint) args.push_back("--no-remote-endpoint");
  if (options.preshared_key) args.push_back("--psk");
  std::string out;
  is_up_ = true;  // down() must run even if up failed half-way
  if (lab_sh(args, &out) != 0) {
    *error = "scripts/lib/lab.sh up failed:\n" + out;
    return false;
  }
  std::istringstream lines(read_text(dir_ + "/lab.env"));
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env_[line.substr(0, eq)] = line.substr(eq + 1);
  }
  if (env("GW_PUB").empty() || env("REMOTE_PUB").empty()) {
    *error = dir_ + "/lab.env lacks the keys; lab.sh printed:\n" + out;
    return false;
  }
  return true;
}

bool GatewayLab::start_dataplane(std::string* error) {
  std::string out;
  if (lab_sh({"start-dataplane", tag_}, &out) != 0) {
    *error = "scripts/lib/lab.sh start-dataplane failed:\n" + out;
    return false;
  }
  return true;
}

bool GatewayLab::start_controlplane(std::string* error) {
  std::string out;
  if (lab_sh({"start-controlplane", tag_}, &out) != 0) {
    *error = "scripts/lib/lab.sh start-controlplane failed:\n" + out;
    return false;
  }
  return true;
}

bool GatewayLab::start_gateway(std::string* error) {
  return start_dataplane(error) && start_controlplane(error);
}

bool GatewayLab::restart_remote(std::string* error) {
  const pid_t old = pid_of("remote-wg");
  std::string out;
  if (lab_sh({"restart-remote", tag_}, &out) != 0) {
    *error = "scripts/lib/lab.sh restart-remote failed:\n" + out;
    return false;
  }
  if (old > 0) waitpid(old, nullptr, WNOHANG);
  return true;
}

pid_t GatewayLab::pid_of(const std::string& name) const {
  if (dir_.empty()) return -1;
  const std::string text = read_text(dir_ + "/" + name + ".pid");
  const long pid = std::atol(text.c_str());
  return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

void GatewayLab::reap_known() {
  for (const char* name : {"dataplane", "controlplane", "remote-wg"}) {
    const pid_t pid = pid_of(name);
    if (pid > 0) waitpid(pid, nullptr, WNOHANG);
  }
}

void GatewayLab::down() {
  if (!is_up_) return;
  is_up_ = false;
  std::string out;
  if (lab_sh({"down", tag_}, &out) != 0) {
    fprintf(stderr, "gateway lab %s: scripts/lib/lab.sh down failed:\n%s\n", tag_.c_str(),
            out.c_str());
  }
  reap_known();
  if (keep_dir_) {
    fprintf(stderr, "gateway lab %s: logs and config kept in %s\n", tag_.c_str(), dir_.c_str());
  } else if (!dir_.empty()) {
    run_command({"rm", "-rf", dir_});
  }
}

bool GatewayLab::show(ShowState* state, std::string* error) {
  std::string out;
  const int rc = lab_sh({"show", tag_}, &out);
  if (rc != 0) {
    *error = "wirespeed-controlplane --show exited with " + std::to_string(rc) + ":\n" + out;
    return false;
  }
  return parse_show(out, state, error);
}

bool GatewayLab::running(GatewayProcess which) {
  const pid_t pid = pid_of(which == GatewayProcess::kDataplane ? "dataplane" : "controlplane");
  if (pid <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) {  // it exited; now reaped
    exit_status_[pid] = status;
    return false;
  }
  if (r == 0) return true;     // our (adopted) child, still running
  return alive_not_child(pid);
}

bool GatewayLab::send_signal(GatewayProcess which, int signal, std::string* error) {
  const char* name = which == GatewayProcess::kDataplane ? "dataplane" : "controlplane";
  const pid_t pid = pid_of(name);
  if (pid <= 0 || !running(which)) {
    *error = std::string(name) + " is not running (pid file " + dir_ + "/" + name + ".pid)";
    return false;
  }
  if (kill(pid, signal) != 0) {
    *error = std::string("kill(") + name + "): " + strerror(errno);
    return false;
  }
  return true;
}

bool GatewayLab::launch_controlplane(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> argv = {"launch-controlplane", tag_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  if (lab_sh(argv, &out) != 0) {
    *error = "scripts/lib/lab.sh launch-controlplane failed:\n" + out;
    return false;
  }
  return true;
}

bool GatewayLab::stop_dataplane(bool kill, std::string* error) {
  std::vector<std::string> argv = {"stop-dataplane", tag_};
  if (kill) argv.push_back("--kill");
  std::string out;
  const int rc = lab_sh(argv, &out);
  running(GatewayProcess::kDataplane);  // reap it (we are its subreaper)
  if (rc != 0) {
    *error = "scripts/lib/lab.sh stop-dataplane failed:\n" + out;
    return false;
  }
  return true;
}

bool GatewayLab::set_link(Where where, bool up, std::string* error) {
  if (where != Where::kGateway && where != Where::kRemote) {
    *error = "set_link: the outer link has a gateway end and a remote end only";
    return false;
  }
  std::string out;
  if (lab_sh({"link", tag_, where == Where::kGateway ? "gw" : "remote", up ? "up" : "down"},
             &out) != 0) {
    *error = "scripts/lib/lab.sh link failed:\n" + out;
    return false;
  }
  return true;
}

pid_t GatewayLab::pid(GatewayProcess which) const {
  return pid_of(which == GatewayProcess::kDataplane ? "dataplane" : "controlplane");
}

bool GatewayLab::wait_exited(GatewayProcess which, int timeout_ms) {
  for (int waited = 0; running(which); waited += 5) {
    if (waited >= timeout_ms) return false;
    sleep_ms(5);
  }
  return true;
}

int GatewayLab::exit_status(GatewayProcess which) const {
  const auto it = exit_status_.find(pid(which));
  if (it == exit_status_.end()) return -3;
  return WIFEXITED(it->second) ? WEXITSTATUS(it->second) : Background::kSignalled;
}

std::string GatewayLab::log(GatewayProcess which) const {
  return read_text(dir_ + (which == GatewayProcess::kDataplane ? "/dataplane.log"
                                                               : "/controlplane.log"));
}

std::string GatewayLab::namespace_of(Where where) const {
  switch (where) {
    case Where::kGateway:
      return env("NS_GW");
    case Where::kRemote:
      return env("NS_REMOTE");
    case Where::kLan:
      return env("NS_LAN");
  }
  return {};
}

std::string GatewayLab::env(const std::string& key) const {
  const auto it = env_.find(key);
  return it == env_.end() ? std::string() : it->second;
}

int GatewayLab::exec(Where where, const std::vector<std::string>& argv, std::string* out) {
  std::vector<std::string> full = {"ip", "netns", "exec", namespace_of(where)};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full, out);
}

Background GatewayLab::spawn(Where where, const std::vector<std::string>& argv,
                             const std::string& log_name) {
  Background bg;
  bg.log_path_ = dir_ + "/" + log_name + ".log";
  std::vector<std::string> full = {"ip", "netns", "exec", namespace_of(where)};
  full.insert(full.end(), argv.begin(), argv.end());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, bg.log_path_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  auto args = to_argv(full);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ) == 0) bg.pid_ = pid;
  posix_spawn_file_actions_destroy(&actions);
  return bg;
}

int GatewayLab::ping(Where from, const std::string& to, int count, int deadline_s, std::string* out,
                     const std::string& source) {
  std::vector<std::string> argv = {"ping", "-n",  "-c", std::to_string(count),
                                   "-i",   "0.2", "-w", std::to_string(deadline_s)};
  if (!source.empty()) argv.insert(argv.end(), {"-I", source});
  argv.push_back(to);
  return exec(from, argv, out);
}

std::string GatewayLab::diagnostics() {
  // The runner shows only the last lines of a failed test's output: the
  // processes' own logs go last.
  std::string text = "=== gateway lab " + tag_ + ", kept in " + dir_ + " ===\n";
  if (running(GatewayProcess::kDataplane)) {
    std::string out;
    lab_sh({"show", tag_}, &out);
    text += "--- --show ---\n" + out;
  } else {
    text += "--- the dataplane is not running ---\n";
  }
  std::string wg;
  exec(Where::kRemote, {"wg", "show", env("WG_IF")}, &wg);
  text += "--- wg show (remote) ---\n" + wg;
  for (const char* name : {"remote-wg", "dataplane", "controlplane"}) {
    text += "--- " + std::string(name) + ".log (last lines) ---\n" +
            tail(read_text(dir_ + "/" + name + ".log"), 15) + "\n";
  }
  return text;
}

}  // namespace wirespeed::test::lab
