// Text forms of shared-memory values (text.hpp).
#include "dataplane/shm/text.hpp"

#include <arpa/inet.h>
#include <sodium.h>

#include <cstdio>

namespace wirespeed::dataplane::shm {

std::string endpoint_text(const Endpoint& e, const char* none) {
  char addr[INET6_ADDRSTRLEN] = "";
  char text[INET6_ADDRSTRLEN + 16];
  if (e.family == 4 && inet_ntop(AF_INET, e.addr, addr, sizeof(addr)) != nullptr) {
    std::snprintf(text, sizeof(text), "%s:%u", addr, e.port);
    return text;
  }
  if (e.family == 6 && inet_ntop(AF_INET6, e.addr, addr, sizeof(addr)) != nullptr) {
    std::snprintf(text, sizeof(text), "[%s]:%u", addr, e.port);
    return text;
  }
  return none;
}

std::string key_base64(const uint8_t key[32]) {
  char text[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(text, sizeof(text), key, 32, sodium_base64_VARIANT_ORIGINAL);
  return text;
}

}  // namespace wirespeed::dataplane::shm
