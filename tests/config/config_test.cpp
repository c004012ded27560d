// Tests for the YAML config loader (config/config.hpp): a full config read
// back field by field, the defaults, a numbered table of broken configs each
// with the exact line:column and message it must produce, key files (mode,
// relative paths, content), key text never in a message, and the shipped
// examples loading for real.
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
namespace {

using controlplane::peers::format_address;
using controlplane::peers::format_prefix;
using test::from_base64;
using test::read_text_file;
using test::to_base64;

const std::string kExamplesDir = std::string(WS_TEST_DATA_DIR) + "/../../config/examples";

// ---- fixtures ------------------------------------------------------------

std::array<uint8_t, 32> bytes_from(uint8_t seed, uint8_t step) {
  std::array<uint8_t, 32> b{};
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(seed + step * i);
  return b;
}

std::string b64(const std::array<uint8_t, 32>& b) {
  return to_base64(b.data(), b.size());
}

const std::array<uint8_t, 32> kPriv = [] {
  auto b = bytes_from(1, 7);
  b[0] &= 248;  // clamped, as wg genkey writes
  b[31] = static_cast<uint8_t>((b[31] & 127) | 64);
  return b;
}();
const std::array<uint8_t, 32> kPub1 = bytes_from(100, 1);
const std::array<uint8_t, 32> kPub2 = bytes_from(200, 3);
const std::array<uint8_t, 32> kPsk = bytes_from(50, 5);

std::string own_public_b64() {
  controlplane::crypto::PrivateKey priv{std::span<const uint8_t, 32>(kPriv)};
  return b64(controlplane::crypto::public_key(priv));
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// Keys are written as @TOKENS@ so that the template's columns stay readable;
// a token is replaced by 44 characters, which moves only what follows it on
// its own line.
std::string with_keys(std::string text) {
  replace_all(text, "@OWNPUB@", own_public_b64());
  replace_all(text, "@PRIV@", b64(kPriv));
  replace_all(text, "@PUB1@", b64(kPub1));
  replace_all(text, "@PUB2@", b64(kPub2));
  replace_all(text, "@PSK@", b64(kPsk));
  return text;
}

// A config using every key. Line numbers are in the comments: the error table
// below refers to them.
const std::vector<std::string> kFull = {
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
std::string full_with(unsigned line, const std::string& text) {
  std::string out;
  for (size_t i = 0; i < kFull.size(); ++i) {
    out += (i + 1 == line) ? text : kFull[i];
    out += "\n";
  }
  return with_keys(out);
}

LoadResult load(const std::string& text, const std::string& base_dir = "/nonexistent") {
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

std::string error_of(const LoadResult& r) {
  return r.config ? std::string("(loaded without error)") : r.error.to_string();
}

// ---- a full config, read back ---------------------------------------------

TEST(ConfigLoad, FullConfigRoundTripsEveryField) {
  std::string text;
  for (const std::string& l : kFull) text += l + "\n";
  const LoadResult r = load(with_keys(text));
  ASSERT_TRUE(r.config) << error_of(r);
  const Config& c = *r.config;

  EXPECT_EQ(c.source_path, "gw.yaml");
  EXPECT_EQ(c.name, "wsp0");
  EXPECT_TRUE(c.private_key.equals(std::span<const uint8_t, 32>(kPriv)));
  EXPECT_EQ(c.listen_port, 51821);
  EXPECT_EQ(c.mtu, 1400);

  EXPECT_EQ(c.file_prefix, "gw1");
  EXPECT_EQ(c.eal, (std::vector<std::string>{"-l", "0-2", "--vdev=net_tap0"}));
  EXPECT_EQ(c.workers, (std::vector<unsigned>{1, 2}));

  EXPECT_EQ(c.outer.port, "net_af_packet0");
  EXPECT_EQ(c.outer.queues, 2);
  ASSERT_EQ(c.outer.address.size(), 2u);
  EXPECT_EQ(format_address(c.outer.address[0].address), "192.0.2.1");  // host bits kept
  EXPECT_EQ(c.outer.address[0].prefix_length, 24);
  EXPECT_EQ(c.outer.address[1].address.family, 6);
  EXPECT_EQ(format_address(c.outer.address[1].address), "2001:db8::1");
  EXPECT_EQ(c.outer.address[1].prefix_length, 64);
  ASSERT_TRUE(c.outer.gateway);
  EXPECT_EQ(format_address(*c.outer.gateway), "192.0.2.254");

  EXPECT_EQ(c.inner.port, "net_tap0");
  EXPECT_EQ(c.inner.queues, 2);
  ASSERT_EQ(c.inner.address.size(), 1u);
  EXPECT_EQ(format_address(c.inner.address[0].address), "10.8.0.1");
  EXPECT_EQ(c.inner.address[0].prefix_length, 24);
  EXPECT_FALSE(c.inner.gateway);

  ASSERT_EQ(c.peers.size(), 2u);
  const PeerConfig& p0 = c.peers[0];
  EXPECT_EQ(p0.name, "branch-1");
  EXPECT_EQ(p0.public_key, kPub1);
  ASSERT_TRUE(p0.preshared_key);
  EXPECT_TRUE(p0.preshared_key->equals(std::span<const uint8_t, 32>(kPsk)));
  ASSERT_TRUE(p0.endpoint);
  EXPECT_EQ(format_address(p0.endpoint->address), "192.0.2.2");
  EXPECT_EQ(p0.endpoint->port, 51820);
  ASSERT_EQ(p0.allowed_ips.size(), 2u);
  EXPECT_EQ(format_prefix(p0.allowed_ips[0]), "10.8.1.0/24");  // canonicalised
  EXPECT_EQ(format_prefix(p0.allowed_ips[1]), "fd00:1::/64");
  EXPECT_EQ(p0.persistent_keepalive, 25);

  const PeerConfig& p1 = c.peers[1];
  EXPECT_EQ(p1.name, "");
  EXPECT_EQ(p1.public_key, kPub2);
  EXPECT_FALSE(p1.preshared_key);
  ASSERT_TRUE(p1.endpoint);
  EXPECT_EQ(p1.endpoint->address.family, 6);
  EXPECT_EQ(format_address(p1.endpoint->address), "2001:db8::2");
  EXPECT_EQ(p1.endpoint->port, 51821);
  EXPECT_TRUE(p1.allowed_ips.empty());
  EXPECT_EQ(p1.persistent_keepalive, 0);
}

TEST(ConfigLoad, DefaultsApplyWhenKeysAreAbsent) {
  const LoadResult r =
      load(with_keys("interface:\n"
                     "  name: gw\n"
                     "  private_key: @PRIV@\n"
                     "dataplane:\n"
                     "  workers: [3]\n"
                     "  outer: {port: p0, address: [192.0.2.1/24]}\n"
                     "  inner: {port: p1, address: [10.0.0.1/8]}\n"
                     "peers:\n"
                     "  - public_key: @PUB1@\n"));
  ASSERT_TRUE(r.config) << error_of(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.listen_port, 51820);
  EXPECT_EQ(c.mtu, 1420);
  EXPECT_EQ(c.file_prefix, "gw");  // the interface name
  EXPECT_TRUE(c.eal.empty());
  EXPECT_EQ(c.outer.queues, 1);
  EXPECT_EQ(c.inner.queues, 1);
  EXPECT_FALSE(c.outer.gateway);
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].name, "");
  EXPECT_FALSE(c.peers[0].preshared_key);
  EXPECT_FALSE(c.peers[0].endpoint);
  EXPECT_TRUE(c.peers[0].allowed_ips.empty());
  EXPECT_EQ(c.peers[0].persistent_keepalive, 0);
}

TEST(ConfigLoad, PeersMayBeAbsentOrEmpty) {
  const std::string head = with_keys(
      "interface: {name: gw, private_key: @PRIV@}\n"
      "dataplane:\n"
      "  workers: [1]\n"
      "  outer: {port: p0, address: [192.0.2.1/24]}\n"
      "  inner: {port: p1, address: [10.0.0.1/8]}\n");
  for (const std::string& tail :
       {std::string(""), std::string("peers: []\n"), std::string("peers:\n")}) {
    const LoadResult r = load(head + tail);
    ASSERT_TRUE(r.config) << "tail [" << tail << "]: " << error_of(r);
    EXPECT_TRUE(r.config->peers.empty());
  }
}

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
            "gw.yaml: expected a mapping with keys interface, dataplane, peers, got nothing");

