#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks a GGUF file written by `lowbit quantize --format gguf`, with the `gguf` PyPI package.

  check_gguf_export.py EXPORT.gguf --lowbit CKPT_DIR
      Every tensor of EXPORT, dequantized by gguf.quants.dequantize, must equal bit for bit the
      same tensor of the lowbit checkpoint CKPT_DIR (the same scheme written with
      --format lowbit), decoded here from docs/FORMATS.md section 2 (w = scale * (q - zero)).

  check_gguf_export.py EXPORT.gguf --reference SOURCE.gguf
      Every tensor of EXPORT whose type gguf-py can quantize (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, BF16)
      must be byte-identical to gguf.quants.quantize applied to SOURCE's values of that tensor
      (dequantized by gguf.quants.dequantize): ggml's reference quantizer output. F32 / F16
      tensors must hold SOURCE's values exactly.

Both may be given. Prints one line per tensor with --verbose, a summary always; exits 1 on any
mismatch, 2 on bad input.
"""
import argparse
import json
import struct
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf import quants

QUANTIZABLE = {T.Q8_0, T.Q4_0, T.Q5_0, T.Q4_1, T.Q5_1, T.BF16}
LAYER = {
    "attn_norm.weight": "input_layernorm.weight",
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "attn_q.bias": "self_attn.q_proj.bias",
    "attn_k.bias": "self_attn.k_proj.bias",
    "attn_v.bias": "self_attn.v_proj.bias",
    "ffn_norm.weight": "post_attention_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
TOP = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
       "output.weight": "lm_head.weight"}


def hf_name(gguf_name: str) -> str:
    if gguf_name in TOP:
        return TOP[gguf_name]
    if gguf_name.startswith("blk."):
        layer, suffix = gguf_name[4:].split(".", 1)
        return f"model.layers.{layer}.{LAYER[suffix]}"
    return gguf_name


def dequantized(t) -> np.ndarray:
    """A GGUF tensor's f32 values, [rows, cols] (PyTorch order)."""
    cols = int(t.shape[0])
    return quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32).reshape(-1, cols)


def read_safetensors(path: Path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    dtypes = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "U8": np.uint8}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = (info["dtype"], np.frombuffer(raw[base + b:base + e], dtype=dtypes[info["dtype"]])
                     .reshape(info["shape"]))
    return out


def unpack_bits(packed: np.ndarray, cols: int, bits: int) -> np.ndarray:
    """lowbit's dense little-endian bit stream per row -> codes [rows, cols]."""
    stream = np.unpackbits(packed, axis=1, bitorder="little")[:, :cols * bits]
    weights = (1 << np.arange(bits)).astype(np.uint32)
    return (stream.reshape(packed.shape[0], cols, bits).astype(np.uint32) * weights).sum(axis=2)


def k_quant_params(scale_bytes: np.ndarray, bits: int):
    """Per sub-block scale d * sc and min dmin * m (f32, exact) from a k-quant's super-block
    scale bytes [rows, bytes per row] (src/tensor/k_quant.h)."""
    rows = scale_bytes.shape[0]
    per = 18 if bits == 6 else 16
    b = scale_bytes.reshape(rows, -1, per)
    if bits == 6:
        d = b[:, :, 16:18].copy().view(np.float16).astype(np.float32)  # [rows, supers, 1]
        sc = b[:, :, :16].view(np.int8).astype(np.float32)
        return (d * sc).reshape(rows, -1), None
    d = b[:, :, 0:2].copy().view(np.float16).astype(np.float32)
    dmin = b[:, :, 2:4].copy().view(np.float16).astype(np.float32)
    s = b[:, :, 4:16].astype(np.uint32)
    sc = np.empty(s.shape[:2] + (8,), np.uint32)
    m = np.empty_like(sc)
    for j in range(8):
        if j < 4:
            sc[..., j] = s[..., j] & 63
            m[..., j] = s[..., j + 4] & 63
        else:
            sc[..., j] = (s[..., j + 4] & 15) | ((s[..., j - 4] >> 6) << 4)
            m[..., j] = (s[..., j + 4] >> 4) | ((s[..., j] >> 6) << 4)
    return (d * sc.astype(np.float32)).reshape(rows, -1), (dmin * m.astype(np.float32)).reshape(rows, -1)


