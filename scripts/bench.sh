#!/usr/bin/env bash
# The benchmark (issue 5): the data path against this CPU's crypto ceiling and
# against wireguard-go on this machine, measured in one run.
#
#   scripts/bench.sh [--runs N] [--quick]      as root, after scripts/test.sh
#
# Steps: setup (idempotent) and gnuplot; the release build's wirespeed-bench
# (tests/bench/: ceiling, one lcore with many peers and one peer, scaling over
# every core, one peer through one RX queue); the wireguard-go baseline
# (scripts/lib/bench_wireguard_go.sh); then build/bench/results.json (the
# previous one is kept as results.prev.json and compared), the ratio table
# against the issue's targets, and build/bench/throughput.png.
# Every figure is the median of N runs (default 5) with min and max. The
# machine should be otherwise idle: the figures are only as quiet as it is.
# --quick: 2 runs and short streams, to check the script, not to quote.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=5
QUICK=0
while (($#)); do
  case $1 in
    --runs) RUNS=$2; shift 2 ;;
    --quick) QUICK=1; RUNS=2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: --runs must be a positive integer" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "bench: must be run as root (hugepages, namespaces)" >&2; exit 1; }

say() { echo "bench: $*" >&2; }

bash scripts/setup.sh >&2
if ! command -v gnuplot >/dev/null; then
  say "installing gnuplot-nox (for the plot)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gnuplot-nox >/dev/null; } \
    || { echo "bench: could not install gnuplot-nox" >&2; exit 1; }
fi

if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release -Dwerror=true >build.setup.log 2>&1 || { cat build.setup.log >&2; exit 1; }
fi
ninja -C build tests/wirespeed-bench >build.bench.log 2>&1 || { tail -40 build.bench.log >&2; exit 1; }

OUT=build/bench
mkdir -p "$OUT"
[[ -f $OUT/results.json ]] && mv "$OUT/results.json" "$OUT/results.prev.json"

bench_args=(--runs "$RUNS" --json "$OUT/wirespeed.json")
wg_args=(--runs "$RUNS" --seconds 3)
if ((QUICK)); then
  bench_args+=(--frames 2048 --passes 2 --ms 10)
  wg_args=(--runs 2 --seconds 1)
fi
say "wirespeed-bench ${bench_args[*]}"
bench_rc=0
./build/tests/wirespeed-bench "${bench_args[@]}" | tee "$OUT/table.txt" || bench_rc=$?
[[ -f $OUT/wirespeed.json ]] || { echo "bench: wirespeed-bench wrote no results (exit $bench_rc)" >&2; exit 1; }
say "wireguard-go baseline ${wg_args[*]}"
bash scripts/lib/bench_wireguard_go.sh "${wg_args[@]}" >"$OUT/wireguard_go.json"

python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
ws = json.load(open(f"{out}/wirespeed.json"))
wg = json.load(open(f"{out}/wireguard_go.json"))
res = dict(ws)
res["wireguard_go_pps_per_core_1420"] = round(wg["pps_per_core"]["median"])
res["wireguard_go"] = {k: wg[k] for k in ("pps", "busy_cores", "pps_per_core", "mbit_s", "wireguard_go_version", "rate_bits_per_s", "runs", "seconds")}
sizes = [k for k in ws["ceiling_seal_ns"]]
res["ratios"] = {
    "encap_over_ceiling": {s: round(ws["encap_ns"][s] / ws["ceiling_seal_ns"][s], 3) for s in sizes},
    "decap_over_ceiling": {s: round(ws["decap_ns"][s] / ws["ceiling_open_ns"][s], 3) for s in sizes},
    "wirespeed_over_wireguard_go_per_core_1420": round(ws["wirespeed_pps_per_core_1420"] / wg["pps_per_core"]["median"], 2),
}
def scale(kind):
    s = ws["scaling"][kind]
    n = max(s, key=int)
    return (n, round(s[n] / s["1"], 3)) if n != "1" else (n, None)
res["ratios"]["scaling_many_peers"] = scale("many_peers")[1]
res["ratios"]["scaling_one_peer"] = scale("one_peer")[1]
json.dump(res, open(f"{out}/results.json", "w"), indent=2)

r = res["ratios"]
n_many, s_many = scale("many_peers")
n_one, s_one = scale("one_peer")
def verdict(ok): return "met" if ok else "NOT met"
print()
print("targets (issue 5)                                   measured      target   verdict")
rows = [
    ("encap 1420 B / ceiling seal, one lcore", r["encap_over_ceiling"]["1420"], "<= 1.15", r["encap_over_ceiling"]["1420"] <= 1.15),
    ("decap 1420 B / ceiling open, one lcore", r["decap_over_ceiling"]["1420"], "<= 1.15", r["decap_over_ceiling"]["1420"] <= 1.15),
    ("encap 64 B / ceiling seal, one lcore", r["encap_over_ceiling"]["64"], "<= 1.6", r["encap_over_ceiling"]["64"] <= 1.6),
    ("decap 64 B / ceiling open, one lcore", r["decap_over_ceiling"]["64"], "<= 1.6", r["decap_over_ceiling"]["64"] <= 1.6),
]
if s_many is not None:
    rows.append((f"many peers, {n_many} lcores / 1 lcore", s_many, ">= 1.8", s_many >= 1.8))