  r = load("- interface\n- dataplane\n");
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(),
            "gw.yaml:1:1: expected a mapping with keys interface, dataplane, peers, got a list");

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

// ---- key files ------------------------------------------------------------

// kFull with the inline private key swapped for `private_key_file: <path>`;
// the path's value starts at line 3, column 21.
std::string full_with_key_file(const std::string& path) {
  return full_with(3, "  private_key_file: " + path);
}

TEST(ConfigKeyFiles, RelativePathResolvesAgainstBaseDir) {
  TempDir dir;
  dir.write("wsp0.key", b64(kPriv) + "\n", 0600);  // as `wg genkey` writes it
  const LoadResult r = load(full_with_key_file("wsp0.key"), dir.path());
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_TRUE(r.config->private_key.equals(std::span<const uint8_t, 32>(kPriv)));

  // The same name against another directory is not found, and the message
  // names the resolved path.
  const LoadResult elsewhere = load(full_with_key_file("wsp0.key"), "/nonexistent");
  ASSERT_FALSE(elsewhere.config);
  EXPECT_EQ(elsewhere.error.to_string(),
            "gw.yaml:3:21: interface.private_key_file: /nonexistent/wsp0.key: cannot open key "
            "file: No such file or directory");
}

TEST(ConfigKeyFiles, LoadConfigResolvesAgainstTheConfigFilesDirectory) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/keys");
  dir.write("keys/wsp0.key", "  " + b64(kPriv) + " \r\n\n", 0400);
  dir.write("keys/branch.psk", b64(kPsk), 0600);
  std::string text = full_with_key_file("keys/wsp0.key");
  replace_all(text, "preshared_key: " + b64(kPsk), "preshared_key_file: keys/branch.psk");
  const std::string path = dir.write("gw.yaml", text, 0644);
  const LoadResult r = load_config(path);
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_EQ(r.config->source_path, path);
  EXPECT_TRUE(r.config->private_key.equals(std::span<const uint8_t, 32>(kPriv)));
  ASSERT_TRUE(r.config->peers[0].preshared_key);
  EXPECT_TRUE(r.config->peers[0].preshared_key->equals(std::span<const uint8_t, 32>(kPsk)));
}

