// Tests for config/config.hpp: every class of broken config names its file,
// line and column and says what was expected; no message carries key text.
#include "tests/config/config_fixture.hpp"

namespace wirespeed::config {
namespace {

// ---- broken configs: place and message -----------------------------------

struct ErrorCase {
  int id;
  unsigned line;            // line of kFull to replace
  const char* replacement;  // may hold "\n" to insert lines after it
  unsigned want_line;       // of the error, in the edited text
  unsigned want_column;
  const char* want;  // a substring of the message
};

// clang-format off
const ErrorCase kErrorCases[] = {
  // unknown keys: at the key, listing what the section allows
  { 1, 28, "    allowed_ips: []\nextra: 1", 29, 1,
    "unknown top-level key \"extra\"; allowed keys are interface, dataplane, peers"},
  { 2,  5, "  mtu: 1400\n  colour: red", 6, 3,
    "interface: unknown key \"colour\"; allowed keys are name, private_key, private_key_file, listen_port, mtu"},
  { 3, 25, "    persistent_keepalive: 25\n    keepalive: 25", 26, 5,
    "peers[0]: unknown key \"keepalive\"; allowed keys are name, public_key"},
  { 4, 12, "    queues: 2\n    vlan: 7", 13, 5, "dataplane.outer: unknown key \"vlan\""},
  { 5,  5, "  mtu: 1400\n  mtu: 1400", 6, 3, "interface: key \"mtu\" appears twice (first at line 5)"},
  // missing required keys: at the mapping that lacks them
  { 6,  2, "", 3, 3, "interface: missing required key \"name\""},
  { 7,  3, "", 2, 3, "interface: missing required key \"private_key_file\" (or \"private_key\")"},
  { 8, 26, "  - name: peer-2", 26, 5, "peers[1]: missing required key \"public_key\""},
  { 9, 11, "", 12, 5, "dataplane.outer: missing required key \"port\""},
  {10,  9, "", 7, 3, "dataplane: missing required key \"workers\""},
  // either/or keys: at the later one
  {11,  3, "  private_key: @PRIV@\n  private_key_file: wsp0.key", 4, 3,
    "interface: give either private_key or private_key_file, not both"},
  {12, 22, "    preshared_key_file: p.psk\n    preshared_key: @PSK@", 23, 5,
    "peers[0]: give either preshared_key or preshared_key_file, not both"},
  // keys
  {13,  3, "  private_key: not*base64", 3, 16,
    "interface.private_key: expected a base64 key (44 characters, as wg genkey and wg pubkey print), got 10 characters that are not valid base64"},
  {14, 21, "    public_key: AAAAAAAAAAAAAAAAAAAAAA==", 21, 17,
    "peers[0].public_key: expected a base64 key of 32 bytes, got one of 16 bytes"},
  {15, 21, "    public_key: [a, b]", 21, 17, "peers[0].public_key: expected a base64 key, got a list"},
  {16, 26, "  - public_key: @PUB1@", 26, 17,
    "peers[1].public_key: the same public key as peers[0] (line 21)"},
  {17, 26, "  - public_key: @OWNPUB@", 26, 17, "peers[1].public_key: this is the gateway's own public key"},
  // numbers
  {18,  4, "  listen_port: 0", 4, 16, "interface.listen_port: expected a whole number from 1 to 65535, got \"0\""},
  {19,  4, "  listen_port: 65536", 4, 16, "from 1 to 65535, got \"65536\""},
  {20,  4, "  listen_port: 0x10", 4, 16, "got \"0x10\""},
  {21,  5, "  mtu: 100", 5, 8, "interface.mtu: expected a whole number from 576 to 9000, got \"100\""},
  {22,  5, "  mtu: 9001", 5, 8, "from 576 to 9000"},
  {23,  5, "  mtu: 1000", 5, 8,
    "interface.mtu: expected 1280 to 9000 because IPv6 is configured (dataplane.outer.address[1] at line 13), got 1000"},
  {24, 12, "    queues: 17", 12, 13, "dataplane.outer.queues: expected a whole number from 1 to 16"},
  {25, 25, "    persistent_keepalive: -1", 25, 27, "from 0 to 65535, got \"-1\""},
  // workers
  {26,  9, "  workers: []", 9, 12, "dataplane.workers: expected a non-empty list of worker lcore ids, got an empty list"},
  {27,  9, "  workers: [1, 2, 1]", 9, 19, "dataplane.workers[2]: lcore 1 is listed twice"},
  {28,  9, "  workers: [1, 128]", 9, 16, "dataplane.workers[1]: expected a whole number from 0 to 127"},
  {29,  9, "  workers: 1", 9, 12, "dataplane.workers: expected a list, got \"1\""},
  // node kinds
  {30, 28, "    allowed_ips: []\n  - just-a-string", 29, 5,
    "peers[2]: expected a mapping with keys name, public_key, preshared_key, preshared_key_file, endpoint, allowed_ips, persistent_keepalive, got \"just-a-string\""},
  {31, 24, "    allowed_ips: {a: b}", 24, 18, "peers[0].allowed_ips: expected a list, got a mapping"},
  {32, 16, "    port: [net_tap0]", 16, 11, "dataplane.inner.port: expected a string, got a list"},
  {33,  2, "  name:", 2, 3, "interface.name: expected a string, got nothing"},
  // names
  {34,  2, "  name: this-name-is-too-long", 2, 9,
    "interface.name: expected a name of 1 to 15 characters from A-Z a-z 0-9 _ = + . -, got \"this-name-is-too-long\""},
  {35, 16, "    port: net_af_packet0", 16, 11, "dataplane.inner.port: the inner port must differ from the outer port (line 11)"},
  // addresses and prefixes
  {36, 24, "    allowed_ips: [10.8.1.0/24, 10.8.1.0/33]", 24, 32,
    "peers[0].allowed_ips[1]: expected an IP prefix like 10.8.1.0/24 or fd00::/64, got \"10.8.1.0/33\""},
  {37, 24, "    allowed_ips: [10.8.1.0/24, fd00:1::/129]", 24, 32, "got \"fd00:1::/129\""},
  {38, 28, "    allowed_ips: [10.8.1.0/24]", 28, 19,
    "peers[1].allowed_ips[0]: 10.8.1.0/24 is already allowed for peers[0].allowed_ips[0] (line 24)"},
  {39, 18, "    address: [10.8.0.1]", 18, 15,
    "dataplane.inner.address[0]: expected an address with its prefix length like 192.0.2.1/24 or 2001:db8::1/64, got \"10.8.0.1\" (the prefix length is missing)"},
  {40, 18, "    address: [10.8.0.0/24]", 18, 15, "(that is the network itself; write an address in it, e.g. 10.8.0.1/24)"},
  {41, 18, "    address: [10.8.0.255/24]", 18, 15, "(that is the broadcast address of the network)"},
  {42, 18, "    address: []", 18, 14, "dataplane.inner.address: expected a non-empty list of addresses"},
  {43, 18, "    address: [10.8.0.1/24, 10.8.0.1/24]", 18, 28, "dataplane.inner.address[1]: address listed twice"},
  {44, 18, "    address: [224.0.0.1/24]", 18, 15, "(a multicast address)"},
  // gateway
  {45, 18, "    address: [10.8.0.1/24]\n    gateway: 10.8.0.254", 19, 5,
    "dataplane.inner: gateway belongs under dataplane.outer only"},
  {46, 14, "    gateway: 198.51.100.1", 14, 14,
    "dataplane.outer.gateway: 198.51.100.1 is not on the link of any address of this port"},
  {47, 14, "    gateway: 192.0.2.1", 14, 14, "the gateway is one of this port's own addresses"},
  {48, 14, "    gateway: gw.example.com", 14, 14, "expected an IP address like 192.0.2.254 or fe80::1, got \"gw.example.com\""},
  // endpoints
  {49, 23, "    endpoint: vpn.example.com:51820", 23, 15,
    "peers[0].endpoint: expected an endpoint like 192.0.2.2:51820 or [2001:db8::2]:51820, got \"vpn.example.com:51820\" (host names are not resolved: give an IP address)"},
  {50, 23, "    endpoint: 192.0.2.2", 23, 15, "got \"192.0.2.2\" (the port is missing)"},
  {51, 23, "    endpoint: \"[2001:db8::2]\"", 23, 15, "(the port is missing)"},
  {52, 23, "    endpoint: \"[2001:db8::2:51820\"", 23, 15, "got \"[2001:db8::2:51820\" (no closing ']')"},
  {53, 23, "    endpoint: 2001:db8::2:51820", 23, 15, "(an IPv6 address needs brackets: [address]:port)"},
  {54, 23, "    endpoint: \"[192.0.2.2]:51820\"", 23, 15, "(brackets are for IPv6 addresses only)"},
  {55, 23, "    endpoint: 192.0.2.2:0", 23, 15, "(the port must be 1 to 65535)"},
  {56, 23, "    endpoint: 192.0.2.2:65536", 23, 15, "(the port must be 1 to 65535)"},
  // YAML syntax: yaml-cpp's own place and words
  {57,  8, "  eal: [\"-l\", \"0-2\"", 9, 3, "YAML syntax error: end of sequence flow not found"},
  {58,  2, "  name: wsp0\n   bad: indent", 3, 7, "YAML syntax error: illegal map value"},
  {59, 27, "    endpoint: [2001:db8::2]:51821", 27, 28,
    "(quote an IPv6 endpoint: \"[2001:db8::2]:51820\"; unquoted, '[' starts a list)"},
  {60,  5, "\tmtu: 1400", 5, 1, "(YAML indents with spaces, not tabs)"},
};
// clang-format on

TEST(ConfigErrors, NumberedTableGivesPlaceAndMessage) {
  for (const ErrorCase& c : kErrorCases) {
    const std::string text = full_with(c.line, c.replacement);
    const LoadResult r = load(text);
    ASSERT_FALSE(r.config) << "case " << c.id << " loaded";
    EXPECT_EQ(r.error.file, "gw.yaml") << "case " << c.id;
    EXPECT_EQ(r.error.line, c.want_line) << "case " << c.id << ": " << r.error.to_string();
    EXPECT_EQ(r.error.column, c.want_column) << "case " << c.id << ": " << r.error.to_string();
    EXPECT_NE(r.error.message.find(c.want), std::string::npos)
        << "case " << c.id << ": " << r.error.to_string() << "\n  wanted: " << c.want;
  }
}

// The outer port reaches an endpoint directly when it is on-link, else
// through a gateway of its family.
TEST(ConfigErrors, OffLinkEndpointNeedsAGateway) {
  std::vector<std::string> lines = kFull;
  auto text = [&] {
    std::string t;
    for (const std::string& l : lines) t += l + "\n";
    return with_keys(t);
  };
  lines[22] = "    endpoint: 198.51.100.9:51820";  // line 23: off-link, via the gateway
  LoadResult r = load(text());
  EXPECT_TRUE(r.config) << error_of(r);

  lines[13] = "";  // line 14: no gateway
  r = load(text());
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml:23:15: peers[0].endpoint: 198.51.100.9 is not on the link of "
            "dataplane.outer, and there is no IPv4 gateway to reach it through");