def lowbit_tensor(ckpt, entries, name: str) -> np.ndarray:
    """A lowbit checkpoint tensor decoded as docs/FORMATS.md section 2 says, in f32."""
    st, meta = ckpt
    info = meta.get(name)
    if info is None or info["kind"] in ("f32", "f16", "bf16"):
        dtype, v = st[name]
        if dtype == "BF16":
            return (v.astype(np.uint32) << 16).view(np.float32).reshape(v.shape[0], -1) if v.ndim > 1 \
                else (v.astype(np.uint32) << 16).view(np.float32).reshape(1, -1)
        return v.astype(np.float32).reshape(-1, v.shape[-1])
    if info["kind"] not in ("int", "iq4_nl"):
        raise SystemExit(f"{name}: lowbit kind {info['kind']} has no GGUF type")
    rows, cols = info["shape"]
    bits, group = info["bits"], info["group_size"]
    codes = unpack_bits(st[name + ".codes"][1], cols, bits).astype(np.float32)
    if info.get("k_quant", False):
        scale, mins = k_quant_params(st[name + ".scales"][1].reshape(rows, -1), bits)
        idx = np.arange(cols) // group
        if mins is None:  # Q6_K: (d * sc) * (q - 32)
            return (scale[:, idx] * (codes - np.float32(32))).astype(np.float32)
        # Q4_K / Q5_K: (d * sc) * q, rounded, minus dmin * m, rounded
        return ((scale[:, idx] * codes).astype(np.float32) - mins[:, idx]).astype(np.float32)
    scales = st[name + ".scales"][1].astype(np.float32).reshape(rows, -1)
    g = cols if group <= 0 else group
    idx = np.arange(cols) // g if group > 0 else np.zeros(cols, dtype=np.int64)
    if info["kind"] == "iq4_nl":
        levels = np.array(quants.IQ4_NL.kvalues, dtype=np.float32)
        return (scales[:, idx] * levels[codes.astype(np.int64)]).astype(np.float32)
    if info["symmetric"]:
        zero = np.float32(1 << (bits - 1))
        return (scales[:, idx] * (codes - zero)).astype(np.float32)
    zeros = st[name + ".zeros"][1].astype(np.float32).reshape(rows, -1)
    if info.get("min_offset", False):
        # The min form (q4_1 / q5_1): w = scale * q, rounded, then + min, rounded.
        return ((scales[:, idx] * codes).astype(np.float32) + zeros[:, idx]).astype(np.float32)
    return (scales[:, idx] * (codes - zeros[:, idx])).astype(np.float32)


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("export", type=Path)
    ap.add_argument("--lowbit", type=Path, help="lowbit checkpoint of the same scheme")
    ap.add_argument("--reference", type=Path, help="the .gguf the export was quantized from")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    if not a.lowbit and not a.reference:
        ap.error("give --lowbit CKPT_DIR and/or --reference SOURCE.gguf")
    exp = GGUFReader(str(a.export))
    failures = 0
    checked = {"lowbit": 0, "reference": 0}

    if a.lowbit:
        config = json.loads((a.lowbit / "config.json").read_text())
        if not config.get("lowbit_rope_interleaved", False):
            print(f"{a.lowbit}: q/k rows are in HF order; compare against a GGUF-sourced checkpoint")
            return 2
        ckpt = (read_safetensors(a.lowbit / "model.safetensors"), config["quantization"]["tensors"])
        for t in exp.tensors:
            mine = dequantized(t)
            theirs = lowbit_tensor(ckpt, None, hf_name(t.name))
            ok = same_bits(mine, theirs.reshape(mine.shape))
            checked["lowbit"] += 1
            failures += not ok
            if a.verbose or not ok:
                print(f"{'ok  ' if ok else 'DIFF'} {t.name} {t.tensor_type.name} vs lowbit {hf_name(t.name)}")

    if a.reference:
        ref = {t.name: t for t in GGUFReader(str(a.reference)).tensors}
        for t in exp.tensors:
            if t.name not in ref:
                print(f"DIFF {t.name}: not in {a.reference}")
                failures += 1
                continue
            src = dequantized(ref[t.name])
            if t.tensor_type in QUANTIZABLE:
                want = quants.quantize(src, t.tensor_type)
                ok = np.array_equal(np.asarray(t.data).reshape(want.shape), want)
                what = f"bytes == gguf.quants.quantize(source, {t.tensor_type.name})"
            elif t.tensor_type in (T.F32, T.F16):
                ok = np.array_equal(dequantized(t), src)
                what = "values == source"
            else:
                print(f"skip {t.name}: {t.tensor_type.name} has no gguf-py quantizer")
                continue
            checked["reference"] += 1
            failures += not ok
            if a.verbose or not ok:
                print(f"{'ok  ' if ok else 'DIFF'} {t.name} {what}")

    print(f"{a.export}: {len(exp.tensors)} tensors; checked against lowbit {checked['lowbit']}, "
          f"against gguf-py's reference quantizer {checked['reference']}; {failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
