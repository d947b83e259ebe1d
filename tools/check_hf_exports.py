#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks lowbit's serving-engine exports against the lowbit checkpoint of the same scheme.

    tools/check_hf_exports.py --lowbit CKPT EXPORT_DIR [EXPORT_DIR ...]

Each EXPORT_DIR (compressed-tensors, gptq or awq, detected from config.json) is unpacked with a
short unpacker written from the published layouts (docs/FORMATS.md, "Serving-engine layouts"),
dequantized, and compared weight by weight with CKPT dequantized from its own documented layout
(codes bit stream, scales, zero-points). Needs numpy; the `safetensors` package, when
importable, cross-checks this script's own file reader. With --library, compressed-tensors
exports are dequantized by the `compressed-tensors` package's own decompressor (what vLLM and
transformers load them with; needs torch) instead of this script's unpacker, in f32.
Exit 1 on any mismatch.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I8": np.int8, "U8": np.uint8,
          "I32": np.int32, "I64": np.int64, "F8_E4M3": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        begin, end = e["data_offsets"]
        arr = np.frombuffer(data, dtype=DTYPES[e["dtype"]], count=(end - begin) //
                            np.dtype(DTYPES[e["dtype"]]).itemsize, offset=base + begin)
        out[name] = (e["dtype"], arr.reshape(e["shape"]))
    return out


def cross_check(path, tensors):
    try:
        from safetensors.numpy import load_file
    except ImportError:
        return "safetensors package not importable; own reader only"
    try:
        ref = load_file(path)
    except Exception as e:  # F8 has no numpy dtype in some versions
        return f"safetensors.numpy could not load the file ({type(e).__name__}); own reader only"
    for name, arr in ref.items():
        mine = tensors[name][1]
        if tensors[name][0] == "BF16":
            continue
        if not np.array_equal(arr.view(mine.dtype).reshape(mine.shape), mine):
            raise SystemExit(f"{path}: {name}: own reader differs from safetensors")
    return f"safetensors {len(ref)} tensors identical to the own reader"


def fp8_e4m3_table():
    t = np.zeros(256, np.float32)
    for b in range(256):
        s = -1.0 if b & 0x80 else 1.0
        e = (b >> 3) & 0xF
        m = b & 7
        if e == 15 and m == 7:
            t[b] = np.nan
        elif e == 0:
            t[b] = s * (m / 8.0) * 2.0 ** -6
        else:
            t[b] = s * (1 + m / 8.0) * 2.0 ** (e - 7)
    return t


FP8 = fp8_e4m3_table()


def unpack_stream(u8_rows, count, bits):
    """Rows of little-endian bytes holding a bit stream of `bits`-bit values -> [rows, count]."""
    b = np.unpackbits(u8_rows, axis=1, bitorder="little")[:, :count * bits]
    b = b.reshape(u8_rows.shape[0], count, bits).astype(np.int64)
    return (b << np.arange(bits)).sum(axis=2)


def f32(dtype, arr):
    if dtype == "BF16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr.astype(np.float32)


def expand_groups(per_group, cols, group):
    """[rows, groups] -> [rows, cols] (group > 0), [rows, 1] / [1] broadcast otherwise."""
    if group > 0:
        return np.repeat(per_group, group, axis=1)[:, :cols]
    return per_group


def lowbit_dequant(ckpt):
    cfg = json.load(open(os.path.join(ckpt, "config.json")))
    desc = cfg["quantization"]["tensors"]
    t = read_safetensors(os.path.join(ckpt, "model.safetensors"))
    out = {}
    for name, d in desc.items():
        if d["kind"] in ("f32", "f16", "bf16"):
            continue
        rows, cols = d["shape"]
        g = d["group_size"]
        s = f32(*t[name + ".scales"])
        s = s.reshape(1, 1) if g == -1 else s
        s = expand_groups(s, cols, g)
        codes = t[name + ".codes"][1]
        if d["kind"] in ("int", "affine_int"):
            q = unpack_stream(codes, cols, d["bits"]).astype(np.float32)
            if d["symmetric"]:
                z = np.float32(2 ** (d["bits"] - 1))
            else:
                z = f32(*t[name + ".zeros"])
                z = expand_groups(z.reshape(1, 1) if g == -1 else z, cols, g)
            out[name] = s * (q - z)
        elif d["kind"] in ("fp8_e4m3", "fp8-e4m3", "e4m3"):
            out[name] = s * FP8[codes]
        else:
            raise SystemExit(f"{ckpt}: {name}: kind {d['kind']} is not checked here")
    return out


