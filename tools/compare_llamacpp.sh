#!/usr/bin/env bash
# lowbit against llama.cpp on the same TinyLlama-1.1B-shaped model, same machine, same run
# (issue 11): decode (tg) and prefill (pp) tokens/s at 1 and 2 threads for each pair
#   lowbit f16 / F16, w8 / Q8_0, q4_0 / Q4_0, w4g128 / Q4_K_M
# and the ratios, plus the machine's streaming read bandwidth and what each decode reads.
# llama.cpp's tools are built from the llama-cpp-python source package on PyPI by
# ../shared/tools/llamacpp-peer.sh (cached outside the repo); the model is the random-weight F16
# GGUF of ../shared/tools/make_tinyllama_gguf.py; lowbit quantizes it in memory (--scheme).
# Not part of CI (tens of minutes; needs ~6 GB of disk).
# The machine's memory bandwidth drifts with its neighbours' load, so each pair runs ROUNDS
# times, llama.cpp and lowbit alternating, and the table shows each side's median over rounds.
# Usage: bash tools/compare_llamacpp.sh [build-dir] [work-dir]
#   (env: P=128 N=64 R=3 T=1,2 ROUNDS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
work=${2:-$HOME/.cache/lowbit-compare}
P=${P:-128}
N=${N:-64}
R=${R:-3}
T=${T:-1,2}
ROUNDS=${ROUNDS:-3}
lowbit=$build/src/lowbit
shared=${LOWBIT_SHARED_DIR:-../shared}
mkdir -p "$work"
peer=$(bash "$shared/tools/llamacpp-peer.sh")
gguf_py=$(dirname "$peer")/../src/vendor/llama.cpp/gguf-py
f16=$work/tinyllama-f16.gguf
[ -f "$f16" ] || PYTHONPATH=$gguf_py python3 "$shared/tools/make_tinyllama_gguf.py" "$f16" >&2
for t in Q8_0 Q4_0 Q4_K_M; do
  [ -f "$work/tinyllama-$t.gguf" ] ||
    "$peer/llama-quantize" "$f16" "$work/tinyllama-$t.gguf" "$t" >"$work/quantize-$t.log" 2>&1
done
g++ -O3 -march=native -std=c++17 -pthread tools/read_bandwidth.cpp -o "$work/read_bandwidth"
bw1=$("$work/read_bandwidth" 1)
bw2=$("$work/read_bandwidth" 2)

run_pair() {  # lowbit scheme, llama.cpp type, round
  local scheme=$1 type=$2 round=$3 file=$work/tinyllama-$2.gguf
  [ "$type" = F16 ] && file=$f16
  "$peer/llama-bench" -m "$file" -p "$P" -n "$N" -t "$T" -r "$R" -o json \
    >"$work/llama-$type.$round.json" 2>"$work/llama-$type.log"
  # llama-quantize keeps the output head in Q8_0 / Q6_K for these types; lowbit's head is q8_0
  # (8.5 bits/w, so lowbit reads a little more per token than llama.cpp does).
  local args=()
  [ "$scheme" != f16 ] && args=(--scheme "$scheme" --head q8_0)
  "$lowbit" bench -m "$f16" "${args[@]}" -p "$P" -n "$N" -t "$T" -r "$R" -o json \
    >"$work/lowbit-$scheme.$round.json" 2>"$work/lowbit-$scheme.log"
}
pairs=("f16 F16" "w8 Q8_0" "q4_0 Q4_0" "w4g128 Q4_K_M")
for pair in "${pairs[@]}"; do
  for round in $(seq "$ROUNDS"); do
    echo "running $pair, round $round of $ROUNDS" >&2
    run_pair $pair "$round"
  done
done

python3 - "$work" "$bw1" "$bw2" "$ROUNDS" "${pairs[@]}" <<'PY'
import json, statistics, sys
work, bw1, bw2, rounds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
pairs = sys.argv[5:]
bw = {1: bw1, 2: bw2}
def rows(prefix):
    # Per (threads, test): the round with the median tokens/s (its other figures with it).
    by_key = {}
    for r in range(1, rounds + 1):
        for row in json.load(open(f"{prefix}.{r}.json")):
            key = (row["n_threads"], "pp" if row["n_prompt"] > 0 else "tg")
            by_key.setdefault(key, []).append(row)
    out = {}
    for key, runs in by_key.items():
        runs.sort(key=lambda row: row["avg_ts"])
        out[key] = runs[(len(runs) - 1) // 2]
    return out
print(f"streaming read bandwidth: {bw1:.1f} GB/s (1 thread), {bw2:.1f} GB/s (2 threads); "
      f"tokens/s are medians over {rounds} alternating rounds\n")
print("| lowbit / llama.cpp | threads | lowbit tg t/s | llama.cpp tg t/s | tg ratio "
      "| lowbit decode GB/s (% of read bw) | lowbit pp t/s | llama.cpp pp t/s | pp ratio |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for pair in pairs:
    scheme, t = pair.split()
    lb, lc = rows(f"{work}/lowbit-{scheme}"), rows(f"{work}/llama-{t}")
    for th in sorted({k[0] for k in lb}):
        ltg, ctg = lb.get((th, "tg")), lc.get((th, "tg"))
        lpp, cpp = lb.get((th, "pp")), lc.get((th, "pp"))
        gbs = ltg.get("gb_per_s", 0) if ltg else 0
        print(f"| {scheme} / {t} | {th} | {ltg['avg_ts']:.1f} | {ctg['avg_ts']:.1f} | "
              f"{ltg['avg_ts'] / ctg['avg_ts']:.2f} | {gbs:.1f} ({100 * gbs / bw[th]:.0f}%) | "
              f"{lpp['avg_ts']:.1f} | {cpp['avg_ts']:.1f} | {lpp['avg_ts'] / cpp['avg_ts']:.2f} |")
PY
