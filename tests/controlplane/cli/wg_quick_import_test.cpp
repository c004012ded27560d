// `wirespeed import`: wg-quick files with every supported key turned into
// YAML (expected fragments), every setting that cannot carry over reported
// with its line, malformed files refused with line:column, and the output
// loading with the gateway's own loader once the placeholders are filled.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "config/config.hpp"
#include "controlplane/cli/import.hpp"
#include "controlplane/cli/keys.hpp"
#include "controlplane/cli/wg_quick.hpp"
#include "tests/controlplane/cli/cli_test_util.hpp"

namespace wirespeed::controlplane::cli {
namespace {

using test::cli::call;
using test::cli::Captured;
using test::cli::TempDir;

// Stand-in keys (arbitrary bytes, nobody's).
const std::string kPriv = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const std::string kPeer1 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
const std::string kPeer2 = "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=";
const std::string kPeer3 = "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=";
const std::string kPsk = "FpCyhws9cxwWoV4xELtfJvjJN+zQVRPISllRWgeopVE=";

// Every key wg-quick knows, on known lines.
// clang-format off
const std::string kEverything =
    "# wg0 of a laptop\n"                                      // 1
    "[Interface]\n"                                            // 2
    "PrivateKey = " + kPriv + "\n"                             // 3
    "ListenPort = 51820\n"                                     // 4
    "Address = 10.8.0.1/24, fd00:8::1/64\n"                    // 5
    "MTU = 1420\n"                                             // 6
    "\n"                                                       // 7
    "DNS = 1.1.1.1, 2606:4700:4700::1111\n"                    // 8
    "Table = off\n"                                            // 9
    "PreUp = echo secret-ish > /tmp/x\n"                       // 10
    "PostUp = iptables -A FORWARD -i %i -j ACCEPT\n"           // 11
    "PreDown = true\n"                                         // 12
    "PostDown = iptables -D FORWARD -i %i -j ACCEPT\n"         // 13
    "SaveConfig = true\n"                                      // 14
    "FwMark = 0x1234\n"                                        // 15
    "\n"                                                       // 16
    "[Peer]\n"                                                 // 17
    "PublicKey = " + kPeer1 + "\n"                             // 18
    "PresharedKey = " + kPsk + "\n"                            // 19
    "Endpoint = 192.0.2.2:51820\n"                             // 20
    "AllowedIPs = 10.8.1.0/24, fd00:1::/64\n"                  // 21
    "PersistentKeepalive = 25\n"                               // 22
    "\n"                                                       // 23
    "[Peer]\n"                                                 // 24
    "PublicKey = " + kPeer2 + "\n"                             // 25
    "Endpoint = [2001:db8::2]:51821\n"                         // 26
    "AllowedIPs = 10.8.2.0/24\n"                               // 27
    "AllowedIPs = 10.8.3.5\n"                                  // 28
    "PersistentKeepalive = off\n"                              // 29
    "[Peer]\n"                                                 // 30
    "PublicKey = " + kPeer3 + "\n"                             // 31
    "Endpoint = vpn.example.com:51820\n"                       // 32
    "AllowedIPs = 10.8.4.0/24\n";                              // 33
// clang-format on

std::string fill(std::string yaml, const std::string& placeholder, const std::string& value) {
  for (size_t at; (at = yaml.find(placeholder)) != std::string::npos;)
    yaml.replace(at, placeholder.size(), value);
  return yaml;
}

// What an operator does after an import on the lab's machine.
std::string fill_template(std::string yaml) {
  yaml = fill(yaml, kPlaceholderOuterPort, "net_af_packet0");
  yaml = fill(yaml, kPlaceholderInnerPort, "net_tap0");
  yaml = fill(yaml, kPlaceholderOuterAddressV4, "192.0.2.1/24");
  yaml = fill(yaml, kPlaceholderOuterAddressV6, "2001:db8::1/64");
  yaml = fill(yaml, kPlaceholderOuterGateway, "192.0.2.254");
  return yaml;
}

TEST(WgQuickImportTest, EveryKeyBecomesItsYamlOrANote) {
  WgQuickResult r = parse_wg_quick(kEverything);
  ASSERT_TRUE(r.config) << r.error.line << ":" << r.error.column << ": " << r.error.message;
  const std::string yaml = render_yaml(*r.config, "wg0.conf", "wg0");
  const std::string fragments[] = {
      "interface:\n  name: wg0 ",
      "  private_key: " + kPriv + "\n",
      "  listen_port: 51820\n",
      "  mtu: 1420\n",
      "    address: [10.8.0.1/24, fd00:8::1/64]",
      "  - public_key: " + kPeer1 + "\n    preshared_key: " + kPsk +
          "\n    endpoint: 192.0.2.2:51820\n    allowed_ips: [10.8.1.0/24, fd00:1::/64]\n"
          "    persistent_keepalive: 25\n",
      "  - public_key: " + kPeer2 +
          "\n    endpoint: \"[2001:db8::2]:51821\"\n"
          "    allowed_ips: [10.8.2.0/24, 10.8.3.5/32]\n  #",
      "  - public_key: " + kPeer3 + "\n    allowed_ips: [10.8.4.0/24]\n",
      // Both endpoint families: one outer address placeholder each, and a gateway.
      "address: [\"@OUTER IPV4 ADDRESS/PREFIX@\", \"@OUTER IPV6 ADDRESS/PREFIX@\"]",
      "gateway: \"@OUTER GATEWAY@\"",
      "port: \"@OUTER PORT@\"",
      "port: \"@INNER PORT@\"",
  };
  for (const std::string& f : fragments)
    EXPECT_NE(yaml.find(f), std::string::npos) << f << "\n--- in ---\n" << yaml;

  // Every setting left behind, by line, with what it was (hooks without
  // their command: they may hold anything).
  const std::pair<unsigned, std::string> notes[] = {
      {8, "DNS = 1.1.1.1, 2606:4700:4700::1111: not carried over: wirespeed does not configure"},
      {9, "Table = off: not carried over: wirespeed installs no kernel routes"},
      {10, "PreUp: not carried over: wirespeed runs no hook commands"},
      {11, "PostUp: not carried over: wirespeed runs no hook commands"},
      {12, "PreDown: not carried over"},
      {13, "PostDown: not carried over"},
      {14, "SaveConfig = true: not carried over: wirespeed never rewrites its YAML"},
      {15, "FwMark = 0x1234: not carried over"},
      {32, "Endpoint = vpn.example.com:51820: not carried over: wirespeed takes IP addresses only"},
  };
  ASSERT_EQ(r.config->notes.size(), std::size(notes));
  for (size_t i = 0; i < std::size(notes); ++i) {
    EXPECT_EQ(r.config->notes[i].line, notes[i].first) << i;
    EXPECT_TRUE(r.config->notes[i].text.starts_with(notes[i].second)) << r.config->notes[i].text;
    EXPECT_EQ(r.config->notes[i].text.find("secret-ish"), std::string::npos);
  }
}

TEST(WgQuickImportTest, FilledTemplateLoadsWithTheGatewayLoader) {
  WgQuickResult r = parse_wg_quick(kEverything);
  ASSERT_TRUE(r.config);
  const std::string yaml = fill_template(render_yaml(*r.config, "wg0.conf", "wg0"));
  config::LoadResult loaded = config::load_config_text(yaml, "wg0.yaml", "/");
  ASSERT_TRUE(loaded.config) << loaded.error.to_string() << "\n" << yaml;
  const config::Config& c = *loaded.config;
  EXPECT_EQ(c.name, "wg0");
  EXPECT_EQ(c.listen_port, 51820);
  EXPECT_EQ(c.mtu, 1420);
  std::array<uint8_t, 32> priv{};
  ASSERT_TRUE(key_from_base64(kPriv, priv));
  EXPECT_TRUE(c.private_key.equals(priv));
  EXPECT_EQ(c.inner.port, "net_tap0");
  EXPECT_EQ(c.outer.port, "net_af_packet0");
  ASSERT_EQ(c.inner.address.size(), 2u);
  EXPECT_EQ(controlplane::peers::format_address(c.inner.address[1].address), "fd00:8::1");
  ASSERT_EQ(c.peers.size(), 3u);
  EXPECT_EQ(key_to_base64(c.peers[0].public_key), kPeer1);
  ASSERT_TRUE(c.peers[0].preshared_key);
  EXPECT_EQ(key_to_base64(c.peers[0].preshared_key->bytes()), kPsk);
  ASSERT_TRUE(c.peers[0].endpoint);
  EXPECT_EQ(c.peers[0].endpoint->port, 51820);
  EXPECT_EQ(c.peers[0].persistent_keepalive, 25);
  EXPECT_EQ(c.peers[0].allowed_ips.size(), 2u);
  ASSERT_TRUE(c.peers[1].endpoint);
  EXPECT_EQ(c.peers[1].endpoint->address.family, 6);
  EXPECT_EQ(c.peers[1].endpoint->port, 51821);
  EXPECT_EQ(c.peers[1].persistent_keepalive, 0);
  ASSERT_EQ(c.peers[1].allowed_ips.size(), 2u);
  EXPECT_EQ(controlplane::peers::format_prefix(c.peers[1].allowed_ips[1]), "10.8.3.5/32");
  EXPECT_FALSE(c.peers[2].endpoint);
  EXPECT_FALSE(c.peers[2].preshared_key);
}

// The template as imported must not start: every placeholder is refused.
TEST(WgQuickImportTest, UnfilledTemplateIsRefusedAtAPlaceholder) {
  WgQuickResult r = parse_wg_quick(kEverything);
  ASSERT_TRUE(r.config);
  const std::string yaml = render_yaml(*r.config, "wg0.conf", "wg0");
  const char* placeholders[] = {kPlaceholderOuterPort, kPlaceholderInnerPort,
                                kPlaceholderOuterAddressV4, kPlaceholderOuterAddressV6,
                                kPlaceholderOuterGateway};
  // Fill all but one: the loader stops at the one left, on its line.
  for (const char* left : placeholders) {
    std::string partial = fill_template(yaml);
    const std::string value = left == kPlaceholderOuterPort        ? "net_af_packet0"
                              : left == kPlaceholderInnerPort      ? "net_tap0"
                              : left == kPlaceholderOuterAddressV4 ? "192.0.2.1/24"
                              : left == kPlaceholderOuterAddressV6 ? "2001:db8::1/64"
                                                                   : "192.0.2.254";
    // Put the one placeholder back where its value went (first occurrence
    // outside the eal list, which the loader does not interpret).
    const size_t eal_end = partial.find("workers:");
    // (Quoted: the comments mention example values too.)
    const size_t at = partial.find("\"" + value + "\"", eal_end) + 1;
    ASSERT_NE(at, std::string::npos + 1) << left;
    partial.replace(at, value.size(), left);
    config::LoadResult loaded = config::load_config_text(partial, "wg0.yaml", "/");
    ASSERT_FALSE(loaded.config) << left;
    const unsigned line =
        1 + static_cast<unsigned>(std::count(partial.begin(), partial.begin() + at, '\n'));
    EXPECT_EQ(loaded.error.line, line) << left << ": " << loaded.error.to_string();
    EXPECT_NE(loaded.error.message.find(left), std::string::npos) << loaded.error.to_string();
  }
}

TEST(WgQuickImportTest, KeysAreCaseInsensitiveAndCommentsAnywhere) {
  WgQuickResult r =
      parse_wg_quick("[interface]\n  privatekey=" + kPriv +
                     "   # the key\nLISTENPORT = 1234#x\n[PEER]\npublickey = " + kPeer1 +
                     "\nallowedips=10.9.0.0/16,,fd00::/8\n");
  ASSERT_TRUE(r.config) << r.error.message;
  EXPECT_EQ(r.config->listen_port.value_or(0), 1234);
  ASSERT_EQ(r.config->peers.size(), 1u);
  EXPECT_EQ(r.config->peers[0].allowed_ips, (std::vector<std::string>{"10.9.0.0/16", "fd00::/8"}));
  EXPECT_TRUE(r.config->notes.empty());
}

TEST(WgQuickImportTest, MissingListenPortIsNotedAtTheInterfaceInLineOrder) {
  WgQuickResult r =
      parse_wg_quick("# c\n[Interface]\nDNS = 1.1.1.1\n[Peer]\nPublicKey = " + kPeer1 + "\n");
  ASSERT_TRUE(r.config);
  ASSERT_EQ(r.config->notes.size(), 2u);
  EXPECT_EQ(r.config->notes[0].line, 2u);
  EXPECT_TRUE(r.config->notes[0].text.starts_with("no ListenPort: wg picks a random port"))
      << r.config->notes[0].text;
  EXPECT_EQ(r.config->notes[1].line, 3u);
  EXPECT_FALSE(r.config->listen_port);
}

TEST(WgQuickImportTest, NoPrivateKeyNoAddressNoEndpointGiveTheirPlaceholders) {
  WgQuickResult r =
      parse_wg_quick("[Interface]\nListenPort = 0\n[Peer]\nPublicKey = " + kPeer1 + "\n");
  ASSERT_TRUE(r.config);
  const std::string yaml = render_yaml(*r.config, "x.conf", "x");
  EXPECT_NE(yaml.find("private_key_file: \"@PRIVATE KEY FILE@\""), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("address: [\"@INNER ADDRESS/PREFIX@\"]"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("address: [\"@OUTER IPV4 ADDRESS/PREFIX@\"]"), std::string::npos) << yaml;
  EXPECT_EQ(yaml.find("gateway: \""), std::string::npos) << "no endpoint, no gateway needed";
  EXPECT_EQ(yaml.find("listen_port"), std::string::npos);
  ASSERT_EQ(r.config->notes.size(), 1u);
  EXPECT_EQ(r.config->notes[0].line, 2u);
  EXPECT_TRUE(r.config->notes[0].text.starts_with("ListenPort = 0: not carried over"));
}

struct BadCase {
  const char* what;
  std::string text;
  unsigned line, column;
  std::string message;
};

TEST(WgQuickImportTest, MalformedFilesAreRefusedWithLineAndColumn) {
  const BadCase cases[] = {
      {"key before a section", "Address = 10.0.0.1/24\n", 1, 1,
       "a key before any [Interface] or [Peer] section"},
      {"bad private key", "[Interface]\nPrivateKey = bad\n", 2, 14,
       "PrivateKey: expected a base64 key of 32 bytes (44 characters) as wg genkey prints"},
      {"bad public key", "[Interface]\n[Peer]\n  PublicKey =" + kPeer1.substr(1) + "\n", 3, 14,
       "PublicKey: expected a base64 key of 32 bytes (44 characters) as wg genkey prints"},
      {"port too big", "[Interface]\nListenPort = 70000\n", 2, 14,
       "ListenPort: expected a number from 0 to 65535, got \"70000\""},
      {"second address bad", "[Interface]\nAddress = 10.0.0.1/24, 10.0.0.300/24\n", 2, 24,
       "Address: expected an address or prefix like 10.8.0.1/24 or fd00::1/64, got "
       "\"10.0.0.300/24\""},
      {"peer without key", "[Interface]\n[Peer]\nAllowedIPs = 10.0.0.0/24\n", 2, 1,
       "this [Peer] has no PublicKey"},
      {"unknown section", "[Interface]\n [Interfaces]\n", 2, 2,
       "expected [Interface] or [Peer], got [Interfaces]"},
      {"no equals sign", "[Interface]\nthis is not a key\n", 2, 1,
       "expected [Interface], [Peer] or Key = Value"},
      {"no interface", "[Peer]\nPublicKey = " + kPeer1 + "\n", 0, 0,
       "no [Interface] section: not a wg-quick file"},
      {"two interfaces", "[Interface]\n[Interface]\n", 2, 1,
       "a second [Interface] section (the first is at line 1)"},
      {"unbracketed IPv6 endpoint",
       "[Interface]\n[Peer]\nPublicKey = " + kPeer1 + "\nEndpoint = 2001:db8::1:51820\n", 4, 12,
       "Endpoint: expected HOST:PORT, or [IPv6]:PORT for IPv6"},
      {"endpoint port 0",
       "[Interface]\n[Peer]\nPublicKey = " + kPeer1 + "\nEndpoint = 192.0.2.1:0\n", 4, 12,
       "Endpoint: expected HOST:PORT with a port from 1 to 65535"},
      {"keepalive with unit",
       "[Interface]\n[Peer]\nPublicKey = " + kPeer1 + "\nPersistentKeepalive = 25s\n", 4, 23,
       "PersistentKeepalive: expected a number from 0 to 65535, got \"25s\""},
      {"bad allowed ip",
       "[Interface]\n[Peer]\nPublicKey = " + kPeer1 + "\nAllowedIPs = 10.0.0.0/33\n", 4, 14,
       "AllowedIPs: expected an address or prefix like 10.8.0.1/24 or fd00::1/64, got "
       "\"10.0.0.0/33\""},
  };
  for (const BadCase& c : cases) {
    WgQuickResult r = parse_wg_quick(c.text);
    ASSERT_FALSE(r.config) << c.what;
    EXPECT_EQ(r.error.line, c.line) << c.what;
    EXPECT_EQ(r.error.column, c.column) << c.what;
    EXPECT_EQ(r.error.message, c.message) << c.what;
  }
}

TEST(WgQuickImportTest, ErrorsNeverQuoteKeyText) {
  const std::string almost = kPriv.substr(0, 43) + "!";
  WgQuickResult r = parse_wg_quick("[Interface]\nPrivateKey = " + almost + "\n");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.message.find(kPriv.substr(0, 20)), std::string::npos) << r.error.message;
}

TEST(WgQuickImportTest, InterfaceNameFromPath) {
  EXPECT_EQ(interface_name_from_path("/etc/wireguard/wg0.conf"), "wg0");
  EXPECT_EQ(interface_name_from_path("office-vpn.conf"), "office-vpn");
  EXPECT_EQ(interface_name_from_path("a-name-that-is-too-long.conf"), "");
  EXPECT_EQ(interface_name_from_path("bad name.conf"), "");
  EXPECT_EQ(interface_name_from_path("/x/.conf"), "");
}

int import(int argc, char** argv, FILE*, FILE* out, FILE* err) {
  return import_command(argc, argv, out, err);
}

TEST(WgQuickImportTest, CommandWritesAPrivateFileAndListsWhatItDropped) {
  TempDir dir;
  const std::string conf = dir.write("wg7.conf", kEverything);
  const std::string out = dir.path() + "/wg7.yaml";
  const Captured c = call(import, {"import", conf, "-o", out});
  ASSERT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "");
  struct stat st {};
  ASSERT_EQ(stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const std::string yaml = test::cli::read_file(out);
  EXPECT_NE(yaml.find("  name: wg7 "), std::string::npos);
  EXPECT_NE(c.err.find(conf + ":8: DNS = 1.1.1.1, 2606:4700:4700::1111: not carried over"),
            std::string::npos)
      << c.err;
  EXPECT_NE(c.err.find(conf + ":11: PostUp: not carried over"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find(conf + ":32: Endpoint = vpn.example.com:51820: not carried over"),
            std::string::npos)
      << c.err;
  EXPECT_NE(c.err.find("3 peer(s) converted, 9 setting(s) not carried over"), std::string::npos)
      << c.err;
  EXPECT_EQ(c.err.find(kPriv), std::string::npos);
}

// --key-file: the key in its own 0600 file, the YAML naming it and holding
// no key text; the gateway's loader reads it back to the same key.
TEST(WgQuickImportTest, CommandWithKeyFileKeepsTheKeyOutOfTheYaml) {
  TempDir dir;
  const std::string conf = dir.write("wg5.conf", kEverything);
  const std::string out = dir.path() + "/wg5.yaml";
  const std::string key = dir.path() + "/wg5.key";
  const Captured c = call(import, {"import", conf, "-o", out, "--key-file", key});
  ASSERT_EQ(c.status, 0) << c.err;
  struct stat st {};
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(test::cli::read_file(key), kPriv + "\n");
  const std::string yaml = test::cli::read_file(out);
  EXPECT_EQ(yaml.find(kPriv), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("  private_key_file: \"" + key + "\"\n"), std::string::npos) << yaml;
  dir.write("wg5.yaml", fill_template(yaml));
  config::LoadResult loaded = config::load_config(out);
  ASSERT_TRUE(loaded.config) << loaded.error.to_string();
  std::array<uint8_t, 32> priv{};
  ASSERT_TRUE(key_from_base64(kPriv, priv));
  EXPECT_TRUE(loaded.config->private_key.equals(priv));

  // A .conf without a PrivateKey has nothing to put there.
  const std::string nokey = dir.write("wg6.conf", "[Interface]\nListenPort = 1\n");
  const Captured n = call(import, {"import", nokey, "--key-file", dir.path() + "/wg6.key"});
  EXPECT_EQ(n.status, 1);
  EXPECT_EQ(n.err, "wirespeed import: --key-file: " + nokey + " has no PrivateKey to write\n");
}

TEST(WgQuickImportTest, CommandRefusesABadFileWithExit2AndWritesNothing) {
  TempDir dir;
  const std::string conf = dir.write("wg0.conf", "[Interface]\nListenPort = many\n");
  const std::string out = dir.path() + "/wg0.yaml";
  const Captured c = call(import, {"import", conf, "-o", out});
  EXPECT_EQ(c.status, 2);
  EXPECT_EQ(c.err, conf + ":2:14: ListenPort: expected a number from 0 to 65535, got \"many\"\n");
  struct stat st {};
  EXPECT_NE(stat(out.c_str(), &st), 0);
  EXPECT_EQ(call(import, {"import"}).status, 1);
  EXPECT_EQ(call(import, {"import", dir.path() + "/missing.conf"}).status, 1);
}

}  // namespace
}  // namespace wirespeed::controlplane::cli