def rope_half_split(cfg, ref):
    """GGUF / llama2.c sources store q/k rows in adjacent-pair RoPE order; the exports hold them
    in HF's half-split order: within each head of hd rows, row i is row 2i and hd/2 + i is 2i+1."""
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    for name in list(ref):
        n = heads if name.endswith("q_proj.weight") else kv_heads if name.endswith(
            "k_proj.weight") else 0
        if not n:
            continue
        w = ref[name]
        hd = w.shape[0] // n
        order = np.concatenate([h * hd + np.concatenate([np.arange(0, hd, 2), np.arange(1, hd, 2)])
                                for h in range(n)])
        ref[name] = w[order]


def ct_dequant(qc, t):
    out = {}
    groups = list(qc["config_groups"].values())
    for key in [k for k in t if k.endswith(".weight_scale")]:
        p = key[: -len(".weight_scale")]
        grp = next(g for g in groups if "Linear" in g["targets"] or p in g["targets"])
        w = grp["weights"]
        fmt = grp.get("format", qc["format"])
        strategy, bits = w["strategy"], w["num_bits"]
        scale = f32(*t[key])
        if fmt == "pack-quantized":
            rows, cols = (int(x) for x in t[p + ".weight_shape"][1])
            words = t[p + ".weight_packed"][1]
            q = unpack_stream(words.view(np.uint8).reshape(rows, -1), cols, bits) - 2 ** (bits - 1)
            zp = np.zeros(1, np.int64)
            if not w["symmetric"]:
                zw = t[p + ".weight_zero_point"][1]
                zrows = 1 if strategy == "tensor" else rows
                zw = zw.reshape(-1, 1) if strategy == "tensor" else zw
                cols_z = zw.shape[1]
                zb = np.ascontiguousarray(zw.T).view(np.uint8).reshape(cols_z, -1)
                zp = (unpack_stream(zb, zrows, bits) - 2 ** (bits - 1)).T  # [zrows, groups]
        elif fmt == "int-quantized":
            q = t[p + ".weight"][1].astype(np.int64)
            rows, cols = q.shape
            zp = np.zeros(1, np.int64)
        elif fmt == "float-quantized":
            q = None
            rows, cols = t[p + ".weight"][1].shape
        else:
            raise SystemExit(f"{p}: format {fmt} not checked")
        g = w["group_size"] if strategy == "group" else 0
        s = expand_groups(scale.reshape(1, 1) if strategy == "tensor" else scale, cols, g)
        if q is None:
            out[p + ".weight"] = s * FP8[t[p + ".weight"][1]]
        else:
            z = 0 if w["symmetric"] else expand_groups(
                zp.reshape(1, 1) if strategy == "tensor" else zp, cols, g)
            out[p + ".weight"] = s * (q - z).astype(np.float32)
    return out


def gptq_dequant(qc, t):
    bits, per = qc["bits"], 32 // qc["bits"]
    mask = (1 << bits) - 1
    out = {}
    for key in [k for k in t if k.endswith(".qweight")]:
        p = key[: -len(".qweight")]
        qw = t[key][1].view(np.uint32)
        q = np.stack([(qw >> (bits * j)) & mask for j in range(per)], axis=1)  # [in/per, per, out]
        q = q.reshape(-1, qw.shape[1]).T.astype(np.int64)  # [out, in]
        qz = t[p + ".qzeros"][1].view(np.uint32)
        z = np.stack([(qz >> (bits * j)) & mask for j in range(per)], axis=2)
        z = z.reshape(qz.shape[0], -1).astype(np.int64) + 1  # v1: stored zero - 1
        s = f32(*t[p + ".scales"])
        gi = t[p + ".g_idx"][1]
        out[p + ".weight"] = (s[gi].T * (q - z[gi].T)).astype(np.float32)
    return out


