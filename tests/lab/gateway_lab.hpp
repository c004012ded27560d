// Lab harness for the gateway tests: the C++ side of scripts/lib/lab.sh.
//
// A GatewayLab is one instance of the lab topology (three network
// namespaces: the LAN host, the gateway, the remote wireguard-go peer; see
// the picture at the top of scripts/lib/lab.sh). The script does all the
// plumbing, so that scripts/run.sh and these tests share one implementation;
// this side adds what a test needs on top: parsed `--show` state, signals to
// the gateway's processes, background traffic whose output is kept, and a
// teardown that runs however the test ends (RAII).
//
// Every prerequisite that is missing (root, tools, hugepages, the gateway
// binaries) is a failure whose message names it: lab tests never skip.
// The processes lab.sh starts outlive the script; the test process makes
// itself their subreaper so that it can tell an exited gateway from a
// running one and reap it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace wirespeed::test::lab {

// Where lab.sh puts things and the binaries of the build under test. The
// meson build passes its own roots; both can be overridden for a run by hand
// with WIRESPEED_SOURCE_ROOT / WIRESPEED_BUILD_ROOT.
std::string source_root();
std::string build_root();

// Small helpers every lab test uses.
void sleep_ms(int ms);
std::string read_text(const std::string& path);  // the whole file; "" when unreadable
std::string trim(std::string s);                 // without trailing newlines, spaces, CRs

enum class OuterFamily { kIpv4, kIpv6 };

struct LabOptions {
  OuterFamily outer = OuterFamily::kIpv4;  // the tunnel's outer addresses
  bool gateway_knows_endpoint = true;      // peer.endpoint in the gateway's config
  bool remote_knows_endpoint = true;       // `wg set ... endpoint` on the remote
  bool preshared_key = false;              // the same PSK on both sides
};

enum class Where { kGateway, kRemote, kLan };
enum class GatewayProcess { kDataplane, kControlplane };

// `wirespeed-controlplane --show`, one record per line:
//   interface NAME listen_port N
//   peer SLOT key value key value ...
//   counter NAME N
//   drop REASON N
// Unknown record types are ignored (the format may grow).
struct ShowState {
  std::map<std::string, std::string> interface;           // "name", "listen_port"
  std::vector<std::map<std::string, std::string>> peers;  // "slot", "public_key", "endpoint", ...
  std::map<std::string, uint64_t> counters;
  std::map<std::string, uint64_t> drops;
  std::string text;  // as printed

  uint64_t counter(const std::string& name) const;  // 0 when absent
  uint64_t drop(const std::string& reason) const;   // 0 when absent
  // The peer whose public_key is `public_key_b64`; nullptr when absent.
  const std::map<std::string, std::string>* peer(const std::string& public_key_b64) const;
  // A numeric field of that peer; -1 when the peer or field is absent or not a number.
  int64_t peer_number(const std::string& public_key_b64, const std::string& field) const;
};

bool parse_show(const std::string& text, ShowState* out, std::string* error);

// A process a test started in one of the lab's namespaces, its output in a
// log file. Move-only; SIGKILLed and reaped when destroyed unless waited for.
class Background {
 public:
  Background() = default;
  ~Background();
  Background(Background&& other) noexcept;
  Background& operator=(Background&& other) noexcept;
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;

  static constexpr int kTimedOut = -2;
  static constexpr int kSignalled = -1;

  bool started() const { return pid_ > 0; }
  bool running();
  bool signal(int sig);
  // Waits up to timeout_ms: the exit status, kSignalled, or kTimedOut (then
  // the process has been killed).
  int wait(int timeout_ms);
  std::string output() const;  // the log so far
  const std::string& log_path() const { return log_path_; }

 private:
  friend class GatewayLab;
  void reset();

  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string log_path_;
};

class GatewayLab {
 public:
  GatewayLab();
  ~GatewayLab();
  GatewayLab(const GatewayLab&) = delete;
  GatewayLab& operator=(const GatewayLab&) = delete;

  // Empty when the lab topology can be made here (root, tools, lab.sh), else
  // what is missing. missing_gateway() adds the gateway binaries and hugepages.
  static std::string missing_tools();
  static std::string missing_gateway();

  // lab.sh up: namespaces, veth, wireguard-go, keys, the gateway's config.
  bool up(const LabOptions& options, std::string* error);
  // lab.sh start-dataplane / start-controlplane: start, wait for "ready".
  bool start_dataplane(std::string* error);
  bool start_controlplane(std::string* error);
  bool start_gateway(std::string* error);
  // lab.sh restart-remote: wireguard-go stopped and started with the same keys.
  bool restart_remote(std::string* error);
  // lab.sh down; also what the destructor does. Removes the lab's directory
  // unless keep_directory() was called.
  void down();
  void keep_directory() { keep_dir_ = true; }