if s_one is not None:
    rows.append((f"one peer (one RX queue), {n_one} lcores / 1", s_one, ">= 1.7", s_one >= 1.7))
    dma = ws.get("scaling_one_peer_dma_like", {})
    if n_one in dma and dma.get("1"):
        d = round(dma[n_one] / dma["1"], 3)
        r["scaling_one_peer_dma_like"] = d
        rows.append((f"  same, frames written DMA-like (see docs)", d, ">= 1.7", d >= 1.7))
rows.append(("wirespeed / wireguard-go pps per core, 1420 B", r["wirespeed_over_wireguard_go_per_core_1420"], ">= 20", r["wirespeed_over_wireguard_go_per_core_1420"] >= 20))
rows.append(("no packet lost inside the data path", "yes" if ws.get("lossless") else "no", "yes", bool(ws.get("lossless"))))
json.dump(res, open(f"{out}/results.json", "w"), indent=2)
for name, value, target, ok in rows:
    print(f"  {name:<50} {str(value):<13} {target:<8} {verdict(ok)}")
print(f"\n  wireguard-go: {wg['pps']['median']:,.0f} pps at {wg['busy_cores']['median']:.2f} busy cores = "
      f"{wg['pps_per_core']['median']:,.0f} pps/core; wirespeed: {ws['wirespeed_pps_per_core_1420']:,.0f} pps/core "
      f"(1e9 / (encap + decap ns) at 1420 B: each packet sealed once and opened once, as across wireguard-go's two ends)")

prev = f"{out}/results.prev.json"
if os.path.exists(prev):
    p = json.load(open(prev))
    print("\n  against the previous run (results.prev.json), 1420 B:")
    for key in ("ceiling_seal_ns", "encap_ns", "decap_ns", "encap_one_peer_ns", "decap_one_peer_ns"):
        a, b = p.get(key, {}).get("1420"), ws[key]["1420"]
        if a:
            print(f"    {key:<20} {a:8.1f} -> {b:8.1f} ns  ({(b - a) / a * 100:+.1f} %)")

# gnuplot data: Gbit/s of inner IP bytes on one lcore, by size.
with open(f"{out}/throughput.dat", "w") as f:
    f.write("# size ceiling_seal ceiling_open encap decap encap_one decap_one (Gbit/s, one lcore)\n")
    for s in sizes:
        if s == "imix":
            continue
        g = lambda ns: int(s) * 8 / ns
        f.write(f"{s} {g(ws['ceiling_seal_ns'][s]):.3f} {g(ws['ceiling_open_ns'][s]):.3f} {g(ws['encap_ns'][s]):.3f} "
                f"{g(ws['decap_ns'][s]):.3f} {g(ws['encap_one_peer_ns'][s]):.3f} {g(ws['decap_one_peer_ns'][s]):.3f}\n")
with open(f"{out}/scaling.dat", "w") as f:
    f.write("# lcores many_peers one_peer_one_queue (Mpps at 1420 B, mean of encap and decap)\n")
    for n in sorted(ws["scaling"]["many_peers"], key=int):
        f.write(f"{n} {ws['scaling']['many_peers'][n]:.4f} {ws['scaling']['one_peer'][n]:.4f}\n")
EOF

gnuplot <<EOF
set terminal pngcairo size 1200,480 font ",10"
set output "$OUT/throughput.png"
set multiplot layout 1,2 title "wirespeed on $(python3 -c 'import json; d=json.load(open("'"$OUT"'/results.json")); print(d["machine"]["cpu"] + ", " + str(d["machine"]["cores"]) + " cores, IPsec-MB " + d["machine"]["ipsec_mb_arch"])')"
set title "one lcore: inner Gbit/s by packet size"
set xlabel "inner IP packet (bytes)"
set ylabel "Gbit/s"
set logscale x 2
set key top left
set grid
plot "$OUT/throughput.dat" using 1:2 with linespoints title "ceiling: IPsec-MB seal", \
     "" using 1:3 with linespoints title "ceiling: IPsec-MB open", \
     "" using 1:4 with linespoints title "encap, 1000 peers", \
     "" using 1:5 with linespoints title "decap, 1000 peers", \
     "" using 1:6 with linespoints dt 2 title "encap, one peer", \
     "" using 1:7 with linespoints dt 2 title "decap, one peer"
unset logscale x
set title "scaling at 1420 B (mean of encap and decap)"
set xlabel "lcores"
set ylabel "Mpps"
set xtics 1
set yrange [0:*]
plot "$OUT/scaling.dat" using 1:2 with linespoints title "many peers (own RX queue each)", \
     "" using 1:3 with linespoints title "one peer, one RX queue (shared)"
unset multiplot
EOF
say "wrote $OUT/results.json, $OUT/table.txt and $OUT/throughput.png"
exit "$bench_rc"
