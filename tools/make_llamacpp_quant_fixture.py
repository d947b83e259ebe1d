#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/gguf/llamacpp_quants.gguf: llama.cpp's own quantizer output for the ggml
types the `gguf` package cannot quantize (Q4_K, Q5_K, Q6_K, IQ4_NL), for lowbit's ggml schemes to
match byte for byte (tests/unit/quant/ggml_rtn_test.cpp).

  source   F32 [8, 512]: seeded random rows of varied magnitude plus corner cases (an all-zero
           super-block, a constant one, one all-negative, an outlier, tiny values).
  <TYPE>   the same rows as `llama-quantize --pure <f32 model> <out> TYPE` wrote them (no
           importance matrix: ggml's reference rules), raw ggml blocks.

llama-quantize needs a whole model, so the rows are the first 8 of blk.0.ffn_down.weight in a
one-layer llama GGUF (dims 256 / 512, the rest random), written here with gguf-py; quantization
works row by row, so the rows' blocks do not depend on the other rows.
Usage: python3 tools/make_llamacpp_quant_fixture.py LLAMA_BIN_DIR [OUT_DIR]
  (LLAMA_BIN_DIR from ../shared/tools/llamacpp-peer.sh; needs numpy and gguf)
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import gguf
from gguf import GGUFWriter, GGMLQuantizationType as T

ROOT = Path(__file__).resolve().parent.parent
TYPES = [T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL]
DIM, FF, VOCAB, ROWS = 256, 512, 8, 8


def source_rows(rng) -> np.ndarray:
    x = rng.standard_normal((ROWS, FF)).astype(np.float32)
    x *= (10.0 ** rng.uniform(-3, 1, (ROWS, 1))).astype(np.float32)
    x[0, :256] = 0.0                                            # all-zero super-block
    x[0, 256:] = 0.375                                          # constant super-block
    x[1, :256] = -np.abs(x[1, :256]) - 0.25                     # all negative: min < 0, max < 0
    x[1, 300] = 40.0                                            # one outlier in a super-block
    x[2, :256] = (rng.standard_normal(256) * 1e-5).astype(np.float32)  # tiny values
    x[3, 256:] = np.round(x[3, 256:] * 8) / 8                   # exact grid points and ties
    return x


def model(path: Path, rows: np.ndarray, rng) -> None:
    w = GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(DIM)
    w.add_block_count(1)
    w.add_feed_forward_length(FF)
    w.add_head_count(4)
    w.add_head_count_kv(4)
    w.add_rope_dimension_count(DIM // 4)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_file_type(0)
    w.add_tokenizer_model("llama")
    w.add_token_list([f"t{i}".encode() for i in range(VOCAB)])
    w.add_token_scores([0.0] * VOCAB)
    w.add_token_types([1] * VOCAB)

    def rnd(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    w.add_tensor("token_embd.weight", rnd(VOCAB, DIM))
    w.add_tensor("output_norm.weight", np.ones(DIM, np.float32))
    w.add_tensor("output.weight", rnd(VOCAB, DIM))
    w.add_tensor("blk.0.attn_norm.weight", np.ones(DIM, np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        w.add_tensor(f"blk.0.{name}.weight", rnd(DIM, DIM))
    w.add_tensor("blk.0.ffn_norm.weight", np.ones(DIM, np.float32))
    w.add_tensor("blk.0.ffn_gate.weight", rnd(FF, DIM))
    w.add_tensor("blk.0.ffn_up.weight", rnd(FF, DIM))
    down = rnd(DIM, FF)
    down[:ROWS] = rows
    w.add_tensor("blk.0.ffn_down.weight", down)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    bin_dir = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "tests" / "fixtures" / "gguf"
    rng = np.random.default_rng(20261201)
    rows = source_rows(rng)
    fixture = out / "llamacpp_quants.gguf"
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "f32.gguf"
        model(src, rows, rng)
        w = GGUFWriter(str(fixture), "llama")
        w.add_string("lowbit.fixture", "llama-quantize --pure of 'source' for each ggml type")
        w.add_tensor("source", rows)
        for qtype in TYPES:
            dst = Path(tmp) / f"{qtype.name}.gguf"
            subprocess.run([str(bin_dir / "llama-quantize"), "--pure", str(src), str(dst),
                            qtype.name], check=True, capture_output=True)
            t = next(t for t in gguf.GGUFReader(str(dst)).tensors
                     if t.name == "blk.0.ffn_down.weight")
            assert t.tensor_type == qtype, (qtype, t.tensor_type)
            blocks = np.asarray(t.data).reshape(DIM, -1)[:ROWS].copy()
            w.add_tensor(qtype.name, blocks, raw_dtype=qtype)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    print(f"{fixture}: {fixture.stat().st_size} bytes")


if __name__ == "__main__":
    main()
