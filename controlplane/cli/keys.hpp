// `wirespeed genkey`, `wirespeed pubkey`, `wirespeed genpsk`: the key tools of
// wg(8), byte for byte (wireguard-tools src/genkey.c, pubkey.c, encoding.c).
//
//   genkey  32 random bytes, clamped as an X25519 scalar (RFC 7748 §5), in
//           standard base64 (44 characters) and a newline.
//   genpsk  the same without the clamping.
//   pubkey  reads one base64 private key on stdin (exactly 44 characters,
//           then only whitespace or NUL bytes), prints its public key. On bad
//           input: a message on stderr, nothing on stdout, exit 1.
//
// The base64 here is wg's own, not a general one: exactly 44 characters, the
// last one '=', and the unused low bits of the last group zero (so every key
// has one spelling). The config loader accepts the same texts.
//
// Runs in the `wirespeed` process only; key bytes live in crypto::Secret and
// never reach a message.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>

namespace wirespeed::controlplane::cli {

inline constexpr size_t kKeyLen = 32;
inline constexpr size_t kKeyBase64Len = 44;  // without the terminating NUL

// wg's key_to_base64: 44 characters, standard alphabet, one '=' of padding.
std::string key_to_base64(std::span<const uint8_t, kKeyLen> key);

// wg's key_from_base64: true and `out` filled when `text` is exactly a key's
// base64 as key_to_base64 writes it. On false `out` is unspecified (the
// caller wipes it).
bool key_from_base64(std::string_view text, std::span<uint8_t, kKeyLen> out);

// The subcommands. `args` are the words after the subcommand's name (wg
// takes none and prints usage, exit 1, when given any). Return the exit
// status; write only to the streams given.
int genkey_command(int argc, char** argv, std::FILE* out, std::FILE* err);
int genpsk_command(int argc, char** argv, std::FILE* out, std::FILE* err);
int pubkey_command(int argc, char** argv, std::FILE* in, std::FILE* out, std::FILE* err);

}  // namespace wirespeed::controlplane::cli
