// The config tests' fixture: keys, a full config as numbered lines, a
// temporary directory, and a loader that reads text. Shared by
// config_test.cpp (loading, key files, examples) and config_errors_test.cpp
// (every error's place and message, secrets kept out of messages).
#pragma once

#include "config/config.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "controlplane/crypto/x25519.hpp"
#include "tests/support/hex.hpp"

namespace wirespeed::config {

using controlplane::peers::format_address;
using controlplane::peers::format_prefix;
using test::from_base64;
using test::read_text_file;
using test::to_base64;

inline const std::string kExamplesDir = std::string(WS_TEST_DATA_DIR) + "/../../config/examples";

// ---- fixtures ------------------------------------------------------------

inline std::array<uint8_t, 32> bytes_from(uint8_t seed, uint8_t step) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed + step * i);
  return b;
}

inline std::string b64(const std::array<uint8_t, 32>& b) {
  return to_base64(b.data(), b.size());
}

inline const std::array<uint8_t, 32> kPriv = [] {
  auto b = bytes_from(1, 7);
  b[0] &= 248;  // clamped, as wg genkey writes
  b[31] = static_cast<uint8_t>((b[31] & 127) | 64);
  return b;
}();
inline const std::array<uint8_t, 32> kPub1 = bytes_from(100, 1);
inline const std::array<uint8_t, 32> kPub2 = bytes_from(200, 3);
inline const std::array<uint8_t, 32> kPsk = bytes_from(50, 5);

inline std::string own_public_b64() {
  controlplane::crypto::PrivateKey priv{std::span<const uint8_t, 32>(kPriv)};
  return b64(controlplane::crypto::public_key(priv));
}

inline void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// Keys are written as @TOKENS@ so that the template's columns stay readable;
// a token is replaced by 44 characters, which moves only what follows it on
// its own line.
inline std::string with_keys(std::string text) {
  replace_all(text, "@OWNPUB@", own_public_b64());
  replace_all(text, "@PRIV@", b64(kPriv));
  replace_all(text, "@PUB1@", b64(kPub1));
  replace_all(text, "@PUB2@", b64(kPub2));
  replace_all(text, "@PSK@", b64(kPsk));
  return text;
}

// A config using every key. Line numbers are in the comments: the error table
// below refers to them.
inline const std::vector<std::string> kFull = {
    "interface:",                                       // 1
    "  name: wsp0",                                     // 2
    "  private_key: @PRIV@",                            // 3
    "  listen_port: 51821",                             // 4
    "  mtu: 1400",                                      // 5
    "dataplane:",                                       // 6
    "  file_prefix: gw1",                               // 7
    "  eal: [\"-l\", \"0-2\", \"--vdev=net_tap0\"]",    // 8
    "  workers: [1, 2]",                                // 9
    "  outer:",                                         // 10
    "    port: net_af_packet0",                         // 11
    "    queues: 2",                                    // 12
    "    address: [192.0.2.1/24, \"2001:db8::1/64\"]",  // 13
    "    gateway: 192.0.2.254",                         // 14
    "  inner:",                                         // 15
    "    port: net_tap0",                               // 16
    "    queues: 2",                                    // 17
    "    address: [10.8.0.1/24]",                       // 18
    "peers:",                                           // 19
    "  - name: branch-1",                               // 20
    "    public_key: @PUB1@",                           // 21
    "    preshared_key: @PSK@",                         // 22
    "    endpoint: 192.0.2.2:51820",                    // 23
    "    allowed_ips: [10.8.1.7/24, fd00:1::/64]",      // 24
    "    persistent_keepalive: 25",                     // 25
    "  - public_key: @PUB2@",                           // 26
    "    endpoint: \"[2001:db8::2]:51821\"",            // 27
    "    allowed_ips: []",                              // 28
};

// kFull with line `line` (1-based) replaced by `text` ("" blanks it, keeping
// the numbering; "a\nb" inserts).
inline std::string full_with(unsigned line, const std::string& text) {
  std::string out;
  for (size_t i = 0; i < kFull.size(); ++i) {
    out += (i + 1 == line) ? text : kFull[i];
    out += "\n";
  }
  return with_keys(out);
}

inline LoadResult load(const std::string& text, const std::string& base_dir = "/nonexistent") {
  return load_config_text(text, "gw.yaml", base_dir);
}

// A fresh directory under TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = std::filesystem::temp_directory_path().string() + "/ws-config-test.XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

  // Writes `name` with exactly `mode` (fchmod: the umask does not apply).
  std::string write(const std::string& name, const std::string& content, mode_t mode) const {
    const std::string file = path_ + "/" + name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0) << file;
    EXPECT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    EXPECT_EQ(::fchmod(fd, mode), 0);
    ::close(fd);
    return file;
  }

 private:
  std::string path_;
};

inline std::string error_of(const LoadResult& r) {
  return r.config ? std::string("(loaded without error)") : r.error.to_string();
}

// kFull with the inline private key swapped for `private_key_file: <path>`;
// the path's value starts at line 3, column 21.
inline std::string full_with_key_file(const std::string& path) {
  return full_with(3, "  private_key_file: " + path);
}

}  // namespace wirespeed::config
