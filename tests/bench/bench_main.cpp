// wirespeed-bench: measures, in one run, the crypto ceiling of this CPU and
// the data path against it (issue 5; scripts/bench.sh is the front door).
//
//   wirespeed-bench [--runs N] [--peers N] [--frames N] [--passes N]
//                   [--ms N] [--json FILE]
//   wirespeed-bench --only encap-many|decap-many|encap-one|decap-one
//                   [--size N] [--peers N] ...   one figure, one lcore
//
// --peers (1..kMaxPeers, default 1000): peers configured, and the "many"
// streams spread their packets over all of them (scripts/scale.sh compares
// --peers 1 with --peers 10000).
//
// Every figure is the median of --runs runs (default 5) with min and max.
// It starts its own EAL (hugepages, --in-memory, all online cores as lcores,
// two net_null ports) and touches no NIC. Exit 0 after printing the table
// (and the JSON); exit 1 when something could not be set up, or when a run
// lost packets inside the data path (the figures are printed regardless).
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/shm/abi.hpp"
#include "tests/bench/bench.hpp"
#include "tests/bench/datapath.hpp"

namespace {

using namespace wirespeed::bench;

struct Options {
  unsigned runs = 5;
  unsigned peers = 1000;
  unsigned frames = 8192;  // per lcore and stream
  unsigned passes = 4;     // over each stream per run
  unsigned ms = 40;        // ceiling: least time per run
  std::string json;
  // --only SCENARIO --size N: one data-path figure on one lcore, for a
  // profiler (perf record), e.g. --only encap-many --size 1420 --passes 200.
  std::string only;
  unsigned only_size = 1420;
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: wirespeed-bench [--runs N] [--peers N] [--frames N] [--passes N] [--ms N] [--json FILE]\n"
               "       wirespeed-bench --only encap-many|decap-many|encap-one|decap-one [--size N] [--peers N] ...\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto number = [&](unsigned lo, unsigned hi) {
      if (i + 1 >= argc) usage();
      char* end = nullptr;
      const unsigned long v = std::strtoul(argv[++i], &end, 10);
      if (*end != '\0' || v < lo || v > hi) usage();
      return static_cast<unsigned>(v);
    };
    if (a == "--runs") o.runs = number(1, 100);
    else if (a == "--peers") o.peers = number(1, wirespeed::dataplane::shm::kMaxPeers);
    else if (a == "--frames") o.frames = number(64, 1 << 20);
    else if (a == "--passes") o.passes = number(1, 1000);
    else if (a == "--ms") o.ms = number(1, 10000);
    else if (a == "--json" && i + 1 < argc) o.json = argv[++i];
    else if (a == "--only" && i + 1 < argc) o.only = argv[++i];
    else if (a == "--size") o.only_size = number(0, 1420);
    else usage();
  }
  return o;
}

// One figure: Stat of ns/packet or Mpps, plus whether every packet passed.
struct Figure {
  Stat stat;
  bool lossless = true;
  std::string drops = "none";
};

std::string fmt(const Stat& s, const char* unit_fmt = "%.1f") {
  char a[32], b[32], c[32], out[128];
  std::snprintf(a, sizeof(a), unit_fmt, s.median);
  std::snprintf(b, sizeof(b), unit_fmt, s.min);
  std::snprintf(c, sizeof(c), unit_fmt, s.max);
  std::snprintf(out, sizeof(out), "%s [%s-%s]", a, b, c);
  return out;
}

std::string json_stat(const Stat& s) {
  char out[128];
  std::snprintf(out, sizeof(out), "{\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}", s.median, s.min, s.max);
  return out;
}

std::string json_medians(const std::map<std::string, Figure>& by_size) {
  std::string out = "{";
  for (unsigned size : kSizes) {
    const auto it = by_size.find(size_name(size));
    if (it == by_size.end()) continue;
    char item[64];
    std::snprintf(item, sizeof(item), "%s\"%s\": %.3f", out.size() > 1 ? ", " : "", size_name(size).c_str(),
                  it->second.stat.median);
    out += item;
  }
  return out + "}";
}

std::string json_detail(const std::map<std::string, Figure>& by_size) {
  std::string out = "{";
  for (unsigned size : kSizes) {
    const auto it = by_size.find(size_name(size));
    if (it == by_size.end()) continue;
    if (out.size() > 1) out += ", ";
    out += '"';
    out += size_name(size);
    out += "\": ";
    out += json_stat(it->second.stat);
  }
  return out + "}";
}

