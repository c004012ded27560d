// Data-path runs of wirespeed-bench: the real pipeline functions
// (encap_burst, decap_burst, flush_tx) on real lcores, each lcore with its
// own context, IPsec-MB engine, counter row and TX queue, as the dataplane's
// workers have them.
//
// The generator: every lcore replays its own stream of prepared frames.
// Per burst it takes 32 mbufs from the pool and copies 32 frames in (not
// timed: a NIC's DMA does this work), then the timed part runs exactly what
// a worker runs for a received burst — the clock read, the pipeline, the TX
// flush into net_null (which frees the mbufs back to the pool).
//
// ns per packet = timed TSC cycles / packets; Mpps of a run = sum over its
// lcores of packets / timed seconds — what the lcores would forward if the
// NIC fed them at that rate. Nothing is lost silently: every run checks that
// what went in came out encrypted/decrypted, and reports the drops by
// reason when it did not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/bench/gateway.hpp"

namespace wirespeed::bench {

enum class Direction { kEncap, kDecap };

// One stream of frames per lcore.
struct Streams {
  std::vector<std::vector<Bytes>> per_lcore;
  bool one_peer = false;  // decap of one peer dealt over lcores
};

// Frames for `lcores` lcores: encap frames from the LAN host, or decap data
// messages sealed by our encap. Many peers: lcore w's stream cycles over
// the peers p with p % lcores == w (as RSS would keep a flow on one queue),
// 32 different peers in a row. One peer: every stream goes to peer 0; for
// decap the streams take turns, one burst each, out of one run of counters
// (so both lcores open and update the same keypair's replay window).
Streams make_streams(BenchGateway& gw, Direction dir, unsigned size, bool one_peer,
                     unsigned lcores, unsigned frames_per_lcore);

struct RunResult {
  double ns_per_packet = 0;  // mean over the lcores' timed cycles
  // The median burst's cycles / 32: insensitive to a burst the OS preempted
  // (for comparing builds on a busy machine; the mean is what is reported).
  double median_burst_ns_per_packet = 0;
  double mpps = 0;           // sum over lcores
  uint64_t offered = 0;
  uint64_t done = 0;  // encrypted or decrypted
  std::string drops;  // by reason, "none" when none
};

// Replays each stream `passes` times on lcores.size() lcores (the first is
// the calling, main lcore; the others are launched). Replay windows are
// reset between passes (not timed).
RunResult run(BenchGateway& gw, Direction dir, const Streams& streams,
              const std::vector<unsigned>& lcores, unsigned passes);

// One peer on one RX queue, as RSS delivers one tunnel: lcore 0 receives
// every burst (the generator stands in for its RX queue) and hands it to the
// dataplane's dispatch (pipeline/worker.hpp), which shares full bursts with
// the other lcores while they are idle; those run the workers' help path.
// With one lcore there is no share and lcore 0 does everything. Mpps here is
// wall-clock: packets / (end - start) of the whole run, generator included,
// so that 1 and N lcores are measured alike. `stream` is one stream (of
// make_streams(..., lcores = 1, ...)). dma_like: the generator writes frames
// with streaming stores, past the caches, as a NIC's DMA would; otherwise
// with memcpy, which leaves them hot in lcore 0's cache.
RunResult run_one_queue(BenchGateway& gw, Direction dir, const std::vector<Bytes>& stream,
                        const std::vector<unsigned>& lcores, unsigned passes, bool dma_like);

}  // namespace wirespeed::bench
