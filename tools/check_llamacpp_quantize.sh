#!/usr/bin/env bash
# Checks lowbit's ggml schemes against llama.cpp's own quantizer, byte for byte: writes the model
# as an F32 GGUF with lowbit, quantizes it with `llama-quantize --pure TYPE` (no importance matrix:
# ggml's reference rules) and with `lowbit quantize --scheme type --format gguf`, and compares
# every linear layer's tensor bytes. Not part of CI (it builds llama.cpp from PyPI's
# llama-cpp-python source package via ../shared/tools/llamacpp-peer.sh, ~10 minutes once).
# Usage: bash tools/check_llamacpp_quantize.sh [MODEL] [TYPES...]
#   MODEL defaults to ../shared/data/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf (its down_proj
#   rows are 1536 = 6 x 256 wide, so the k-quants run there and fall back elsewhere, as in
#   llama.cpp); TYPES default to Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL Q4_K Q5_K Q6_K.
# Needs the PyPI `gguf` and `numpy` packages. Exit status 1 when any tensor differs.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-../shared/data/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf}
shift || true
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 IQ4_NL Q4_K Q5_K Q6_K)
lowbit=${LOWBIT:-./build/src/lowbit}
bin=$(bash ../shared/tools/llamacpp-peer.sh)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$lowbit" quantize -m "$model" --scheme f32 --format gguf --out "$work/f32.gguf" >/dev/null 2>&1
status=0
for type in "${types[@]}"; do
  scheme=$(echo "$type" | tr 'A-Z' 'a-z')
  "$bin/llama-quantize" --allow-requantize --pure "$work/f32.gguf" "$work/ref.gguf" "$type" \
    >/dev/null 2>&1
  "$lowbit" quantize -m "$work/f32.gguf" --scheme "$scheme" --format gguf --out "$work/lb.gguf" \
    --force >/dev/null 2>&1
  python3 - "$work/ref.gguf" "$work/lb.gguf" "$type" <<'PY' || status=1
import sys
import numpy as np
import gguf
ref = {t.name: t for t in gguf.GGUFReader(sys.argv[1]).tensors}
mine = {t.name: t for t in gguf.GGUFReader(sys.argv[2]).tensors}
linears = [n for n in mine if n.startswith("blk.") and n.endswith(".weight") and "norm" not in n]
same = blocks = bad_blocks = 0
types = set()
for n in linears:
    a, b = ref[n], mine[n]
    types.add(b.tensor_type.name)
    x, y = np.asarray(a.data).tobytes(), np.asarray(b.data).tobytes()
    if a.tensor_type != b.tensor_type or len(x) != len(y):
        print(f"  {n}: llama.cpp {a.tensor_type.name}, lowbit {b.tensor_type.name}")
        continue
    size = gguf.GGML_QUANT_SIZES[b.tensor_type][1]
    xa = np.frombuffer(x, np.uint8).reshape(-1, size)
    ya = np.frombuffer(y, np.uint8).reshape(-1, size)
    blocks += len(xa)
    bad_blocks += int((xa != ya).any(axis=1).sum())
    same += x == y
print(f"{sys.argv[3]}: {same}/{len(linears)} linear tensors byte-identical "
      f"({', '.join(sorted(types))}); {bad_blocks} of {blocks} blocks differ")
sys.exit(0 if same == len(linears) else 1)
PY
done
exit $status
