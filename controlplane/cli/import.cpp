// `wirespeed import` (import.hpp): wg-quick INI in, wirespeed YAML out.
// `wirespeed` process only. The output holds the private key: it is built in
// one string that is wiped once written.
#include "controlplane/cli/import.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "controlplane/cli/keys.hpp"

namespace wirespeed::controlplane::cli {

namespace {

// Bigger than any real wg-quick file by far; stops a wrong path (a disk
// image) from being read whole.
constexpr size_t kMaxConfBytes = size_t{4} << 20;

bool is_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '=' || c == '+' || c == '.' || c == '-';
}

std::string flow_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ", ";
    out += items[i];
  }
  return out + "]";
}

// Appended piecewise: `"\"" + std::string` trips g++ 12's -Wrestrict false
// positive (GCC bug 105329) at -O3, as config/values.cpp notes.
std::string yaml_quoted(std::string_view s) {
  std::string out(1, '"');
  out += s;
  out += '"';
  return out;
}

// Appends a key's base64 without leaving an unwiped copy on the heap.
void append_key(std::string& y, std::span<const uint8_t, kKeyLen> key) {
  std::string text = key_to_base64(key);
  y += text;
  sodium_memzero(text.data(), text.size());
}

bool read_file(const char* path, std::string& out, std::FILE* err) {
  std::FILE* f = std::fopen(path, "rb");
  if (f == nullptr) {
    std::fprintf(err, "wirespeed import: %s: %s\n", path, std::strerror(errno));
    return false;
  }
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    out.append(buf, n);
    if (out.size() > kMaxConfBytes) {
      std::fprintf(err, "wirespeed import: %s: larger than %zu bytes: not a wg-quick file\n", path,
                   kMaxConfBytes);
      std::fclose(f);
      return false;
    }
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) std::fprintf(err, "wirespeed import: %s: read error\n", path);
  return !failed;
}

// Writes `text` to `path` with mode 0600 whatever the umask (it holds a key).
bool write_private_file(const char* path, const std::string& text, std::FILE* err) {
  const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || fchmod(fd, 0600) != 0) {
    std::fprintf(err, "wirespeed import: %s: %s\n", path, std::strerror(errno));
    if (fd >= 0) close(fd);
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::fprintf(err, "wirespeed import: %s: %s\n", path, std::strerror(errno));
      close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    std::fprintf(err, "wirespeed import: %s: %s\n", path, std::strerror(errno));
    return false;
  }
  return true;
}

int usage(std::FILE* err) {
  std::fputs("Usage: wirespeed import FILE.conf [-o OUT.yaml] [--name NAME] [--key-file KEY]\n",
             err);
  return 1;
}

}  // namespace

std::string interface_name_from_path(std::string_view path) {
  const size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  if (base.size() >= 5 && base.substr(base.size() - 5) == ".conf") base.remove_suffix(5);
  if (base.empty() || base.size() > 15) return "";
  for (char c : base)
    if (!is_name_char(c)) return "";
  return std::string(base);
}