TEST(ConfigKeyFiles, AbsolutePathIgnoresBaseDir) {
  TempDir dir;
  const std::string file = dir.write("wsp0.key", b64(kPriv), 0600);
  const LoadResult r = load(full_with_key_file(file), "/nonexistent");
  ASSERT_TRUE(r.config) << error_of(r);
  EXPECT_TRUE(r.config->private_key.equals(std::span<const uint8_t, 32>(kPriv)));
}

TEST(ConfigKeyFiles, LoosePermissionsAreRefusedNamingTheMode) {
  struct ModeCase {
    mode_t mode;
    const char* want;
  };
  const ModeCase cases[] = {
      {0644, "key file is readable by group or others (mode 0644); chmod 600 it"},
      {0640, "key file is readable by group or others (mode 0640); chmod 600 it"},
      {0604, "key file is readable by group or others (mode 0604); chmod 600 it"},
      {0620, "key file is open to group or others (mode 0620); chmod 600 it"},
      {0601, "key file is open to group or others (mode 0601); chmod 600 it"},
  };
  for (const ModeCase& c : cases) {
    TempDir dir;
    const std::string file = dir.write("wsp0.key", b64(kPriv) + "\n", c.mode);
    const LoadResult r = load(full_with_key_file("wsp0.key"), dir.path());
    ASSERT_FALSE(r.config) << std::oct << c.mode;
    EXPECT_EQ(r.error.line, 3u);
    EXPECT_EQ(r.error.column, 21u);
    EXPECT_EQ(r.error.message, "interface.private_key_file: " + file + ": " + c.want);
  }
}

