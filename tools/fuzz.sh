#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) in build-fuzz/,
# builds their seed corpora from the committed fixtures and the small shared models, and runs
# each target for SECONDS (default 600). Prints executions and corpus growth per target and
# exits 1 if any target crashed, hung or leaked (the reproducer is in build-fuzz/artifacts/).
#   usage: tools/fuzz.sh [SECONDS] [TARGET...]     (targets: the names in fuzz/CMakeLists.txt)
# The growing corpus is kept in build-fuzz/corpus/<target>, so later runs start from it.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
build=${LOWBIT_FUZZ_BUILD:-build-fuzz}
data=${LOWBIT_DATA_DIR:-$(cd .. && pwd)/shared/data}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors gguf llama2c checkpoint llama_config tokenizer_json)

# Longest input per target: room for the largest seed, small enough to stay fast.
declare -A max_len=([safetensors]=65536 [gguf]=131072 [llama2c]=65536 [checkpoint]=65536
                    [llama_config]=8192 [tokenizer_json]=65536)
declare -A dict=([safetensors]=json [gguf]=gguf [llama2c]="" [checkpoint]=json
                 [llama_config]=json [tokenizer_json]=json)

# -O1 with line tables only: readable sanitizer stacks, and about half the build time of
# RelWithDebInfo (the build is most of what CI spends here).
CXX=clang++ CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz \
  -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" -DCMAKE_C_FLAGS_FUZZ="-O1 -gline-tables-only" \
  -DLOWBIT_FUZZ=ON -DLOWBIT_TESTS=OFF -DLOWBIT_BENCH=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target lowbit_fuzz

# Seeds: rebuilt every run (cheap); a shared file that is absent is skipped.
seeds="$build/seeds"
rm -rf "$seeds"
"$build/fuzz/lowbit_fuzz_seeds" "$seeds"  # checkpoint/ and safetensors/ from lowbit's writers
mkdir -p "$seeds"/{gguf,llama2c,llama_config,tokenizer_json}
cp tests/fixtures/gguf/*.gguf "$seeds/gguf/"
for f in "$data"/stories260K/*.gguf; do  # the header, metadata and vocabulary of a real model
  [ -f "$f" ] && head -c 131072 "$f" >"$seeds/gguf/$(basename "$f").head"
done
cp tests/fixtures/configs/*.json "$seeds/llama_config/"
for f in tests/fixtures/tokenizer/*.json; do
  case "$f" in *_expected.json) ;; *) cp "$f" "$seeds/tokenizer_json/" ;; esac
done
# llama2c: byte 0 even = a model file (tiny complete ones, and the head of a real one); odd =
# a tokenizer.bin after a u16 vocabulary size.
python3 - "$seeds/llama2c" <<'PY'
import struct, sys, math
out = sys.argv[1]
def model(dim, hidden, layers, heads, kv, vocab, seq, rope):
    head = dim // heads
    kv_dim = kv * head
    n = abs(vocab) * dim + layers * (dim + dim * dim + 2 * kv_dim * dim + dim * dim + dim
                                     + 3 * hidden * dim) + dim
    if rope:
        n += seq * head
    if vocab < 0:
        n += -vocab * dim
    vals = [math.sin(0.1 * i) for i in range(n)]
    return struct.pack("<7i", dim, hidden, layers, heads, kv, vocab, seq) + struct.pack(f"<{n}f", *vals)
for name, args in {"tied": (8, 16, 1, 2, 2, 32, 4, True), "gqa": (16, 24, 2, 4, 2, 16, 8, True),
                   "untied": (8, 12, 1, 2, 1, -16, 4, True), "norope": (8, 16, 1, 2, 2, 8, 2, False)}.items():
    open(f"{out}/{name}.seed", "wb").write(b"\0" + model(*args))
PY
for f in "$data"/stories260K/stories260K.bin; do
  [ -f "$f" ] && { printf '\0'; head -c 32768 "$f"; } >"$seeds/llama2c/stories260K.head.seed"
done
for f in "$data"/stories260K/tok512.bin "$data"/aidreams260K/tok512.bin; do
  [ -f "$f" ] && { printf '\1\0\2'; cat "$f"; } >"$seeds/llama2c/$(basename "$(dirname "$f")")-tok512.seed"
done

mkdir -p "$build/artifacts"
failed=()
total=0
printf '%-16s %8s %12s %10s %s\n' target seconds executions exec/s "corpus (seeds -> final)" >"$build/fuzz-summary.txt"
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  mkdir -p "$corpus"
  log="$build/fuzz-$t.log"
  args=(-max_len="${max_len[$t]}" -timeout=10 -rss_limit_mb=2048 -max_total_time="$seconds"
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-")
  [ -n "${dict[$t]}" ] && args+=(-dict="fuzz/dict/${dict[$t]}.dict")
  echo "== $t: ${seconds} s"
  rc=0
  "$build/fuzz/${t}_fuzz" "${args[@]}" "$corpus" "$seeds/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  inited=$(sed -n 's/.*INITED.* corp: \([0-9]*\)\/.*/\1/p' "$log" | tail -1)
  final=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' "$log" | tail -1)
  nseeds=$(find "$seeds/$t" -type f | wc -l)
  total=$((total + ${execs:-0}))
  printf '%-16s %8s %12s %10s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" \
    "$nseeds seed files, $inited after load -> $final (in $corpus: $(find "$corpus" -type f | wc -l) files)" \
    | tee -a "$build/fuzz-summary.txt"
  if [ "$rc" -ne 0 ]; then
    echo "$t FAILED (exit $rc); last lines of $log:"
    grep -E "ERROR|SUMMARY|Test unit written|deadly|timeout|out-of-memory" "$log" | head -20 || tail -30 "$log"
    failed+=("$t")
  fi
done
echo "total executions: $total" | tee -a "$build/fuzz-summary.txt"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found failures in: ${failed[*]} (inputs in $build/artifacts/)"
  exit 1
fi
