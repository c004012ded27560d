// The key subcommands (keys.hpp), written to behave as wireguard-tools'
// genkey.c / pubkey.c do, including their messages and exit codes, so that
// scripts written for `wg` work unchanged with `wirespeed`.
#include "controlplane/cli/keys.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include "controlplane/crypto/aead.hpp"
#include "controlplane/crypto/x25519.hpp"

namespace wirespeed::controlplane::cli {

namespace crypto = controlplane::crypto;

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// One base64 character's 6 bits, or -1 (no table lookup indexed by the
// character: wg's encoding.c avoids them to stay constant-time on secrets,
// and so do we).
int decode_char(unsigned char c) noexcept {
  int ret = -1;
  ret += (((('A' - 1) - c) & (c - ('Z' + 1))) >> 8) & (c - 64);
  ret += (((('a' - 1) - c) & (c - ('z' + 1))) >> 8) & (c - 70);
  ret += (((('0' - 1) - c) & (c - ('9' + 1))) >> 8) & (c + 5);
  ret += (((('+' - 1) - c) & (c - ('+' + 1))) >> 8) & 63;
  ret += (((('/' - 1) - c) & (c - ('/' + 1))) >> 8) & 64;
  return ret;
}

// Four characters to 24 bits; negative when any is not in the alphabet.
int decode_group(const char src[4]) noexcept {
  int val = 0;
  for (unsigned i = 0; i < 4; ++i) {
    val |= decode_char(static_cast<unsigned char>(src[i])) << (18 - 6 * i);
  }
  return val;
}

bool is_space(int c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int usage(const char* name, std::FILE* err) {
  std::fprintf(err, "Usage: wirespeed %s\n", name);
  return 1;
}

// genkey and genpsk: 32 random bytes, clamped for genkey.
int generate(int argc, char** argv, bool clamp, std::FILE* out, std::FILE* err) {
  if (argc != 1) return usage(argv[0], err);
  struct stat st {};
  if (fstat(fileno(out), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) != 0) {
    std::fputs(
        "Warning: writing to world accessible file.\n"
        "Consider setting the umask to 077 and trying again.\n",
        err);
  }
  if (!crypto::init_sodium()) {
    std::fprintf(err, "wirespeed: cannot initialise libsodium\n");
    return 1;
  }
  crypto::PrivateKey key;
  randombytes_buf(key.data(), key.size());
  if (clamp) crypto::clamp(key);
  std::string text = key_to_base64(key.bytes());
  std::fprintf(out, "%s\n", text.c_str());
  sodium_memzero(text.data(), text.size());  // the key's only other copy is `key`, wiped by Secret
  return std::fflush(out) == 0 ? 0 : 1;
}

}  // namespace

std::string key_to_base64(std::span<const uint8_t, kKeyLen> key) {
  std::string text;
  text.reserve(kKeyBase64Len);
  for (size_t i = 0; i < kKeyLen; i += 3) {
    const uint32_t b0 = key[i];
    const uint32_t b1 = i + 1 < kKeyLen ? key[i + 1] : 0;
    const uint32_t b2 = i + 2 < kKeyLen ? key[i + 2] : 0;
    const uint32_t group = (b0 << 16) | (b1 << 8) | b2;
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += i + 1 < kKeyLen ? kAlphabet[(group >> 6) & 63] : '=';
    text += i + 2 < kKeyLen ? kAlphabet[group & 63] : '=';
  }
  return text;
}

bool key_from_base64(std::string_view text, std::span<uint8_t, kKeyLen> out) {
  if (text.size() != kKeyBase64Len || text[kKeyBase64Len - 1] != '=') return false;
  // Accumulate failures without branching on secret characters (encoding.c).
  uint32_t bad = 0;
  size_t i = 0;
  for (; i < kKeyLen / 3; ++i) {
    const int val = decode_group(&text[i * 4]);
    bad |= static_cast<uint32_t>(val) >> 31;
    out[i * 3 + 0] = static_cast<uint8_t>((val >> 16) & 0xff);
    out[i * 3 + 1] = static_cast<uint8_t>((val >> 8) & 0xff);
    out[i * 3 + 2] = static_cast<uint8_t>(val & 0xff);
  }
  const char last[4] = {text[i * 4 + 0], text[i * 4 + 1], text[i * 4 + 2], 'A'};
  const int val = decode_group(last);
  // The third character carries 2 bits nobody uses: they must be zero.
  bad |= (static_cast<uint32_t>(val) >> 31) | static_cast<uint32_t>(val & 0xff);
  out[i * 3 + 0] = static_cast<uint8_t>((val >> 16) & 0xff);
  out[i * 3 + 1] = static_cast<uint8_t>((val >> 8) & 0xff);
  return bad == 0;
}

int genkey_command(int argc, char** argv, std::FILE* out, std::FILE* err) {
  return generate(argc, argv, true, out, err);
}

int genpsk_command(int argc, char** argv, std::FILE* out, std::FILE* err) {
  return generate(argc, argv, false, out, err);
}

int pubkey_command(int argc, char** argv, std::FILE* in, std::FILE* out, std::FILE* err) {
  if (argc != 1) return usage(argv[0], err);
  // Read exactly one key's worth, then insist on nothing but whitespace (and
  // NUL bytes, which wg tolerates too) up to the end.
  char text[kKeyBase64Len + 1] = {};
  const size_t got = std::fread(text, 1, kKeyBase64Len, in);
  int rc = 0;
  if (got != kKeyBase64Len) {
    std::fputs("wirespeed: Key is not the correct length or format\n", err);
    rc = 1;
  }
  while (rc == 0) {
    const int c = std::fgetc(in);
    if (c == 0 || is_space(c)) continue;
    if (c == EOF) break;
    std::fputs("wirespeed: Trailing characters found after key\n", err);
    rc = 1;
  }
  crypto::PrivateKey key;
  if (rc == 0 && !key_from_base64(std::string_view(text, kKeyBase64Len), key.writable())) {
    std::fputs("wirespeed: Key is not the correct length or format\n", err);
    rc = 1;
  }
  sodium_memzero(text, sizeof(text));
  if (rc != 0) return rc;
  const crypto::PublicKey pub = crypto::public_key(key);
  std::fprintf(out, "%s\n", key_to_base64(pub).c_str());
  return std::fflush(out) == 0 ? 0 : 1;
}

}  // namespace wirespeed::controlplane::cli