  lines[22] = "    endpoint: 192.0.2.2:51820";  // on-link: needs none
  r = load(text());
  EXPECT_TRUE(r.config) << error_of(r);

  lines[12] = "    address: [192.0.2.1/24]";  // line 13: no IPv6 on the outer port
  r = load(text());
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml:27:15: peers[1].endpoint: an IPv6 endpoint, but dataplane.outer has no "
            "IPv6 address");
}

TEST(ConfigErrors, ToStringFormats) {
  LoadError placed{"lab.yaml", 12, 15, "peers[0].allowed_ips[1]: bad"};
  EXPECT_EQ(placed.to_string(), "lab.yaml:12:15: peers[0].allowed_ips[1]: bad");
  LoadError unplaced{"lab.yaml", 0, 0, "cannot open: No such file or directory"};
  EXPECT_EQ(unplaced.to_string(), "lab.yaml: cannot open: No such file or directory");
}

TEST(ConfigErrors, DocumentThatIsNotAMapping) {
  LoadResult r = load("");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml: expected a mapping with keys interface, dataplane, peers, metrics, log, got nothing");

  r = load("- interface\n- dataplane\n");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml:1:1: expected a mapping with keys interface, dataplane, peers, metrics, log, got a list");

  r = load("interface: {name: gw, private_key: " + b64(kPriv) + "}\n");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(), "gw.yaml:1:1: missing required key \"dataplane\"");
}

