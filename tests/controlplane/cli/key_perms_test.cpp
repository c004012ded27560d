// Key files are owner-only (issue 6). The real binaries, run as an operator
// would run them:
//   * `wirespeed genkey/genpsk > FILE` warn, as wg does, when the umask left
//     FILE open to others (the key goes to stdout: the shell creates the
//     file, so the warning is all the command can do);
//   * wirespeed-dataplane, wirespeed-controlplane and `wirespeed check-config`
//     refuse a private key file or preshared key file that group or others
//     can read, exit 2 and name the file, its mode and the fix, before EAL or
//     any device is touched; the same for an inline key in a YAML file that
//     group or others can read.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <string>

#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed {
namespace {

using test::cli::Captured;
using test::cli::shell;
using test::cli::TempDir;

const std::string kCli = WS_CLI_BINARY;
const std::string kDataplane = WS_DATAPLANE_BINARY;
const std::string kControlplane = WS_CONTROLPLANE_BINARY;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST(KeyFilePermissions, GenkeyAndGenpskWarnWhenTheirFileIsOpenToOthers) {
  TempDir dir;
  for (const char* cmd : {"genkey", "genpsk"}) {
    const std::string loose = dir.path() + "/loose-" + cmd;
    const Captured warned = shell("umask 022; " + kCli + " " + cmd + " > " + loose);
    EXPECT_EQ(warned.status, 0) << cmd;
    EXPECT_EQ(mode_of(loose), 0644u);
    EXPECT_EQ(warned.err,
              "Warning: writing to world accessible file.\n"
              "Consider setting the umask to 077 and trying again.\n")
        << cmd;
    const std::string tight = dir.path() + "/tight-" + cmd;
    const Captured quiet = shell("umask 077; " + kCli + " " + cmd + " > " + tight);
    EXPECT_EQ(quiet.status, 0) << cmd;
    EXPECT_EQ(mode_of(tight), 0600u);
    EXPECT_EQ(quiet.err, "") << cmd;
  }
}

// A complete gateway config whose keys are in files next to it.
std::string config_text() {
  return "interface:\n"
         "  name: wsp9\n"
         "  private_key_file: gw.key\n"
         "  listen_port: 51820\n"
         "dataplane:\n"
         "  file_prefix: wsperm\n"
         "  eal: [\"-l\", \"0-1\", \"--no-pci\"]\n"
         "  workers: [1]\n"
         "  outer:\n"
         "    port: net_af_packet0\n"
         "    queues: 1\n"
         "    address: [192.0.2.1/24]\n"
         "  inner:\n"
         "    port: net_tap0\n"
         "    queues: 1\n"
         "    address: [10.8.0.1/24]\n"
         "peers:\n"
         "  - public_key: QdC5JFYIPkEf03cheXOuIBs74fLSp31HEJjzG1Kjc4I=\n"
         "    preshared_key_file: peer.psk\n"
         "    allowed_ips: [10.8.1.0/24]\n";
}

TEST(KeyFilePermissions, EveryProcessRefusesAKeyFileOthersCanRead) {
  TempDir dir;
  const std::string config = dir.write("gw.yaml", config_text());
  const std::string key = dir.path() + "/gw.key", psk = dir.path() + "/peer.psk";
  ASSERT_EQ(shell("umask 077; " + kCli + " genkey > " + key).status, 0);
  ASSERT_EQ(shell("umask 077; " + kCli + " genpsk > " + psk).status, 0);
  ASSERT_EQ(shell(kCli + " check-config " + config).status, 0) << "the control: 0600 is accepted";

  struct Case {
    std::string file;
    mode_t mode;
    std::string where;  // line:column: key
    std::string why;
  };
  const Case cases[] = {
      {key, 0644, "3:21: interface.private_key_file: ", "readable by group or others (mode 0644)"},
      {key, 0604, "3:21: interface.private_key_file: ", "readable by group or others (mode 0604)"},
      {psk, 0640,
       "19:25: peers[0].preshared_key_file: ", "readable by group or others (mode 0640)"},
      {psk, 0602, "19:25: peers[0].preshared_key_file: ", "open to group or others (mode 0602)"},
  };
  const std::string runs[][2] = {
      {"wirespeed-dataplane", kDataplane + " -- --config " + config},
      {"wirespeed-controlplane", kControlplane + " --config " + config},
      {"", kCli + " check-config " + config},
  };
  for (const Case& c : cases) {
    ASSERT_EQ(chmod(c.file.c_str(), c.mode), 0);
    const std::string message =
        config + ":" + c.where + c.file + ": key file is " + c.why + "; chmod 600 it\n";
    for (const auto& run : runs) {
      const Captured r = shell(run[1]);
      EXPECT_EQ(r.status, 2) << run[1];
      EXPECT_EQ(r.err, run[0].empty() ? message : run[0] + ": " + message) << run[1];
    }
    ASSERT_EQ(chmod(c.file.c_str(), 0600), 0);
  }
}

// An inline key is as secret as the YAML that holds it: the same rule.
TEST(KeyFilePermissions, EveryProcessRefusesAnInlineKeyInAFileOthersCanRead) {
  TempDir dir;
  const Captured key = shell(kCli + " genkey");
  ASSERT_EQ(key.status, 0);
  std::string text = config_text();
  text.replace(text.find("private_key_file: gw.key"), std::strlen("private_key_file: gw.key"),
               "private_key: " + key.out.substr(0, 44));
  text.replace(text.find("    preshared_key_file: peer.psk\n"),
               std::strlen("    preshared_key_file: peer.psk\n"), "");
  const std::string config = dir.write("gw.yaml", text);
  ASSERT_EQ(shell(kCli + " check-config " + config).status, 0) << "the control: 0600 is accepted";
  ASSERT_EQ(chmod(config.c_str(), 0644), 0);
  const std::string message = config +
                              ":3:16: interface.private_key: an inline key in a file "
                              "readable by group or others (mode 0644); chmod 600 " +
                              config + ", or use private_key_file\n";
  const std::string runs[][2] = {
      {"wirespeed-dataplane: ", kDataplane + " -- --config " + config},
      {"wirespeed-controlplane: ", kControlplane + " --config " + config},
      {"", kCli + " check-config " + config},
  };
  for (const auto& run : runs) {
    const Captured r = shell(run[1]);
    EXPECT_EQ(r.status, 2) << run[1];
    EXPECT_EQ(r.err, run[0] + message) << run[1];
    EXPECT_EQ(r.err.find(key.out.substr(0, 44)), std::string::npos) << "the key in a message";
  }
}

}  // namespace
}  // namespace wirespeed