  bool show(ShowState* state, std::string* error);
  // Polls show() until `done` holds or timeout_ms passes; the last state read
  // is left in *state either way.
  template <typename Predicate>
  bool wait_for_show(Predicate done, int timeout_ms, ShowState* state, std::string* error);

  bool running(GatewayProcess which);
  bool send_signal(GatewayProcess which, int signal, std::string* error);

  // --- faults (tests/lab/faults_lab_test.cpp) ---------------------------------
  // lab.sh launch-controlplane: started with `args` added, whether or not the
  // dataplane runs; returns at once (watch log() for what it says).
  bool launch_controlplane(const std::vector<std::string>& args, std::string* error);
  // lab.sh stop-dataplane [--kill]: returns once it has exited (and its tap
  // is gone). The control plane is left alone.
  bool stop_dataplane(bool kill, std::string* error);
  // lab.sh link: the outer veth end in Where::kGateway or Where::kRemote.
  bool set_link(Where where, bool up, std::string* error);
  // The pid lab.sh recorded for a gateway process, or for "remote-wg"; -1 if none.
  pid_t pid(GatewayProcess which) const;
  pid_t remote_pid() const { return pid_of("remote-wg"); }
  // Polls running() until the process has exited; false after timeout_ms.
  bool wait_exited(GatewayProcess which, int timeout_ms);
  // The exit status of a gateway process that running() saw exit:
  // Background::kSignalled if a signal ended it, -3 if not known (yet).
  int exit_status(GatewayProcess which) const;
  // The process's current log (DIR/dataplane.log or DIR/controlplane.log).
  std::string log(GatewayProcess which) const;

  int exec(Where where, const std::vector<std::string>& argv, std::string* out = nullptr);
  Background spawn(Where where, const std::vector<std::string>& argv, const std::string& log_name);
  // ping -c count within deadline_s seconds (exit 0 only if all `count`
  // replies came); source is -I's argument or empty.
  int ping(Where from, const std::string& to, int count, int deadline_s, std::string* out,
           const std::string& source = "");

  const std::string& tag() const { return tag_; }
  const std::string& dir() const { return dir_; }
  std::string namespace_of(Where where) const;
  // A value from DIR/lab.env (GW_PUB, REMOTE_PUB, WG_IF, TAP_IF, ...); "" when absent.
  std::string env(const std::string& key) const;
  // The tails of the processes' logs and a --show, for a failure message.
  std::string diagnostics();

 private:
  int lab_sh(const std::vector<std::string>& args, std::string* out);
  pid_t pid_of(const std::string& name) const;
  void reap_known();

  std::string tag_;
  std::string dir_;
  std::map<std::string, std::string> env_;
  bool is_up_ = false;
  bool keep_dir_ = false;
  std::map<pid_t, int> exit_status_;  // wait status of gateway processes running() reaped
};

// A file sent over TCP through the tunnel, by scripts/lib/lab_traffic.py,
// and checked by SHA-256 on arrival: from the LAN host to the remote peer, or
// the other way.
class Transfer {
 public:
  static constexpr uint16_t kPort = 7000;

  // Writes `bytes` random bytes to a file in the lab's directory, starts the
  // receiver (on the remote, 10.8.1.2, or on the LAN host, 10.8.0.2) and, once
  // it listens, the sender at `from` (Where::kLan or Where::kRemote); rate is
  // in bytes per second, 0 for as fast as it goes.
  bool start(GatewayLab& lab, uint64_t bytes, double rate, std::string* error,
             Where from = Where::kLan);
  // How much has arrived so far (the receiver writes as it reads).
  uint64_t received() const;
  bool wait_received(uint64_t at_least, int timeout_ms);
  // Waits for both ends to finish, then compares the SHA-256 of both files.
  // On failure *error says which end failed and how (with its output).
  bool finish(int timeout_ms, std::string* error);

 private:
  Background receiver_;
  Background sender_;
  std::string sent_path_;
  std::string received_path_;
};

std::string sha256_of_file(const std::string& path);  // hex, "" on error

template <typename Predicate>
bool GatewayLab::wait_for_show(Predicate done, int timeout_ms, ShowState* state,
                               std::string* error) {
  for (int waited = 0;; waited += 200) {
    if (!show(state, error)) return false;
    if (done(*state)) return true;
    if (waited >= timeout_ms) break;
    struct timespec ts {
      0, 200 * 1000 * 1000
    };
    nanosleep(&ts, nullptr);
  }
  *error = "condition not reached within " + std::to_string(timeout_ms) + " ms; last --show:\n" +
           state->text;
  return false;
}

}  // namespace wirespeed::test::lab