TEST(ConfigErrors, MissingConfigFileHasNoPlace) {
  const LoadResult r = load_config("/nonexistent/dir/gw.yaml");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.line, 0u);
  EXPECT_EQ(r.error.to_string(),
            "/nonexistent/dir/gw.yaml: cannot open: No such file or directory");
}

// ---- key text never reaches a message -------------------------------------

TEST(ConfigSecrets, NoErrorMessageContainsPrivateKeyText) {
  const std::string key = b64(kPriv);
  // Variants of the private key that are wrong: each message must not quote them.
  const std::string near_misses[] = {
      key.substr(0, 43),           // padding dropped
      key.substr(0, 42) + "!=",    // a bad character
      key + key,                   // 64 bytes
      key.substr(0, 40) + "====",  // over-padded
  };
  for (const std::string& bad : near_misses) {
    const LoadResult r = load(full_with(3, "  private_key: " + bad));
    ASSERT_FALSE(r.config) << bad;
    EXPECT_EQ(r.error.line, 3u);
    EXPECT_EQ(r.error.to_string().find(key.substr(0, 16)), std::string::npos)
        << r.error.to_string();
  }

  // Errors elsewhere in a file that holds the key inline.
  for (const ErrorCase& c : kErrorCases) {
    const LoadResult r = load(full_with(c.line, c.replacement));
    ASSERT_FALSE(r.config) << c.id;
    EXPECT_EQ(r.error.to_string().find(key.substr(0, 16)), std::string::npos)
        << "case " << c.id << ": " << r.error.to_string();
  }

  // A key file holding a near miss.
  TempDir dir;
  dir.write("wsp0.key", key.substr(0, 42) + "!=\n", 0600);
  const LoadResult r = load(full_with_key_file("wsp0.key"), dir.path());
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string().find(key.substr(0, 16)), std::string::npos) << r.error.to_string();
}

TEST(ConfigSecrets, AllZeroPrivateKeyIsRefused) {
  const std::array<uint8_t, 32> zero{};
  const LoadResult r = load(full_with(3, "  private_key: " + b64(zero)));
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml:3:16: interface.private_key: the private key is all zeros; generate one "
            "with wg genkey");
}

}  // namespace
}  // namespace wirespeed::config
