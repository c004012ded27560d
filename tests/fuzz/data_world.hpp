// The fixed keypair of the data-message fuzz target (fuzz_data.cpp) and its
// seed generator (make_seeds.cpp), and the input format they share: a
// sequence of records, each a u16 little-endian length and that many bytes of
// UDP payload arriving on the listen port, all under one replay window.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wirespeed::fuzz {

inline constexpr uint32_t kDataReceiverIndex = 0x5e1f0a27;

// A keypair's receive key: fixed, so that sealed seeds open in every run.
inline constexpr uint8_t kDataKey[32] = {
    0x3c, 0x91, 0x0e, 0x5a, 0x77, 0x12, 0xd4, 0x68, 0x2f, 0xa0, 0xbb, 0x4e, 0x01, 0xc9, 0x35, 0x8d,
    0x60, 0x1b, 0xe7, 0x92, 0x4a, 0x3f, 0x58, 0xcd, 0x06, 0x7e, 0x99, 0xf2, 0x23, 0xb4, 0x8a, 0x51};

// Splits a fuzz input into its records; a truncated last record is kept
// whole as far as it goes.
inline std::vector<std::span<const uint8_t>> split_records(const uint8_t* data, size_t size) {
  std::vector<std::span<const uint8_t>> out;
  size_t at = 0;
  while (at + 2 <= size) {
    size_t len = data[at] | static_cast<size_t>(data[at + 1]) << 8;
    at += 2;
    if (len > size - at) len = size - at;
    out.emplace_back(data + at, len);
    at += len;
  }
  return out;
}

inline void append_record(std::vector<uint8_t>& out, std::span<const uint8_t> payload) {
  out.push_back(static_cast<uint8_t>(payload.size()));
  out.push_back(static_cast<uint8_t>(payload.size() >> 8));
  out.insert(out.end(), payload.begin(), payload.end());
}

}  // namespace wirespeed::fuzz