std::string render_yaml(const WgQuickConfig& cfg, const std::string& source,
                        const std::string& name, const std::string& key_file) {
  bool want_v4 = false, want_v6 = false;
  for (const WgQuickPeer& p : cfg.peers) {
    want_v4 |= p.endpoint_family == 4;
    want_v6 |= p.endpoint_family == 6;
  }
  const bool any_endpoint = want_v4 || want_v6;
  if (!any_endpoint) want_v4 = true;

  std::string y;
  // Reserved up front so that growing never frees a buffer holding a key.
  size_t estimate = 4096 + 64 * cfg.addresses.size();
  for (const WgQuickPeer& p : cfg.peers) {
    estimate += 512;
    for (const std::string& a : p.allowed_ips) estimate += a.size() + 2;
  }
  y.reserve(estimate);
  y += "# Made by `wirespeed import` from " + source + " (wg-quick format).\n";
  y += "# Before starting the gateway, replace every \"@...@\" placeholder in the\n";
  y += "# dataplane section (wg-quick has nothing like it: it names this machine's\n";
  y += "# ports and addresses), then run `wirespeed check-config` on this file.\n";
  y += "# Settings the import could not carry over were listed when it ran.\n";
  y += "interface:\n";
  y += "  name: " + name + "  # the UAPI socket is /var/run/wireguard/" + name + ".sock\n";
  if (cfg.private_key && !key_file.empty()) {
    y += "  # The PrivateKey of " + source + ", written there by the import (mode 0600).\n";
    y += "  private_key_file: " + yaml_quoted(key_file) + "\n";
  } else if (cfg.private_key) {
    y += "  # Copied from " + source + ": this file is a secret (mode 0600). Better, move it\n";
    y += "  # to a key file: (umask 077; echo KEY > /etc/wirespeed/" + name + ".key), then\n";
    y += "  # private_key_file: /etc/wirespeed/" + name + ".key instead of this line\n";
    y += "  # (or import again with --key-file).\n";
    y += "  private_key: ";
    append_key(y, cfg.private_key->bytes());
    y += "\n";
  } else {
    y += "  # EDIT: " + source + " has no PrivateKey; name the file that holds it (mode 0600).\n";
    y += "  private_key_file: " + yaml_quoted(kPlaceholderPrivateKeyFile) + "\n";
  }
  if (cfg.listen_port) y += "  listen_port: " + std::to_string(*cfg.listen_port) + "\n";
  if (cfg.mtu) y += "  mtu: " + std::to_string(*cfg.mtu) + "\n";

  y += "dataplane:\n";
  y += "  # TEMPLATE, EDIT: which NIC ports and lcores this gateway uses.\n";
  y += "  file_prefix: " + name + "\n";
  y += "  # EAL arguments: lcore 0 applies commands, lcore 1 is the worker. -a allows\n";
  y += "  # a PCI port; for virtual devices write --vdev=... instead (see\n";
  y += "  # config/examples/lab.yaml).\n";
  y += "  eal: [\"-l\", \"0-1\", \"-a\", " + yaml_quoted(kPlaceholderOuterPort) + ", \"-a\", " +
       yaml_quoted(kPlaceholderInnerPort) + "]\n";
  y += "  workers: [1]\n";
  y += "  outer:                 # the port facing the peers (where WireGuard's UDP arrives)\n";
  y += "    port: " + yaml_quoted(kPlaceholderOuterPort) +
       "          # EDIT: PCI address or vdev name\n";
  y += "    queues: 1\n";
  y += "    # EDIT: this machine's address(es) on that port WITH the prefix length of\n";
  y += "    # the link, e.g. 192.0.2.1/24";
  y += want_v6 ? " or 2001:db8::1/64 (one per endpoint family below)\n" : "\n";
  std::vector<std::string> outer;
  if (want_v4) outer.push_back(yaml_quoted(kPlaceholderOuterAddressV4));
  if (want_v6) outer.push_back(yaml_quoted(kPlaceholderOuterAddressV6));
  y += "    address: " + flow_list(outer) + "\n";
  if (any_endpoint) {
    y += "    # EDIT: the next-hop router towards endpoints off that link; delete the\n";
    y += "    # line when every endpoint below is on the link.\n";
    y += "    gateway: " + yaml_quoted(kPlaceholderOuterGateway) + "\n";
  } else {
    y += "    # gateway: 192.0.2.254   # next hop towards endpoints off the link, if any\n";
  }
  y += "  inner:                 # the port facing the LAN: where " + name + " used to be\n";
  y += "    port: " + yaml_quoted(kPlaceholderInnerPort) +
       "          # EDIT: PCI address or vdev name\n";
  y += "    queues: 1\n";
  if (cfg.addresses.empty()) {
    y += "    # EDIT: " + source + " has no Address; this machine's address on the LAN port.\n";
    y += "    address: [" + yaml_quoted(kPlaceholderInnerAddress) + "]\n";
  } else {
    y += "    address: " + flow_list(cfg.addresses) + "  # from Address = in " + source + "\n";
  }

  if (cfg.peers.empty()) {
    y += "peers: []\n";
    return y;
  }
  y += "peers:\n";
  for (const WgQuickPeer& p : cfg.peers) {
    y += "  # [Peer] at line " + std::to_string(p.line) + " of " + source + "\n";
    y += "  - public_key: " + key_to_base64(p.public_key) + "\n";
    if (p.preshared_key) {
      y += "    preshared_key: ";
      append_key(y, p.preshared_key->bytes());
      y += "\n";
    }
    if (!p.endpoint.empty()) {
      y +=
          "    endpoint: " + (p.endpoint_family == 6 ? yaml_quoted(p.endpoint) : p.endpoint) + "\n";
    }
    if (!p.allowed_ips.empty()) y += "    allowed_ips: " + flow_list(p.allowed_ips) + "\n";
    if (p.persistent_keepalive != 0) {
      y += "    persistent_keepalive: " + std::to_string(p.persistent_keepalive) + "\n";
    }
  }
  return y;
}

