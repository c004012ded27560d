// `wirespeed check-config FILE`: a table of broken files, each error's exact
// text and line:column asserted, exit 2; a valid file exits 0 with a summary.
// (The loader's own tests are tests/config/; this is the command's contract:
// which stream, which status, which form.)
#include "controlplane/cli/check_config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "controlplane/cli/keys.hpp"
#include "controlplane/crypto/x25519.hpp"
#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed::controlplane::cli {
namespace {

using test::cli::call;
using test::cli::Captured;
using test::cli::TempDir;

int check(int argc, char** argv, FILE*, FILE* out, FILE* err) {
  return check_config_command(argc, argv, out, err);
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class CheckConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    private_b64_ = key_to_base64(crypto::generate_private_key().bytes());
    const crypto::PrivateKey peer = crypto::generate_private_key();
    peer_b64_ = key_to_base64(crypto::public_key(peer));
    // clang-format off
    base_ =
        "interface:\n"                                       // 1
        "  name: wsp0\n"                                     // 2
        "  private_key: " + private_b64_ + "\n"              // 3
        "  listen_port: 51820\n"                             // 4
        "  mtu: 1420\n"                                      // 5
        "dataplane:\n"                                       // 6
        "  workers: [1]\n"                                   // 7
        "  outer:\n"                                         // 8
        "    port: net_af_packet0\n"                         // 9
        "    address: [192.0.2.1/24]\n"                      // 10
        "    gateway: 192.0.2.254\n"                         // 11
        "  inner:\n"                                         // 12
        "    port: net_tap0\n"                               // 13
        "    address: [10.8.0.1/24]\n"                       // 14
        "peers:\n"                                           // 15
        "  - name: branch-1\n"                               // 16
        "    public_key: " + peer_b64_ + "\n"                // 17
        "    endpoint: 192.0.2.2:51820\n"                    // 18
        "    allowed_ips: [10.8.1.0/24, fd00:1::/64]\n"      // 19
        "    persistent_keepalive: 25\n";                    // 20
    // clang-format on
  }

  std::string private_b64_, peer_b64_, base_;
  TempDir dir_;
};

TEST_F(CheckConfigTest, ValidFileExits0WithASummaryOnStdout) {
  const std::string path = dir_.write("ok.yaml", base_);
  const Captured c = call(check, {"check-config", path});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.err, "");
  EXPECT_TRUE(c.out.starts_with(path + ": ok: interface wsp0 public_key ")) << c.out;
  EXPECT_NE(c.out.find(" listen_port 51820 mtu 1420, 1 peer(s), file_prefix wsp0, 1 worker(s), "
                       "outer net_af_packet0, inner net_tap0\n"),
            std::string::npos)
      << c.out;
  EXPECT_EQ(c.out.find(private_b64_), std::string::npos) << "the private key must not be printed";
}

struct Broken {
  const char* what;
  std::string from, to;  // one edit of the valid file
  std::string expected;  // after "FILE:"
};

