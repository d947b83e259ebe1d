#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes tests/fixtures/gguf/reference_quants.gguf with the `gguf` PyPI package (gguf-py): the
reference output of every ggml type gguf-py can quantize, for lowbit's GGUF export to match
byte for byte (tests/unit/io/gguf_export_test.cpp).

  source   F32 [8, 64]: seeded random rows of varied magnitude plus the quantizers' corner
           cases: an all-zero block, a constant block, a block whose largest magnitude appears
           with both signs (the first one wins), values on exact rounding ties, and tiny values
           whose scale is an f16 subnormal.
  <TYPE>   gguf.quants.quantize(source, TYPE) for Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 and BF16, stored
           as raw ggml blocks of that type (gguf-py documents these as bit-exact with ggml's
           reference quantizers, quantize_row_*_ref).

Usage: python3 tools/make_gguf_export_fixtures.py [OUT_DIR]   (default tests/fixtures/gguf)
Deterministic: rerunning it rewrites an identical file (gguf 0.19.0, numpy 2.x).
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as T
from gguf import quants

ROOT = Path(__file__).resolve().parent.parent
TYPES = [T.Q8_0, T.Q4_0, T.Q5_0, T.Q4_1, T.Q5_1, T.BF16]


def source_rows() -> np.ndarray:
    rng = np.random.default_rng(20261201)
    x = rng.standard_normal((8, 64)).astype(np.float32)
    x *= (10.0 ** rng.uniform(-3, 1, (8, 1))).astype(np.float32)
    x[0, :32] = 0.0                      # all-zero block
    x[0, 32:] = 0.75                     # constant block
    x[1, :32] = rng.uniform(-1, 1, 32).astype(np.float32)
    x[1, 5], x[1, 9] = -0.9921875, 0.9921875  # equal magnitudes, opposite signs: -0.99 wins
    x[1, 32:] = np.arange(-16, 16, dtype=np.float32) / 8.0  # exact grid points and ties
    x[2, :32] = (rng.standard_normal(32) * 1e-6).astype(np.float32)  # subnormal f16 scales
    return x


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests" / "fixtures" / "gguf"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "reference_quants.gguf"
    x = source_rows()
    w = GGUFWriter(str(path), "llama")
    w.add_string("lowbit.fixture", "gguf.quants.quantize of 'source' for each ggml type")
    w.add_tensor("source", x)
    for qtype in TYPES:
        w.add_tensor(qtype.name, quants.quantize(x, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{path}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
