// The wg-quick(8) configuration format, read for `wirespeed import`: an INI
// file with one [Interface] and any number of [Peer] sections.
//
// What is read (keys case-insensitive, as wg-quick and wg(8) read them; '#'
// starts a comment anywhere on a line; Address, DNS and AllowedIPs take
// comma-separated lists and may repeat):
//   [Interface] PrivateKey ListenPort Address MTU
//               DNS Table PreUp PostUp PreDown PostDown SaveConfig FwMark
//   [Peer]      PublicKey PresharedKey Endpoint AllowedIPs PersistentKeepalive
// The second line of [Interface] keys has no counterpart in wirespeed (no
// resolver, no kernel routing table, no hooks, no firewall marks): each one
// becomes a Note naming its line, as do unknown keys and Endpoints given as
// host names (the gateway takes addresses only); so does a missing
// ListenPort (wg picks a random one, wirespeed a fixed one). Anything that
// cannot be read (a line that is not a section or key = value, a bad key,
// number, address or prefix) is an error with its line and column, and
// nothing is converted.
//
// Pure text processing, `wirespeed` process only. Key material is kept in
// crypto::Secret and never copied into a message or a note.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controlplane/crypto/blake2s.hpp"
#include "controlplane/crypto/x25519.hpp"

namespace wirespeed::controlplane::cli {

// A setting of the source file that the YAML does not carry. `line` is
// 1-based; `text` says what was dropped and why (never a key).
struct Note {
  unsigned line = 0;
  std::string text;
};

struct WgQuickPeer {
  unsigned line = 0;  // of its "[Peer]"
  crypto::PublicKey public_key{};
  std::optional<crypto::Key> preshared_key;
  std::string endpoint;                  // "192.0.2.2:51820" / "[2001:db8::2]:51820"; "" = none
  uint8_t endpoint_family = 0;           // 4, 6, or 0 when none
  std::vector<std::string> allowed_ips;  // as written, "/32" or "/128" added when missing
  uint16_t persistent_keepalive = 0;     // 0 = off
};

struct WgQuickConfig {
  unsigned interface_line = 0;  // of "[Interface]"
  std::optional<crypto::PrivateKey> private_key;
  std::optional<uint16_t> listen_port;
  std::optional<uint16_t> mtu;
  std::vector<std::string> addresses;  // as written, "/32" or "/128" added when missing
  std::vector<WgQuickPeer> peers;
  std::vector<Note> notes;  // in line order
};

struct WgQuickError {
  unsigned line = 0;  // 1-based
  unsigned column = 0;
  std::string message;
};

struct WgQuickResult {
  std::optional<WgQuickConfig> config;  // set on success
  WgQuickError error;                   // meaningful when config is empty
};

// Parses the text of a wg-quick file. Fails on the first error.
WgQuickResult parse_wg_quick(std::string_view text);

}  // namespace wirespeed::controlplane::cli