TEST_F(CheckConfigTest, BrokenFilesExit2WithFileLineColumnAndMessage) {
  const Broken cases[] = {
      {"port out of range", "listen_port: 51820", "listen_port: 70000",
       "4:16: interface.listen_port: expected a whole number from 1 to 65535, got \"70000\""},
      {"YAML syntax", "workers: [1]", "workers: [1",
       "8:8: YAML syntax error: end of sequence flow not found"},
      {"octal-looking number", "mtu: 1420", "mtu: 0755",
       "5:8: interface.mtu: expected a whole number from 576 to 9000, got \"0755\""},
      {"unknown key", "mtu: 1420", "mtus: 1420",
       "5:3: interface: unknown key \"mtus\"; allowed keys are name, private_key, "
       "private_key_file, "
       "listen_port, mtu"},
      {"prefix too long", "[10.8.1.0/24,", "[10.8.1.0/33,",
       "19:19: peers[0].allowed_ips[0]: expected an IP prefix like 10.8.1.0/24 or fd00::/64, got "
       "\"10.8.1.0/33\""},
      {"host name endpoint", "192.0.2.2:51820", "vpn.example.com:51820",
       "18:15: peers[0].endpoint: expected an endpoint like 192.0.2.2:51820 or "
       "[2001:db8::2]:51820, got "
       "\"vpn.example.com:51820\" (host names are not resolved: give an IP address)"},
      {"network as address", "[10.8.0.1/24]", "[10.8.0.0/24]",
       "14:15: dataplane.inner.address[0]: expected an address with its prefix length like "
       "192.0.2.1/24 or 2001:db8::1/64, got \"10.8.0.0/24\" (that is the network itself; write an "
       "address in it, e.g. 10.8.0.1/24)"},
      {"no workers", "workers: [1]", "workers: []",
       "7:12: dataplane.workers: expected a non-empty list of worker lcore ids, got an empty list"},
      {"bad key", "private_key: " + private_b64_, "private_key: notakey",
       "3:16: interface.private_key: expected a base64 key (44 characters, as wg genkey and wg "
       "pubkey "
       "print), got 7 characters that are not valid base64"},
      {"missing key file", "private_key: " + private_b64_, "private_key_file: missing.key",
       "3:21: interface.private_key_file: " + dir_.path() +
           "/missing.key: cannot open key file: No "
           "such file or directory"},
      {"key given twice", "  listen_port: 51820\n", "  listen_port: 51820\n  listen_port: 51821\n",
       "5:3: interface: key \"listen_port\" appears twice (first at line 4)"},
      {"name too long", "name: wsp0", "name: this-name-is-too-long",
       "2:9: interface.name: expected a name of 1 to 15 characters from A-Z a-z 0-9 _ = + . -, got "
       "\"this-name-is-too-long\""},
      {"repeated peer", "    persistent_keepalive: 25\n",
       "    persistent_keepalive: 25\n  - public_key: " + peer_b64_ +
           "\n    allowed_ips: [10.8.2.0/24]\n",
       "21:17: peers[1].public_key: the same public key as peers[0] (line 17)"},
  };
  for (const Broken& b : cases) {
    const std::string path = dir_.write("broken.yaml", replace(base_, b.from, b.to));
    const Captured c = call(check, {"check-config", path});
    EXPECT_EQ(c.status, 2) << b.what;
    EXPECT_EQ(c.out, "") << b.what;
    EXPECT_EQ(c.err, path + ":" + b.expected + "\n") << b.what;
  }
}

TEST_F(CheckConfigTest, KeyFileReadableByOthersIsRefusedAtItsKey) {
  const std::string key = dir_.write("k.key", private_b64_ + "\n");
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  const std::string path = dir_.write(
      "k.yaml", replace(base_, "private_key: " + private_b64_, "private_key_file: k.key"));
  const Captured c = call(check, {"check-config", path});
  EXPECT_EQ(c.status, 2);
  EXPECT_EQ(c.err, path + ":3:21: interface.private_key_file: " + key +
                       ": key file is readable by group or others (mode 0644); chmod 600 it\n");
  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  EXPECT_EQ(call(check, {"check-config", path}).status, 0);
}

TEST_F(CheckConfigTest, FilesWithoutAPlaceSayFileColonMessage) {
  const std::string empty = dir_.write("empty.yaml", "");
  Captured c = call(check, {"check-config", empty});
  EXPECT_EQ(c.status, 2);
  EXPECT_TRUE(
      c.err.starts_with(empty + ": expected a mapping with keys interface, dataplane, peers"))
      << c.err;
  const std::string missing = dir_.path() + "/missing.yaml";
  c = call(check, {"check-config", missing});
  EXPECT_EQ(c.status, 2);
  EXPECT_EQ(c.err, missing + ": cannot open: No such file or directory\n");
}

TEST_F(CheckConfigTest, UsageErrorsExit1) {
  EXPECT_EQ(call(check, {"check-config"}).status, 1);
  EXPECT_EQ(call(check, {"check-config", "a", "b"}).status, 1);
  EXPECT_EQ(call(check, {"check-config", "--help"}).status, 1);
}

}  // namespace
}  // namespace wirespeed::controlplane::cli