int import_command(int argc, char** argv, std::FILE* out, std::FILE* err) {
  const char* input = nullptr;
  const char* output = nullptr;
  std::string name;
  std::string key_file;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if ((a == "-o" || a == "--output") && i + 1 < argc) {
      output = argv[++i];
    } else if (a == "--name" && i + 1 < argc) {
      name = argv[++i];
    } else if (a == "--key-file" && i + 1 < argc) {
      // Absolute, so that the YAML means the same file wherever it is moved
      // (the loader reads a relative path next to the YAML, not here).
      std::error_code ec;
      key_file = std::filesystem::absolute(argv[++i], ec).string();
      if (ec || key_file.find('"') != std::string::npos ||
          key_file.find('\\') != std::string::npos) {
        std::fprintf(err, "wirespeed import: --key-file: cannot use %s\n", argv[i]);
        return 1;
      }
    } else if (!a.empty() && a[0] != '-' && input == nullptr) {
      input = argv[i];
    } else {
      return usage(err);
    }
  }
  if (input == nullptr) return usage(err);
  if (name.empty()) {
    name = interface_name_from_path(input);
    if (name.empty()) {
      std::fprintf(err,
                   "wirespeed import: %s: the file name is not an interface name (1-15 of "
                   "A-Z a-z 0-9 _ = + . -); give one with --name\n",
                   input);
      return 1;
    }
  } else if (interface_name_from_path(name) != name) {
    std::fprintf(err, "wirespeed import: --name: expected 1-15 of A-Z a-z 0-9 _ = + . -\n");
    return 1;
  }

  std::string text;
  if (!read_file(input, text, err)) {
    sodium_memzero(text.data(), text.size());
    return 1;
  }
  WgQuickResult parsed = parse_wg_quick(text);
  sodium_memzero(text.data(), text.size());
  if (!parsed.config) {
    const WgQuickError& e = parsed.error;
    if (e.line == 0) {
      std::fprintf(err, "%s: %s\n", input, e.message.c_str());
    } else {
      std::fprintf(err, "%s:%u:%u: %s\n", input, e.line, e.column, e.message.c_str());
    }
    return 2;
  }
  const WgQuickConfig& cfg = *parsed.config;
  if (!key_file.empty() && !cfg.private_key) {
    std::fprintf(err, "wirespeed import: --key-file: %s has no PrivateKey to write\n", input);
    return 1;
  }
  for (const Note& n : cfg.notes) std::fprintf(err, "%s:%u: %s\n", input, n.line, n.text.c_str());
  if (!cfg.private_key) {
    std::fprintf(err, "%s:%u: no PrivateKey: fill in private_key_file in the YAML\n", input,
                 cfg.interface_line);
  }
  if (cfg.addresses.empty()) {
    std::fprintf(err, "%s:%u: no Address: fill in dataplane.inner.address in the YAML\n", input,
                 cfg.interface_line);
  }

  if (!key_file.empty()) {
    std::string key_text = key_to_base64(cfg.private_key->bytes()) + "\n";
    const bool key_written = write_private_file(key_file.c_str(), key_text, err);
    sodium_memzero(key_text.data(), key_text.size());
    if (!key_written) return 1;
  }

  std::string yaml = render_yaml(cfg, input, name, key_file);
  bool written;
  if (output != nullptr) {
    written = write_private_file(output, yaml, err);
  } else {
    struct stat st {};
    if (cfg.private_key && key_file.empty() && fstat(fileno(out), &st) == 0 &&
        S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) != 0) {
      std::fputs("Warning: writing a private key to a world accessible file; use -o.\n", err);
    }
    written = std::fwrite(yaml.data(), 1, yaml.size(), out) == yaml.size() && std::fflush(out) == 0;
    if (!written) std::fprintf(err, "wirespeed import: cannot write the YAML\n");
  }
  sodium_memzero(yaml.data(), yaml.size());
  if (!written) return 1;
  std::fprintf(err,
               "wirespeed import: %zu peer(s) converted, %zu setting(s) not carried over (above); "
               "now fill in the \"@...@\" placeholders of the dataplane section\n",
               cfg.peers.size(), cfg.notes.size());
  return 0;
}

}  // namespace wirespeed::controlplane::cli
