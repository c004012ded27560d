// Background traffic through the lab tunnel for the gateway tests
// (tests/lab/gateway_lab.hpp: Transfer): a file sent over TCP and checked
// by its SHA-256 at the other end.
#include <sys/stat.h>

#include <chrono>
#include <thread>

#include "tests/lab/gateway_lab.hpp"
#include "tests/lab/wireguard_go_peer.hpp"

namespace wirespeed::test::lab {

std::string sha256_of_file(const std::string& path) {
  std::string out;
  if (run_command({"sha256sum", path}, &out) != 0) return {};
  const size_t space = out.find(' ');
  return space == 64 ? out.substr(0, 64) : std::string();
}

bool Transfer::start(GatewayLab& lab, uint64_t bytes, double rate, std::string* error, Where from) {
  if (from != Where::kLan && from != Where::kRemote) {
    *error = "a transfer goes from the LAN host or from the remote";
    return false;
  }
  const Where to = from == Where::kLan ? Where::kRemote : Where::kLan;
  const std::string to_address = to == Where::kRemote ? "10.8.1.2" : "10.8.0.2";
  sent_path_ = lab.dir() + "/transfer.sent";
  received_path_ = lab.dir() + "/transfer.received";
  const std::string dd = "head -c " + std::to_string(bytes) + " /dev/urandom >" + sent_path_;
  if (run_command({"sh", "-c", dd}) != 0) {
    *error = "could not write " + std::to_string(bytes) + " random bytes to " + sent_path_;
    return false;
  }
  const std::string script = source_root() + "/scripts/lib/lab_traffic.py";
  const std::string port = std::to_string(kPort);
  receiver_ = lab.spawn(
      to,
      {"python3", script, "recv", "--bind", to_address, "--port", port, "--out", received_path_},
      "transfer-receiver");
  for (int i = 0;
       i < 250 && receiver_.running() && receiver_.output().find("listening") == std::string::npos;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (receiver_.output().find("listening") == std::string::npos) {
    *error = "the receiver in " + lab.namespace_of(to) + " did not start listening:\n" +
             receiver_.output();
    return false;
  }
  std::vector<std::string> send = {"python3", script, "send",   "--to",    to_address,
                                   "--port",  port,   "--file", sent_path_};
  if (rate > 0) send.insert(send.end(), {"--rate", std::to_string(static_cast<uint64_t>(rate))});
  sender_ = lab.spawn(from, send, "transfer-sender");
  if (!sender_.started()) {
    *error = "could not start the sender";
    return false;
  }
  return true;
}

uint64_t Transfer::received() const {
  struct stat st {};
  return stat(received_path_.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool Transfer::wait_received(uint64_t at_least, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 50) {
    if (received() >= at_least) return true;
    if (!receiver_.running() && received() < at_least) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool Transfer::finish(int timeout_ms, std::string* error) {
  const auto describe = [](int status) {
    if (status == Background::kTimedOut) return std::string("did not finish in time (killed)");
    if (status == Background::kSignalled) return std::string("died of a signal");
    return "exited with status " + std::to_string(status);
  };
  const int sent = sender_.wait(timeout_ms);
  const int received = receiver_.wait(sent == 0 ? 20000 : 1000);
  if (sent != 0 || received != 0) {
    *error = "transfer failed: sender " + describe(sent) + ", receiver " + describe(received) +
             " after " + std::to_string(this->received()) + " bytes arrived\n--- sender ---\n" +
             sender_.output() + "--- receiver ---\n" + receiver_.output();
    return false;
  }
  const std::string want = sha256_of_file(sent_path_);
  const std::string got = sha256_of_file(received_path_);
  if (want.empty() || want != got) {
    *error = "SHA-256 differs: sent " + want + ", received " + got + " (" +
             std::to_string(this->received()) + " bytes arrived)";
    return false;
  }
  return true;
}

}  // namespace wirespeed::test::lab
