// A few runs of the real `wirespeed` binary (WS_CLI_BINARY): dispatch, exit
// statuses and streams as a shell script sees them, and the import ->
// fill in -> check-config path an operator takes. show and reload are run
// where no gateway exists (their lab behaviour is tests/lab/cli_lab_test.cpp).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "controlplane/cli/import.hpp"
#include "controlplane/cli/show.hpp"
#include "dataplane/app/gateway_config.hpp"
#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed::controlplane::cli {
namespace {

using test::cli::Captured;
using test::cli::shell;
using test::cli::TempDir;

const std::string kBin = WS_CLI_BINARY;

std::string fill(std::string text, const std::string& from, const std::string& to) {
  for (size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
  return text;
}

TEST(CliBinaryTest, KeyPipelineMatchesWg) {
  const Captured wg = shell("command -v wg");
  ASSERT_EQ(wg.status, 0) << "wg (wireguard-tools) is not installed";
  const Captured c = shell("k=$(" + kBin + " genkey) && [ \"$(printf '%s\\n' \"$k\" | " + kBin +
                           " pubkey)\" = \"$(printf '%s\\n' \"$k\" | wg pubkey)\" ] && echo same");
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "same\n");
  const Captured psk = shell(kBin + " genpsk");
  EXPECT_EQ(psk.status, 0);
  EXPECT_EQ(psk.out.size(), 45u);
  const Captured bad = shell("echo nope | " + kBin + " pubkey");
  EXPECT_EQ(bad.status, 1);
  EXPECT_EQ(bad.out, "");
  EXPECT_EQ(bad.err, "wirespeed: Key is not the correct length or format\n");
}

TEST(CliBinaryTest, UsageAndUnknownCommands) {
  EXPECT_EQ(shell(kBin).status, 1);
  const Captured help = shell(kBin + " help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("check-config FILE"), std::string::npos);
  const Captured unknown = shell(kBin + " frobnicate");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_TRUE(unknown.err.starts_with("wirespeed: unknown command \"frobnicate\"\n"))
      << unknown.err;
}

TEST(CliBinaryTest, ImportThenFillThenCheckConfig) {
  TempDir dir;
  const Captured key = shell(kBin + " genkey");
  const Captured peer = shell(kBin + " genkey | " + kBin + " pubkey");
  ASSERT_EQ(key.status, 0);
  ASSERT_EQ(peer.status, 0);
  const std::string conf = dir.write(
      "wg3.conf", "[Interface]\nPrivateKey = " + key.out +
                      "Address = 10.8.0.1/24\nDNS = 10.8.0.53\n"
                      "[Peer]\nPublicKey = " +
                      peer.out + "Endpoint = 198.51.100.7:51820\nAllowedIPs = 10.8.1.0/24\n");
  const std::string yaml = dir.path() + "/wg3.yaml";
  const Captured imp = shell(kBin + " import " + conf + " -o " + yaml);
  ASSERT_EQ(imp.status, 0) << imp.err;
  EXPECT_NE(imp.err.find(conf + ":4: DNS = 10.8.0.53: not carried over"), std::string::npos)
      << imp.err;

  // As imported: refused, at the first placeholder, exit 2.
  Captured check = shell(kBin + " check-config " + yaml);
  EXPECT_EQ(check.status, 2);
  EXPECT_NE(check.err.find(yaml + ":"), std::string::npos);
  EXPECT_NE(check.err.find("got \"@OUTER PORT@\""), std::string::npos) << check.err;

  std::string text = test::cli::read_file(yaml);
  text = fill(text, kPlaceholderOuterPort, "net_af_packet0");
  text = fill(text, kPlaceholderInnerPort, "net_tap0");
  text = fill(text, kPlaceholderOuterAddressV4, "203.0.113.10/24");
  text = fill(text, kPlaceholderOuterGateway, "203.0.113.1");
  dir.write("wg3.yaml", text);
  check = shell(kBin + " check-config " + yaml);
  EXPECT_EQ(check.status, 0) << check.err << text;
  EXPECT_TRUE(check.out.starts_with(yaml + ": ok: interface wg3 ")) << check.out;
}

// show and reload with a valid config and no gateway: a clear message, exit
// 1; with an invalid one: the loader's error, exit 2, nothing attempted.
TEST(CliBinaryTest, ShowAndReloadWithoutAGateway) {
  TempDir dir;
  const Captured key = shell(kBin + " genkey");
  ASSERT_EQ(key.status, 0);
  const std::string prefix = "wscli" + std::to_string(getpid());
  const std::string good = dir.write(
      "g.yaml",
      "interface:\n  name: " + prefix + "\n  private_key: " + key.out +
          "dataplane:\n  workers: [1]\n  outer:\n    port: net_null0\n    address: [192.0.2.1/24]\n"
          "  inner:\n    port: net_null1\n    address: [10.8.0.1/24]\n");
  const std::string bad = dir.write("b.yaml", "interface:\n  name: x\n");

  Captured c = shell(kBin + " show --config " + bad);
  EXPECT_EQ(c.status, 2);
  EXPECT_TRUE(c.err.starts_with(bad + ":")) << c.err;
  c = shell(kBin + " reload --config " + bad);
  EXPECT_EQ(c.status, 2);
  EXPECT_NE(c.err.find("not reloading: the file is invalid"), std::string::npos) << c.err;

  c = shell(kBin + " show --config " + good);
  EXPECT_EQ(c.status, 1);
  EXPECT_EQ(c.err, "wirespeed show: no dataplane runs with file prefix " + prefix +
                       " (nothing holds " + dataplane::app::dpdk_runtime_dir(prefix) +
                       "/config); is wirespeed-dataplane running with this config?\n");
  c = shell(kBin + " reload --config " + good);
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("wirespeed reload: no control plane found for " + prefix +
                       ": /var/run/wireguard/" + prefix +
                       ".sock: No such file or directory; no "
                       "dataplane runs with file prefix " +
                       prefix + "\n"),
            std::string::npos)
      << c.err;
  // Neither left a DPDK runtime directory behind.
  struct stat st {};
  EXPECT_NE(stat(dataplane::app::dpdk_runtime_dir(prefix).c_str(), &st), 0);
  c = shell(kBin + " show --watch 0 --config " + good);
  EXPECT_EQ(c.status, 1);
  EXPECT_NE(c.err.find("--watch: expected seconds from 0.1 to 3600, got \"0\""), std::string::npos);
}

}  // namespace
}  // namespace wirespeed::controlplane::cli