def awq_dequant(qc, t):
    order = [0, 2, 4, 6, 1, 3, 5, 7]
    g = qc.get("group_size", qc.get("q_group_size"))
    out = {}

    def unpack(words):  # [r, out/8] -> [r, out]
        v = np.zeros((words.shape[0], words.shape[1] * 8), np.int64)
        for i, col in enumerate(order):
            v[:, col::8] = (words >> (4 * i)) & 15
        return v

    for key in [k for k in t if k.endswith(".qweight")]:
        p = key[: -len(".qweight")]
        q = unpack(t[key][1].view(np.uint32)).T  # [out, in]
        z = unpack(t[p + ".qzeros"][1].view(np.uint32)).T  # [out, groups]
        s = f32(*t[p + ".scales"]).T
        cols = q.shape[1]
        out[p + ".weight"] = expand_groups(s, cols, g) * (q - expand_groups(z, cols, g))
    return out


def ct_library_dequant(qc, d):
    """The compressed-tensors package's own decompressor on each quantized module, in f32."""
    import torch
    from safetensors.torch import load_file
    from compressed_tensors.compressors.base import BaseCompressor
    from compressed_tensors.quantization import QuantizationScheme

    tensors = load_file(os.path.join(d, "model.safetensors"))
    groups = list(qc["config_groups"].values())
    prefixes = sorted({n.rsplit(".", 1)[0] for n in tensors
                       if n.endswith((".weight_packed", ".weight_scale"))})
    out = {}
    for p in prefixes:
        module = p
        group = groups[0] if len(groups) == 1 else next(
            g for g in groups if module in g["targets"] or any(module.endswith(t) for t in g["targets"]))
        scheme = QuantizationScheme.model_validate(group)
        fmt = group.get("format") or qc.get("format")
        compressor = BaseCompressor.get_value_from_registry(fmt)
        local = {n[len(p) + 1:]: v for n, v in tensors.items() if n.rsplit(".", 1)[0] == p}
        if scheme.weights is not None and scheme.weights.type == "float":
            local = {k: (v.float() if k.startswith("weight_scale") else v) for k, v in local.items()}
        weight = compressor.decompress(local, scheme)["weight"]
        out[p + ".weight"] = weight.to(torch.float32).numpy()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lowbit", required=True, help="lowbit checkpoint of the same scheme")
    ap.add_argument("--library", action="store_true",
                    help="dequantize compressed-tensors exports with the compressed-tensors package")
    ap.add_argument("exports", nargs="+")
    args = ap.parse_args()
    ref = lowbit_dequant(args.lowbit)
    cfg = json.load(open(os.path.join(args.lowbit, "config.json")))
    if cfg.get("lowbit_rope_interleaved"):
        rope_half_split(cfg, ref)
    status = 0
    for d in args.exports:
        qc = json.load(open(os.path.join(d, "config.json")))["quantization_config"]
        path = os.path.join(d, "model.safetensors")
        t = read_safetensors(path)
        note = cross_check(path, t)
        method = qc["quant_method"]
        if args.library and method == "compressed-tensors":
            got = ct_library_dequant(qc, d)
            note += "; dequantized by the compressed-tensors package"
        else:
            got = {"compressed-tensors": ct_dequant, "gptq": gptq_dequant,
                   "awq": awq_dequant}[method](qc, t)
        # Block linears must match one to one; a quantized embedding of the source is written
        # dense by the exporter.
        missing = sorted(n for n in set(ref) ^ set(got) if n.startswith("model.layers."))
        worst, worst_name, numel = 0.0, "", 0
        for name, w in got.items():
            if name not in ref:
                continue
            if w.shape != ref[name].shape:
                print(f"{d}: {name}: shape {w.shape} vs lowbit {ref[name].shape}")
                status = 1
                continue
            err = np.abs(w - ref[name])
            if args.library and method == "compressed-tensors":
                # The library multiplies in the scale's dtype (f16): one f16 rounding of the
                # exact value is allowed, nothing more.
                err = np.where(err <= np.abs(ref[name]) * 2.0 ** -11 + 2.0 ** -24, 0.0, err)
            diff = float(np.nanmax(err)) if w.size else 0.0
            numel += w.size
            if diff > worst or not worst_name:
                worst, worst_name = diff, name
        ok = worst == 0.0 and not missing
        status |= 0 if ok else 1
        print(f"{d}: {method} ({qc.get('format', qc.get('version', ''))}): {len(got)} quantized "
              f"weights, {numel} values, max |export - lowbit| = {worst:g} ({worst_name})"
              f"{'; tensor sets differ: ' + ', '.join(missing[:4]) if missing else ''}; {note}; "
              f"{'OK' if ok else 'MISMATCH'}")
    return status


if __name__ == "__main__":
    sys.exit(main())
