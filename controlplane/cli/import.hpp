// `wirespeed import FILE.conf [-o OUT.yaml] [--name NAME] [--key-file KEY]`:
// a wg-quick file (wg_quick.hpp) turned into wirespeed's YAML
// (config/README.md).
//
// What carries over: the private key, listen port and MTU (interface:), the
// Address list (dataplane.inner.address: the inner port stands where the
// WireGuard interface stood), and every peer. What wg-quick has no word for
// is the dataplane: which NIC ports, which lcores, our outer address. The
// YAML gets a template for it whose values are placeholders "@NAME@" (the
// kPlaceholder* constants) that the loader refuses, so the file cannot be
// started until the operator has filled them in; comments say what each one
// wants. What does not carry over (DNS, Table, hooks, FwMark, SaveConfig,
// host-name endpoints, unknown keys) is printed on stderr as
// "FILE:LINE: ...".
//
// The YAML holds the private key inline (the .conf held it too), so -o
// creates the file with mode 0600; a comment suggests moving it to a key
// file. --key-file KEY does that instead: the key goes to KEY (mode 0600, as
// wg genkey would have written it) and the YAML names the file.
// Exit status: 0 converted, 2 the .conf has an error (FILE:LINE:COLUMN:
// message, nothing written), 1 usage or I/O error.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "controlplane/cli/wg_quick.hpp"

namespace wirespeed::controlplane::cli {

// Each has a space in it, so that the loader refuses every one left in place
// (no ethdev name or address has a space; no key file is named so).
inline constexpr char kPlaceholderOuterPort[] = "@OUTER PORT@";
inline constexpr char kPlaceholderInnerPort[] = "@INNER PORT@";
inline constexpr char kPlaceholderOuterAddressV4[] = "@OUTER IPV4 ADDRESS/PREFIX@";
inline constexpr char kPlaceholderOuterAddressV6[] = "@OUTER IPV6 ADDRESS/PREFIX@";
inline constexpr char kPlaceholderOuterGateway[] = "@OUTER GATEWAY@";
inline constexpr char kPlaceholderInnerAddress[] = "@INNER ADDRESS/PREFIX@";  // no Address =
inline constexpr char kPlaceholderPrivateKeyFile[] = "@PRIVATE KEY FILE@";    // no PrivateKey =

// The interface name wg-quick would use for `path`: its file name without
// ".conf", when that is a valid name (1..15 of [A-Za-z0-9_=+.-]); else "".
std::string interface_name_from_path(std::string_view path);

// The YAML for `cfg`. `source` names the .conf in comments; `name` is
// interface.name. Adds to cfg.notes nothing: the caller prints those.
// With `key_file` (absolute; the caller has written the key there) the
// YAML says private_key_file: KEY_FILE instead of holding the key.
std::string render_yaml(const WgQuickConfig& cfg, const std::string& source,
                        const std::string& name, const std::string& key_file = "");

int import_command(int argc, char** argv, std::FILE* out, std::FILE* err);

}  // namespace wirespeed::controlplane::cli
