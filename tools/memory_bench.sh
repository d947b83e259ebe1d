#!/usr/bin/env bash
# Resident-memory benchmark (issue 2): evaluates a synthetic TinyLlama-1.1B-shaped model (fixed
# seed) in f32 and as a w4g128 checkpoint on the same text, and reports each run's peak RSS
# and their ratio. Needs about 10 GB of disk and 6 GB of RAM.
# Usage: bash tools/memory_bench.sh [build-dir] [work-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
work=${2:-/tmp/lowbit_memory_bench}
lowbit=$build/src/lowbit
text=${LOWBIT_DATA_DIR:-../shared/data}/eval/tinystories_valid_part1.txt
mkdir -p "$work"
[ -d "$work/f32" ] || "$lowbit" synth --preset tinyllama-1.1b --seed 1 --out "$work/f32"
[ -d "$work/w4g128" ] || "$lowbit" quantize --model "$work/f32" --scheme w4g128 --out "$work/w4g128"
peak() {  # peak RSS in KiB of the command
  /usr/bin/time -f '%M' -o "$work/rss" "$@" >/dev/null 2>"$work/log" || { cat "$work/log"; exit 1; }
  cat "$work/rss"
}
args="--text $text --ctx 128 --max-windows 1 --json"
f32=$(peak "$lowbit" eval --model "$work/f32" $args)
q=$(peak "$lowbit" eval --model "$work/w4g128" $args)
du_f32=$(du -sk "$work/f32" | cut -f1)
du_q=$(du -sk "$work/w4g128" | cut -f1)
python3 - "$f32" "$q" "$du_f32" "$du_q" <<'PY'
import json, sys
f32, q, df, dq = map(int, sys.argv[1:])
print(json.dumps({"f32_peak_rss_mib": f32 / 1024, "w4g128_peak_rss_mib": q / 1024,
                  "ratio": q / f32, "f32_dir_mib": df / 1024, "w4g128_dir_mib": dq / 1024}, indent=2))
PY
