#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes the GGUF fixtures of tests/fixtures/gguf/ with the `gguf` PyPI package (gguf-py).

  blocks.gguf        for every ggml type lowbit reads, a tensor named after the type (e.g. "Q4_K")
                     and "<TYPE>.expected", F32: the values gguf.quants.dequantize gives for it.
  tiny_llama.gguf    a 1-layer llama whose tensors use a mix of those types, for the reader's
                     name mapping and `lowbit inspect`.

Types gguf-py can quantize (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, TQ1_0, TQ2_0, MXFP4, BF16) are
quantized from seeded random values; for the others (K-quants, IQ4_NL, IQ4_XS) gguf-py has only a
dequantizer, so their blocks are random bytes with every f16 scale field overwritten by a finite
f16 (the layout of each block is in docs/FORMATS.md). Either way the expected values come from
gguf-py's own dequantizer, never from lowbit.

Usage: python3 tools/make_gguf_fixtures.py [OUT_DIR]   (default tests/fixtures/gguf)
Deterministic: rerunning it rewrites identical files (gguf 0.19.0, numpy 2.x).
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

ROOT = Path(__file__).resolve().parent.parent

# Byte offsets of the f16 fields (d, dmin / m) inside one block of the hand-made types.
F16_FIELDS = {
    T.Q2_K: [80, 82],
    T.Q3_K: [108],
    T.Q4_K: [0, 2],
    T.Q5_K: [0, 2],
    T.Q6_K: [208],
    T.IQ4_NL: [0],
    T.IQ4_XS: [0],
}
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.TQ1_0, T.TQ2_0, T.MXFP4]


def random_f16(rng: np.random.Generator, n: int) -> np.ndarray:
    """Finite f16 scales of both signs across a few decades; the first is the corner case -0."""
    v = rng.standard_normal(n) * 10.0 ** rng.uniform(-4, 0, n)
    v = v.astype(np.float16)
    v[0] = -0.0
    return v


def hand_made_blocks(qtype: T, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Random block bytes (every bit pattern of codes and packed scales is valid) with finite
    f16 scale fields."""
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in F16_FIELDS[qtype]:
        blocks[:, off:off + 2] = random_f16(rng, n_blocks).view(np.uint8).reshape(n_blocks, 2)
    return blocks


def quantized_rows(qtype: T, rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """gguf-py's quantizer applied to rows of varied magnitude, with an all-zero first block and a
    constant second one (the quantizers' special cases)."""
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    x *= (10.0 ** rng.uniform(-3, 1, (rows, 1))).astype(np.float32)
    block = GGML_QUANT_SIZES[qtype][0]
    x[0, :block] = 0.0
    x[0, block:2 * block] = 0.75
    return quants.quantize(x, qtype)


def type_tensor(qtype: T, rng: np.random.Generator) -> np.ndarray:
    """Raw bytes [rows, bytes_per_row] of one tensor of `qtype`: 3 rows of 64 for the 32-element
    types, 2 rows of 512 for the 256-element super-block types."""
    block, type_size = GGML_QUANT_SIZES[qtype]
    rows, cols = (3, 64) if block == 32 else (2, 512)
    if qtype in QUANTIZABLE:
        return quantized_rows(qtype, rows, cols, rng)
    blocks = hand_made_blocks(qtype, rows * cols // block, rng)
    return blocks.reshape(rows, cols // block * type_size)


def write_blocks(path: Path) -> None:
    rng = np.random.default_rng(20240601)
    w = GGUFWriter(str(path), "llama")
    w.add_string("lowbit.fixture", "one tensor per ggml type + its gguf-py dequantization")
    for qtype in QUANTIZABLE[:5] + list(F16_FIELDS) + QUANTIZABLE[5:]:
        raw = type_tensor(qtype, rng)
        expected = quants.dequantize(raw, qtype).astype(np.float32)
        w.add_tensor(qtype.name, raw, raw_dtype=qtype)
        w.add_tensor(qtype.name + ".expected", expected)
    # The dense types, quantized by gguf-py too (BF16 rounds to nearest even).
    x = rng.standard_normal((2, 48)).astype(np.float32)
    for qtype, raw in [(T.F32, x), (T.F16, x.astype(np.float16)), (T.BF16, quants.quantize(x, T.BF16))]:
        w.add_tensor(qtype.name, raw, raw_dtype=qtype)
        w.add_tensor(qtype.name + ".expected", quants.dequantize(raw, qtype).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# tiny_llama.gguf: hidden 256 (a multiple of the 256-element super-block), 4 heads of 64,
# 1 KV head, FFN 32 (so ffn_down rows are 32 wide: 32-element types only), vocab 16.
TINY_LLAMA = [
    # (GGUF name, PyTorch shape [out, in], ggml type)
    ("token_embd.weight", (16, 256), T.Q6_K),
    ("blk.0.attn_norm.weight", (256,), T.F32),
    ("blk.0.attn_q.weight", (256, 256), T.Q2_K),
    ("blk.0.attn_k.weight", (64, 256), T.Q4_K),
    ("blk.0.attn_v.weight", (64, 256), T.Q5_0),
    ("blk.0.attn_output.weight", (256, 256), T.Q3_K),
    ("blk.0.ffn_norm.weight", (256,), T.F32),
    ("blk.0.ffn_gate.weight", (32, 256), T.Q5_K),
    ("blk.0.ffn_up.weight", (32, 256), T.IQ4_XS),
    ("blk.0.ffn_down.weight", (256, 32), T.Q4_1),
    ("output_norm.weight", (256,), T.F32),
    ("output.weight", (16, 256), T.Q8_0),
]


def write_tiny_llama(path: Path) -> None:
    rng = np.random.default_rng(7)
    w = GGUFWriter(str(path), "llama")
    w.add_context_length(64)
    w.add_embedding_length(256)
    w.add_block_count(1)
    w.add_feed_forward_length(32)
    w.add_head_count(4)
    w.add_head_count_kv(1)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_vocab_size(16)
    for name, shape, qtype in TINY_LLAMA:
        if qtype == T.F32:
            w.add_tensor(name, (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32))
            continue
        rows, cols = shape
        block, type_size = GGML_QUANT_SIZES[qtype]
        if qtype in QUANTIZABLE:
            x = (0.05 * rng.standard_normal(shape)).astype(np.float32)
            raw = quants.quantize(x, qtype)
        else:
            raw = hand_made_blocks(qtype, rows * cols // block, rng).reshape(rows, -1)
            # Small scales keep the model's activations tame.
            for off in F16_FIELDS[qtype]:
                d = np.abs(random_f16(rng, raw.shape[0] * cols // block)) * np.float16(0.01)
                view = raw.reshape(-1, type_size)
                view[:, off:off + 2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
        w.add_tensor(name, raw, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "fixtures" / "gguf"
    out.mkdir(parents=True, exist_ok=True)
    write_blocks(out / "blocks.gguf")
    write_tiny_llama(out / "tiny_llama.gguf")
    for p in sorted(out.glob("*.gguf")):
        print(f"{p}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()