std::string cpu_model() {
  FILE* f = std::fopen("/proc/cpuinfo", "r");
  if (f == nullptr) return "unknown";
  char line[512];
  std::string model = "unknown";
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, "model name", 10) == 0) {
      const char* colon = std::strchr(line, ':');
      if (colon != nullptr) {
        model = colon + 2;
        while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) model.pop_back();
      }
      break;
    }
  }
  std::fclose(f);
  return model;
}

}  // namespace

int main(int argc, char** argv) {
  const Options opt = parse(argc, argv);
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  char lcore_list[32];
  std::snprintf(lcore_list, sizeof(lcore_list), "0-%ld", cores - 1);
  std::vector<std::string> eal = {"wirespeed-bench", "-l", lcore_list,
                                  "--in-memory", "--no-pci", "--no-telemetry", "--log-level=error",
                                  "--vdev=net_null0", "--vdev=net_null1"};
  std::vector<char*> eal_argv;
  for (std::string& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0) {
    std::fprintf(stderr, "wirespeed-bench: EAL init failed: %s (hugepages reserved? run scripts/setup.sh)\n",
                 rte_strerror(rte_errno));
    return 1;
  }
  if (sodium_init() < 0) return 1;
  std::vector<unsigned> lcores = {rte_get_main_lcore()};
  unsigned id;
  RTE_LCORE_FOREACH_WORKER(id) lcores.push_back(id);
  const unsigned max_lcores = static_cast<unsigned>(lcores.size());

  std::printf("wirespeed-bench: %s, %u core(s), IPsec-MB %s, %u run(s) per figure (median [min-max])\n",
              cpu_model().c_str(), max_lcores, ceiling_arch(), opt.runs);

  int rc = 0;
  {  // everything that holds DPDK resources ends before rte_eal_cleanup
  if (!opt.only.empty()) {
    const bool enc = opt.only.rfind("encap", 0) == 0;
    const bool one = opt.only.find("one") != std::string::npos;
    BenchGateway gw(opt.peers, max_lcores);
    const Direction dir = enc ? Direction::kEncap : Direction::kDecap;
    // Spread over every peer: --frames below --peers would leave some idle.
    const unsigned frames = one ? opt.frames : std::max(opt.frames, opt.peers);
    const Streams streams = make_streams(gw, dir, opt.only_size, one, 1, frames);
    const RunResult res = run(gw, dir, streams, {lcores[0]}, opt.passes);
    std::printf("%s %s, %u peer(s): %.1f ns/packet (median burst %.1f), %lu of %lu done, drops %s\n",
                opt.only.c_str(), size_name(opt.only_size).c_str(), opt.peers, res.ns_per_packet, res.median_burst_ns_per_packet, res.done,
                res.offered, res.drops.c_str());
    rc = res.done == res.offered ? 0 : 1;
  } else {
  // 1. The ceiling, and our AEAD layer over the same buffers. A warm-up
  // first (the CPU's clock, the library's first-use paths); then rounds over
  // all sizes, so that a disturbance spreads over sizes instead of skewing one.
  ceiling_ns(1420, true, 200);
  std::map<std::string, std::vector<double>> v_seal, v_open, v_eseal, v_eopen;
  for (unsigned r = 0; r < opt.runs; ++r) {
    for (unsigned size : kSizes) {
      const std::string k = size_name(size);
      v_seal[k].push_back(ceiling_ns(size, true, opt.ms));
      v_open[k].push_back(ceiling_ns(size, false, opt.ms));
      v_eseal[k].push_back(engine_ns(size, true, opt.ms));
      v_eopen[k].push_back(engine_ns(size, false, opt.ms));
    }
  }
  std::map<std::string, Figure> seal, open, eseal, eopen;
  for (unsigned size : kSizes) {
    const std::string k = size_name(size);
    seal[k].stat = summarise(v_seal[k]);
    open[k].stat = summarise(v_open[k]);
    eseal[k].stat = summarise(v_eseal[k]);
    eopen[k].stat = summarise(v_eopen[k]);
  }

  // 2. One lcore, many peers and one peer.
  BenchGateway gw(opt.peers, max_lcores);
  bool lossless = true;
  // Every data-path figure is a Trial: its streams are made up front, each
  // is warmed up once, then all of a table's trials run in rounds (one run
  // of each per round), so that a disturbance of the machine spreads over
  // figures instead of skewing every run of one.
  struct Trial {
    std::string label;
    std::function<RunResult(unsigned passes)> once;
    bool mpps = false;
    std::vector<double> values;
    Figure figure;
  };
  auto run_rounds = [&](std::vector<Trial>& trials) {
    for (Trial& t : trials) t.once(1);  // warm-up: caches, mempool caches, branch predictors
    for (unsigned r = 0; r < opt.runs; ++r) {
      for (Trial& t : trials) {
        const RunResult res = t.once(opt.passes);
        t.values.push_back(t.mpps ? res.mpps : res.ns_per_packet);
        if (res.done != res.offered) {
          t.figure.lossless = false;
          t.figure.drops = std::to_string(res.offered - res.done) + " of " + std::to_string(res.offered) +
                           " lost: " + res.drops;
        }
      }
    }
    for (Trial& t : trials) {
      t.figure.stat = summarise(t.values);
      if (!t.figure.lossless) {
        lossless = false;
        std::fprintf(stderr, "wirespeed-bench: %s: %s\n", t.label.c_str(), t.figure.drops.c_str());
      }
    }
  };
  std::vector<std::unique_ptr<Streams>> keep;  // streams live until the end
  auto direct = [&](Direction dir, unsigned size, bool one_peer, unsigned nl, bool mpps) {
    keep.push_back(std::make_unique<Streams>(make_streams(gw, dir, size, one_peer, nl, opt.frames)));
    const Streams* streams = keep.back().get();
    const std::vector<unsigned> use(lcores.begin(), lcores.begin() + nl);
    Trial t;
    t.label = std::string(dir == Direction::kEncap ? "encap " : "decap ") + size_name(size) +
              (one_peer ? " one peer x" : " many peers x") + std::to_string(nl);
    t.once = [&gw, dir, streams, use](unsigned passes) { return run(gw, dir, *streams, use, passes); };
    t.mpps = mpps;
    return t;
  };
  // One peer through one RX queue (run_one_queue): wall-clock Mpps.
  auto one_queue = [&](Direction dir, unsigned size, unsigned nl, bool dma_like) {
    keep.push_back(std::make_unique<Streams>(make_streams(gw, dir, size, true, 1, opt.frames)));
    const Streams* streams = keep.back().get();
    const std::vector<unsigned> use(lcores.begin(), lcores.begin() + nl);
    Trial t;
    t.label = std::string(dir == Direction::kEncap ? "encap " : "decap ") + size_name(size) +
              " one peer, one RX queue x" + std::to_string(nl) + (dma_like ? " (DMA-like)" : "");
    t.once = [&gw, dir, streams, use, dma_like](unsigned passes) {
      return run_one_queue(gw, dir, streams->per_lcore[0], use, passes, dma_like);
    };
    t.mpps = true;
    return t;
  };

  std::vector<Trial> one_lcore;
  for (unsigned size : kSizes) {
    one_lcore.push_back(direct(Direction::kEncap, size, false, 1, false));
    one_lcore.push_back(direct(Direction::kDecap, size, false, 1, false));
    one_lcore.push_back(direct(Direction::kEncap, size, true, 1, false));
    one_lcore.push_back(direct(Direction::kDecap, size, true, 1, false));
  }
  run_rounds(one_lcore);
  std::map<std::string, Figure> encap, decap, encap1, decap1;
  for (size_t i = 0; i < std::size(kSizes); ++i) {
    const std::string k = size_name(kSizes[i]);
    encap[k] = one_lcore[4 * i].figure;
    decap[k] = one_lcore[4 * i + 1].figure;
    encap1[k] = one_lcore[4 * i + 2].figure;
    decap1[k] = one_lcore[4 * i + 3].figure;
  }
  keep.clear();

  std::printf("\nAEAD alone, ns per packet: the ceiling (raw IPsec-MB) and wirespeed's dataplane/crypto layer\n"
              "%-6s | %-22s %-22s | %-22s %-22s\n", "size", "ceiling seal", "ceiling open", "engine seal", "engine open");
  for (unsigned size : kSizes) {
    const std::string k = size_name(size);
    std::printf("%-6s | %-22s %-22s | %-22s %-22s\n", k.c_str(), fmt(seal[k].stat).c_str(),
                fmt(open[k].stat).c_str(), fmt(eseal[k].stat).c_str(), fmt(eopen[k].stat).c_str());
  }
  std::printf("\none lcore, ns per packet; enc/c and dec/c = data path / ceiling\n%-6s | %-22s %-22s | %-22s %-22s %-22s %-22s | %-6s %-6s\n", "size", "ceiling seal ns",
              "ceiling open ns", "encap ns (many)", "decap ns (many)", "encap ns (one)", "decap ns (one)",
              "enc/c", "dec/c");
  for (unsigned size : kSizes) {
    const std::string k = size_name(size);
    std::printf("%-6s | %-22s %-22s | %-22s %-22s %-22s %-22s | %-6.2f %-6.2f\n", k.c_str(),
                fmt(seal[k].stat).c_str(), fmt(open[k].stat).c_str(), fmt(encap[k].stat).c_str(),
                fmt(decap[k].stat).c_str(), fmt(encap1[k].stat).c_str(), fmt(decap1[k].stat).c_str(),
                encap[k].stat.median / seal[k].stat.median, decap[k].stat.median / open[k].stat.median);
  }

  // 3. Scaling at 1420 B, Mpps by lcore count.
  std::map<unsigned, Figure> sc_enc_many, sc_dec_many, sc_enc_one, sc_dec_one, sc_enc_q, sc_dec_q,
      sc_enc_qw, sc_dec_qw;
  std::vector<Trial> scaling_trials;
  for (unsigned nl = 1; nl <= max_lcores; ++nl) {
    scaling_trials.push_back(direct(Direction::kEncap, 1420, false, nl, true));
    scaling_trials.push_back(direct(Direction::kDecap, 1420, false, nl, true));
    scaling_trials.push_back(direct(Direction::kEncap, 1420, true, nl, true));
    scaling_trials.push_back(direct(Direction::kDecap, 1420, true, nl, true));
    scaling_trials.push_back(one_queue(Direction::kEncap, 1420, nl, true));
    scaling_trials.push_back(one_queue(Direction::kDecap, 1420, nl, true));
    scaling_trials.push_back(one_queue(Direction::kEncap, 1420, nl, false));
    scaling_trials.push_back(one_queue(Direction::kDecap, 1420, nl, false));
  }
  run_rounds(scaling_trials);
  for (unsigned nl = 1; nl <= max_lcores; ++nl) {
    const size_t b = 8 * (nl - 1);
    sc_enc_many[nl] = scaling_trials[b].figure;
    sc_dec_many[nl] = scaling_trials[b + 1].figure;
    sc_enc_one[nl] = scaling_trials[b + 2].figure;
    sc_dec_one[nl] = scaling_trials[b + 3].figure;
    sc_enc_q[nl] = scaling_trials[b + 4].figure;
    sc_dec_q[nl] = scaling_trials[b + 5].figure;
    sc_enc_qw[nl] = scaling_trials[b + 6].figure;
    sc_dec_qw[nl] = scaling_trials[b + 7].figure;
  }
  keep.clear();
  std::printf("\nscaling at 1420 B, Mpps. Each lcore fed directly (sum over lcores of packets / timed seconds):\n"
              "%-7s | %-22s %-22s | %-22s %-22s\n", "lcores", "encap many peers", "decap many peers",
              "encap one peer", "decap one peer");
  for (unsigned nl = 1; nl <= max_lcores; ++nl) {
    std::printf("%-7u | %-22s %-22s | %-22s %-22s\n", nl, fmt(sc_enc_many[nl].stat, "%.3f").c_str(),
                fmt(sc_dec_many[nl].stat, "%.3f").c_str(), fmt(sc_enc_one[nl].stat, "%.3f").c_str(),
                fmt(sc_dec_one[nl].stat, "%.3f").c_str());
  }
  std::printf("\none peer through ONE RX queue, shared by dispatch (wall clock, RX generator on lcore 0 included);\n"
              "frames written DMA-like (streaming stores, past the caches) and, for comparison, by memcpy (hot in lcore 0's cache):\n"
              "%-7s | %-22s %-22s | %-22s %-22s\n", "lcores", "encap, DMA-like", "decap, DMA-like", "encap, memcpy", "decap, memcpy");
  for (unsigned nl = 1; nl <= max_lcores; ++nl) {
    std::printf("%-7u | %-22s %-22s | %-22s %-22s\n", nl, fmt(sc_enc_q[nl].stat, "%.3f").c_str(),
                fmt(sc_dec_q[nl].stat, "%.3f").c_str(), fmt(sc_enc_qw[nl].stat, "%.3f").c_str(),
                fmt(sc_dec_qw[nl].stat, "%.3f").c_str());
  }
  std::printf("\ndata path lossless in every run: %s\n", lossless ? "yes" : "NO (see above)");

  if (!opt.json.empty()) {
    FILE* f = std::fopen(opt.json.c_str(), "w");
    if (f == nullptr) {
      std::perror(opt.json.c_str());
      rte_eal_cleanup();
      return 1;
    }
    auto scaling = [&](std::map<unsigned, Figure>& enc, std::map<unsigned, Figure>& dec, bool mean) {
      std::string out = "{";
      for (unsigned nl = 1; nl <= max_lcores; ++nl) {
        char item[160];
        if (mean) {
          std::snprintf(item, sizeof(item), "%s\"%u\": %.4f", nl > 1 ? ", " : "", nl,
                        (enc[nl].stat.median + dec[nl].stat.median) / 2);
        } else {
          std::snprintf(item, sizeof(item), "%s\"%u\": %s", nl > 1 ? ", " : "", nl, json_stat(enc[nl].stat).c_str());
        }
        out += item;
      }
      return out + "}";
    };
    // wirespeed per core at 1420 B: one packet sealed and one opened per
    // "packet", as wireguard-go's figure counts both ends.
    const double per_core = 1e9 / (encap["1420"].stat.median + decap["1420"].stat.median);
    std::fprintf(f, "{\n");
    std::fprintf(f, "  \"machine\": {\"cpu\": \"%s\", \"cores\": %u, \"ipsec_mb_arch\": \"%s\"},\n",
                 cpu_model().c_str(), max_lcores, ceiling_arch());
    std::fprintf(f, "  \"runs\": %u,\n", opt.runs);
    std::fprintf(f, "  \"ceiling_seal_ns\": %s,\n", json_medians(seal).c_str());
    std::fprintf(f, "  \"ceiling_open_ns\": %s,\n", json_medians(open).c_str());
    std::fprintf(f, "  \"engine_seal_ns\": %s,\n", json_medians(eseal).c_str());
    std::fprintf(f, "  \"engine_open_ns\": %s,\n", json_medians(eopen).c_str());
    std::fprintf(f, "  \"encap_ns\": %s,\n", json_medians(encap).c_str());
    std::fprintf(f, "  \"decap_ns\": %s,\n", json_medians(decap).c_str());
    std::fprintf(f, "  \"encap_one_peer_ns\": %s,\n", json_medians(encap1).c_str());
    std::fprintf(f, "  \"decap_one_peer_ns\": %s,\n", json_medians(decap1).c_str());
    // many_peers: every lcore has its own RX queue (RSS); one_peer: one RX
    // queue, shared by dispatch — the tunnel as the gateway receives it.
    // Each: mean of encap and decap Mpps.
    // one_peer is the conservative model (frames memcpy'd, hot in the
    // receiving lcore's cache); the DMA-like one is in detail.
    std::fprintf(f, "  \"scaling\": {\"many_peers\": %s, \"one_peer\": %s},\n",
                 scaling(sc_enc_many, sc_dec_many, true).c_str(), scaling(sc_enc_qw, sc_dec_qw, true).c_str());
    std::fprintf(f, "  \"scaling_one_peer_dma_like\": %s,\n", scaling(sc_enc_q, sc_dec_q, true).c_str());
    std::fprintf(f, "  \"detail\": {\n");
    std::fprintf(f, "    \"ceiling_seal_ns\": %s,\n    \"ceiling_open_ns\": %s,\n", json_detail(seal).c_str(),
                 json_detail(open).c_str());
    std::fprintf(f, "    \"encap_ns\": %s,\n    \"decap_ns\": %s,\n", json_detail(encap).c_str(),
                 json_detail(decap).c_str());
    std::fprintf(f, "    \"encap_one_peer_ns\": %s,\n    \"decap_one_peer_ns\": %s,\n",
                 json_detail(encap1).c_str(), json_detail(decap1).c_str());
    std::fprintf(f, "    \"scaling_encap_mpps\": {\"many_peers\": %s, \"one_peer\": %s},\n",
                 scaling(sc_enc_many, sc_enc_many, false).c_str(), scaling(sc_enc_one, sc_enc_one, false).c_str());
    std::fprintf(f, "    \"scaling_decap_mpps\": {\"many_peers\": %s, \"one_peer\": %s},\n",
                 scaling(sc_dec_many, sc_dec_many, false).c_str(), scaling(sc_dec_one, sc_dec_one, false).c_str());
    std::fprintf(f, "    \"one_queue_dma_like_mpps\": {\"encap\": %s, \"decap\": %s},\n",
                 scaling(sc_enc_q, sc_enc_q, false).c_str(), scaling(sc_dec_q, sc_dec_q, false).c_str());
    std::fprintf(f, "    \"one_queue_memcpy_mpps\": {\"encap\": %s, \"decap\": %s}\n",
                 scaling(sc_enc_qw, sc_enc_qw, false).c_str(), scaling(sc_dec_qw, sc_dec_qw, false).c_str());
    std::fprintf(f, "  },\n");
    std::fprintf(f, "  \"lossless\": %s,\n", lossless ? "true" : "false");
    std::fprintf(f, "  \"wirespeed_pps_per_core_1420\": %.0f\n}\n", per_core);
    std::fclose(f);
  }
  rc = lossless ? 0 : 1;
  }
  }
  rte_eal_cleanup();
  return rc;
}
