// Tests for the YAML config loader (config/config.hpp): a full config read
// back field by field, the defaults, key files (mode, relative paths,
// content), and the shipped examples loading for real. Broken configs are in
// config_errors_test.cpp.
#include "tests/config/config_fixture.hpp"

#include <sys/stat.h>

namespace wirespeed::config {
namespace {

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

// ---- key files ------------------------------------------------------------

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

  // A FIFO is refused at once; opening it must not wait for a writer.
  TempDir fifo_dir;
  ASSERT_EQ(::mkfifo((fifo_dir.path() + "/wsp0.key").c_str(), 0600), 0);
  const LoadResult f = load(full_with_key_file("wsp0.key"), fifo_dir.path());
  ASSERT_FALSE(f.config);
  EXPECT_NE(f.error.message.find("not a regular file"), std::string::npos) << f.error.to_string();
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
