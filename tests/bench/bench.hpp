// wirespeed-bench: the data path against the crypto ceiling of this CPU
// (issue 5). Not a test: it asserts nothing about time, it measures and
// prints. scripts/bench.sh runs it, adds the wireguard-go baseline, and
// writes build/bench/results.json and the plot.
//
// Pieces: ceiling.cpp (raw IPsec-MB seal/open, no wirespeed code),
// gateway.cpp (a real dataplane — shared state, tables, Applier, IPsec-MB
// engines, net_null ports — with peers and keypairs installed through the
// Applier's commands), datapath.cpp (the pipeline functions on real lcores,
// fed by an in-memory generator), bench_main.cpp (EAL, the run plan, the
// table and the JSON).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace wirespeed::bench {

// Inner IP packet sizes in bytes; kImix is the simple IMIX 7:4:1 of 64,
// 576 and 1420 (our MTU stands in for 1500).
inline constexpr unsigned kImix = 0;
inline constexpr unsigned kSizes[] = {64, 128, 256, 512, 1024, 1420, kImix};
inline constexpr unsigned kImixPattern[] = {64, 64, 64, 64, 64, 64, 64, 576, 576, 576, 576, 1420};
inline constexpr unsigned kMtu = 1420;

inline std::string size_name(unsigned size) {
  return size == kImix ? "imix" : std::to_string(size);
}

// The size of packet i of a stream of `size` (IMIX cycles its pattern).
inline unsigned packet_size(unsigned size, unsigned i) {
  return size == kImix ? kImixPattern[i % (sizeof(kImixPattern) / sizeof(kImixPattern[0]))] : size;
}

// The bytes a sender seals for an inner packet of `ip_len`: padded to 16,
// never past the MTU (whitepaper §5.4.6; encap.cpp does the same).
inline unsigned sealed_len(unsigned ip_len) {
  unsigned padded = (ip_len + 15) & ~15u;
  if (padded > kMtu) padded = ip_len > kMtu ? ip_len : kMtu;
  return padded;
}

// Median, min and max of repeated runs.
struct Stat {
  double median = 0, min = 0, max = 0;
};

inline Stat summarise(std::vector<double> v) {
  Stat s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  const size_t n = v.size();
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return s;
}

// --- ceiling.cpp -------------------------------------------------------------
// ns per packet to seal (or open) `size` bytes (as sealed_len of the inner
// size), bursts of 32 through IPsec-MB's job API on the calling lcore, for at
// least `min_ms` of work.
double ceiling_ns(unsigned size, bool seal, unsigned min_ms);
const char* ceiling_arch();  // the code path IPsec-MB picked ("avx512", ...)

// --- engine.cpp --------------------------------------------------------------
// The same through wirespeed's dataplane/crypto burst calls.
double engine_ns(unsigned size, bool seal, unsigned min_ms);

}  // namespace wirespeed::bench