TEST(ConfigKeyFiles, PresharedKeyFileIsCheckedToo) {
  TempDir dir;
  const std::string file = dir.write("branch.psk", b64(kPsk), 0644);
  const LoadResult r = load(full_with(22, "    preshared_key_file: branch.psk"), dir.path());
  ASSERT_FALSE(r.config);
  EXPECT_EQ(r.error.to_string(), "gw.yaml:22:25: peers[0].preshared_key_file: " + file +
                                     ": key file is readable by group or others (mode 0644); "
                                     "chmod 600 it");
}

TEST(ConfigKeyFiles, ContentMustBeOneKey) {
  struct ContentCase {
    std::string content;
    const char* want;
  };
  const ContentCase cases[] = {
      {"", "key file is empty"},
      {" \n\n", "key file is empty"},
      {b64(kPriv) + "\n" + b64(kPsk) + "\n", "key file content: expected a base64 key"},
      {"AAAAAAAAAAAAAAAAAAAAAA==\n",
       "key file content: expected a base64 key of 32 bytes, got one of 16 bytes"},
      {std::string(300, 'A'), "key file is too large to hold one key"},
  };
  for (const ContentCase& c : cases) {
    TempDir dir;
    dir.write("wsp0.key", c.content, 0600);
    const LoadResult r = load(full_with_key_file("wsp0.key"), dir.path());
    ASSERT_FALSE(r.config) << c.want;
    EXPECT_EQ(r.error.line, 3u);
    EXPECT_NE(r.error.message.find(c.want), std::string::npos) << r.error.to_string();
  }

  TempDir dir;
  std::filesystem::create_directory(dir.path() + "/wsp0.key");
  const LoadResult r = load(full_with_key_file("wsp0.key"), dir.path());
  ASSERT_FALSE(r.config);
  EXPECT_NE(r.error.message.find("not a regular file"), std::string::npos) << r.error.to_string();
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

// ---- the shipped examples --------------------------------------------------

// 1-based line of the first line of `text` containing `needle`, 0 if none.
unsigned line_of(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  if (at == std::string::npos) return 0;
  return 1 + static_cast<unsigned>(std::count(text.begin(), text.begin() + at, '\n'));
}

TEST(ConfigExamples, LabYamlLoads) {
  const std::string path = kExamplesDir + "/lab.yaml";
  std::string text = read_text_file(path);
  const std::string key_path = "/etc/wirespeed/wsp0.key";
  ASSERT_NE(line_of(text, "private_key_file: " + key_path), 0u);

  // As shipped: it loads, or (no key installed on this machine) fails only on the key file.
  const LoadResult as_is = load_config(path);
  if (!as_is.config) {
    EXPECT_EQ(as_is.error.line, line_of(text, "private_key_file: " + key_path))
        << as_is.error.to_string();
    EXPECT_NE(as_is.error.message.find("interface.private_key_file: " + key_path + ": "),
              std::string::npos)
        << as_is.error.to_string();
  }

  // With a key file of ours in place of the system one, every field is checked.
  TempDir dir;
  const std::string key_file = dir.write("wsp0.key", b64(kPriv) + "\n", 0600);
  replace_all(text, key_path, key_file);
  const LoadResult r = load_config_text(text, path, dir.path());
  ASSERT_TRUE(r.config) << error_of(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.name, "wsp0");
  EXPECT_TRUE(c.private_key.equals(std::span<const uint8_t, 32>(kPriv)));
  EXPECT_EQ(c.listen_port, 51820);
  EXPECT_EQ(c.mtu, 1420);
  EXPECT_EQ(c.file_prefix, "wsp0");
  EXPECT_EQ(c.eal, (std::vector<std::string>{"-l", "0-1", "--vdev=net_af_packet0,iface=veth-out,qpairs=2",
                                             "--vdev=net_tap0,iface=wsp0-in"}));
  EXPECT_EQ(c.workers, (std::vector<unsigned>{1}));
  EXPECT_EQ(c.outer.port, "net_af_packet0");
  ASSERT_EQ(c.outer.address.size(), 1u);
  EXPECT_EQ(format_address(c.outer.address[0].address), "192.0.2.1");
  ASSERT_TRUE(c.outer.gateway);
  EXPECT_EQ(format_address(*c.outer.gateway), "192.0.2.254");
  EXPECT_EQ(c.inner.port, "net_tap0");
  ASSERT_EQ(c.peers.size(), 1u);
  EXPECT_EQ(c.peers[0].name, "branch-1");
  EXPECT_EQ(b64(c.peers[0].public_key), "QdC5JFYIPkEf03cheXOuIBs74fLSp31HEJjzG1Kjc4I=");
  ASSERT_TRUE(c.peers[0].endpoint);
  EXPECT_EQ(format_address(c.peers[0].endpoint->address), "192.0.2.2");
  EXPECT_EQ(c.peers[0].endpoint->port, 51820);
  ASSERT_EQ(c.peers[0].allowed_ips.size(), 2u);
  EXPECT_EQ(format_prefix(c.peers[0].allowed_ips[1]), "fd00:1::/64");
  EXPECT_EQ(c.peers[0].persistent_keepalive, 25);
}

TEST(ConfigExamples, BareMetalYamlLoads) {
  const std::string path = kExamplesDir + "/bare-metal.yaml";
  std::string text = read_text_file(path);
  const std::string key_path = "/etc/wirespeed/wsp0.key";
  ASSERT_NE(line_of(text, "private_key_file: " + key_path), 0u);

  const LoadResult as_is = load_config(path);
  if (!as_is.config) {
    EXPECT_EQ(as_is.error.line, line_of(text, "private_key_file: " + key_path))
        << as_is.error.to_string();
  }

  // Its private key at an absolute path of ours; its dc-2.psk stays relative,
  // found next to the "config file" in base_dir.
  TempDir dir;
  replace_all(text, key_path, dir.write("wsp0.key", b64(kPriv) + "\n", 0600));
  dir.write("dc-2.psk", b64(kPsk) + "\n", 0600);
  const LoadResult r = load_config_text(text, path, dir.path());
  ASSERT_TRUE(r.config) << error_of(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.name, "wsp0");
  EXPECT_EQ(c.file_prefix, "wsp0");
  EXPECT_EQ(c.eal,
            (std::vector<std::string>{"-l", "0-4", "-a", "0000:3b:00.0", "-a", "0000:3b:00.1"}));
  EXPECT_EQ(c.workers, (std::vector<unsigned>{1, 2, 3, 4}));
  EXPECT_EQ(c.outer.port, "0000:3b:00.0");
  EXPECT_EQ(c.inner.port, "0000:3b:00.1");
  EXPECT_EQ(c.outer.queues, 4);
  EXPECT_EQ(c.inner.queues, 4);
  ASSERT_EQ(c.outer.address.size(), 2u);
  EXPECT_EQ(c.outer.address[1].address.family, 6);
  ASSERT_EQ(c.inner.address.size(), 2u);
  EXPECT_EQ(c.inner.address[1].address.family, 6);
  ASSERT_TRUE(c.outer.gateway);
  ASSERT_EQ(c.peers.size(), 4u);
  int with_psk = 0, v4_endpoints = 0, v6_endpoints = 0, keepalives = 0;
  for (const PeerConfig& p : c.peers) {
    EXPECT_FALSE(p.name.empty());
    EXPECT_FALSE(p.allowed_ips.empty());
    with_psk += p.preshared_key ? 1 : 0;
    keepalives += p.persistent_keepalive != 0 ? 1 : 0;
    if (p.endpoint) (p.endpoint->address.family == 6 ? v6_endpoints : v4_endpoints)++;
  }
  EXPECT_EQ(with_psk, 1);
  EXPECT_GE(v4_endpoints, 1);
  EXPECT_GE(v6_endpoints, 1);
  EXPECT_GE(keepalives, 1);
  for (const PeerConfig& p : c.peers) {
    if (p.preshared_key) {
      EXPECT_TRUE(p.preshared_key->equals(std::span<const uint8_t, 32>(kPsk)));
    }
  }
}

}  // namespace
}  // namespace wirespeed::config
