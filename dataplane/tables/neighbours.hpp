// The neighbour table: next-hop IP -> MAC, one per port, in the state zone
// (shm::NeighbourEntry). The main lcore is the only writer (from the control
// plane's kCmdNeighbourSet); workers look up without locks. Keys are never
// removed, so a reader can never see a slot change its key: it publishes
// `used` after writing the key, and the MAC is one atomic 64-bit word.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

#include "dataplane/shm/abi.hpp"

namespace wirespeed::dataplane::tables {

inline uint32_t neighbour_hash(uint8_t family, const uint8_t addr[16]) noexcept {
  uint64_t a;
  uint64_t b;
  std::memcpy(&a, addr, 8);
  std::memcpy(&b, addr + 8, 8);
  uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ULL) ^ family) * 0xC2B2AE3D27D4EB4FULL;
  return static_cast<uint32_t>(h >> 32);
}

inline bool neighbour_key_equals(const shm::NeighbourEntry& e, uint8_t family,
                                 const uint8_t addr[16]) noexcept {
  return e.family == family && std::memcmp(e.addr, addr, family == 4 ? 4 : 16) == 0;
}

// Workers. The MAC in the low 48 bits (byte 0 of the address in bits 0..7),
// or nothing when unknown.
inline std::optional<uint64_t> neighbour_lookup(const shm::NeighbourEntry* table, uint8_t family,
                                                const uint8_t addr[16]) noexcept {
  uint32_t i = neighbour_hash(family, addr) & (shm::kNeighbourSlots - 1);
  for (uint32_t probes = 0; probes < shm::kNeighbourSlots; ++probes) {
    const shm::NeighbourEntry& e = table[i];
    if (e.used.load(std::memory_order_acquire) == 0) return std::nullopt;
    if (neighbour_key_equals(e, family, addr)) {
      const uint64_t mac = e.mac.load(std::memory_order_acquire);
      if ((mac & shm::kNeighbourValid) == 0) return std::nullopt;
      return mac & 0xFFFFFFFFFFFFULL;
    }
    i = (i + 1) & (shm::kNeighbourSlots - 1);
  }
  return std::nullopt;
}

inline uint64_t mac_to_word(const uint8_t mac[6]) noexcept {
  uint64_t w = 0;
  for (unsigned i = 0; i < 6; ++i) w |= static_cast<uint64_t>(mac[i]) << (8 * i);
  return w;
}

inline void word_to_mac(uint64_t w, uint8_t mac[6]) noexcept {
  for (unsigned i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(w >> (8 * i));
}

// Entries in use (readers: the control plane's views and its learning
// budget). A walk of every slot: not for the data path.
inline uint32_t neighbour_count(const shm::NeighbourEntry* table) noexcept {
  uint32_t used = 0;
  for (uint32_t i = 0; i < shm::kNeighbourSlots; ++i) {
    used += table[i].used.load(std::memory_order_acquire) != 0 ? 1 : 0;
  }
  return used;
}

// Main lcore only. False when the table is full.
inline bool neighbour_set(shm::NeighbourEntry* table, uint8_t family, const uint8_t addr[16],
                          const uint8_t mac[6]) noexcept {
  uint32_t i = neighbour_hash(family, addr) & (shm::kNeighbourSlots - 1);
  for (uint32_t probes = 0; probes < shm::kNeighbourSlots; ++probes) {
    shm::NeighbourEntry& e = table[i];
    if (e.used.load(std::memory_order_relaxed) == 0) {
      e.family = family;
      std::memset(e.addr, 0, sizeof(e.addr));
      std::memcpy(e.addr, addr, family == 4 ? 4 : 16);
      e.mac.store(mac_to_word(mac) | shm::kNeighbourValid, std::memory_order_relaxed);
      e.used.store(1, std::memory_order_release);
      return true;
    }
    if (neighbour_key_equals(e, family, addr)) {
      e.mac.store(mac_to_word(mac) | shm::kNeighbourValid, std::memory_order_release);
      return true;
    }
    i = (i + 1) & (shm::kNeighbourSlots - 1);
  }
  return false;
}

}  // namespace wirespeed::dataplane::tables
