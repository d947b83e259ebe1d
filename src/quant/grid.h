// SPDX-License-Identifier: MIT
// Quantization grids shared by every algorithm: affine min/max and absmax parameters, the fp8
// saturating cast and NF4 blocks with optional double quantization. Each helper returns the
// parameters exactly as stored, so codes computed here reproduce on decode.
#pragma once

#include <cstdint>

#include "numerics/rounding.h"
#include "tensor/dtype.h"
#include "tensor/quant_format.h"

namespace lowbit::quant {

struct MinMax {
  float min = 0.0f;
  float max = 0.0f;
};

// Over x[0, n) (n > 0); callers have rejected non-finite values.
MinMax min_max(const float* x, int64_t n);
float abs_max(const float* x, int64_t n);

// One affine_int group as stored: w = scale * (q - zero), q clamped to [qmin, qmax].
struct AffineParams {
  float scale = 1.0f;  // the stored scale read back as f32 (f16-exact for f16 scale dtype)
  float zero = 0.0f;   // integer zero-point: stored f16 (asymmetric) or 2^(bits-1) (symmetric)
  float qmin = 0.0f;   // 0 asymmetric, 1 symmetric (the grid is symmetric: ±(2^(bits-1) - 1))
  float qmax = 0.0f;   // 2^bits - 1
};

// Asymmetric grid. The range is widened to include 0 (lo = min(min, 0), hi = max(max, 0)) so
// that 0 is exact; scale = (hi - lo) / (2^bits - 1) computed in double and rounded TOWARD ZERO
// into scale_dtype; zero = round_half_even(-lo / scale) clamped to [0, 2^bits - 1].
// Why toward zero: a scale no larger than the exact one makes the grid top s*(2^bits-1-zero)
// reach hi within half a step, so the largest weight always gets the top code and
// re-quantizing the decoded group reproduces the same scale, zero and codes. (With an RNE
// scale ~0.1% of 4-bit and ~2% of 8-bit groups of normal weights miss the top code.) The one
// exception is an exact half-step tie at both ends, which no 2^bits-level grid holding 0 can
// resolve.
AffineParams asymmetric_params(float min, float max, int bits, DType scale_dtype);

// Symmetric grid: scale = absmax / (2^(bits-1) - 1) in f32, rounded to nearest-even into
// scale_dtype (absmax then maps to the top code up to 0.07 steps, so this is idempotent too);
// zero = 2^(bits-1); codes 1 .. 2^bits - 1.
AffineParams symmetric_params(float absmax, int bits, DType scale_dtype);

// Both helpers share the degenerate-group rule: when the stored scale would be 0 or below the
// smallest normal f32 (an all-zero group, or a range too small for f16), the scale is 1. Every
// weight of such a group is below half a step, so its codes decode to exactly 0 and nothing
// becomes NaN, Inf or a denormal that a flush-to-zero kernel would drop. f16 scales saturate
// at 65504 (ranges that large are rejected by quantize_rtn before they get here).

// The grid of `format` (affine_int) for a group with range [min, max].
AffineParams affine_params(const QuantFormat& format, float min, float max);

// q = clamp(round_half_even(w / scale) + zero, qmin, qmax). NaN maps to qmin.
inline uint8_t affine_code(float w, const AffineParams& p) {
  float q = round_half_even(w / p.scale) + p.zero;
  q = q > p.qmax ? p.qmax : q;
  q = q >= p.qmin ? q : p.qmin;
  return static_cast<uint8_t>(q);
}

// w = scale * (q - zero), the value the reference decoder gives.
inline float affine_value(uint8_t q, const AffineParams& p) {
  return p.scale * (static_cast<float>(q) - p.zero);
}

// fp8 scale: amax / 448 (e4m3) or amax / 57344 (e5m2) in f32; 1 when that is 0 or denormal.
float fp8_scale(float amax, QuantKind kind);
// The fp8 code of w / scale, clamped to the format's finite range before the RNE cast.
uint8_t fp8_code(float w, float scale, QuantKind kind);

// NF4 code of w in a block with absmax `absmax` (the decoded absmax with double quant): the
// nearest codebook value to w / absmax; code 7 (exact 0) when absmax is 0.
uint8_t nf4_code(float w, float absmax);

// NF4 double quantization of n block absmax values (QLoRA, with a symmetric int8 map in place
// of bitsandbytes' dynamic map): offset = mean(absmax); v = absmax - offset; per run of 256
// consecutive entries nested_scale = max|v| / 127 (f32; 1 when 0), code = round_half_even(v /
// nested_scale) + 128 clamped to [1, 255]. Writes codes[n], nested_scales[ceil(n / 256)] and
// returns the offset; decode with nf4_nested_absmax (tensor/dequantize.h).
float nf4_double_quantize(const float* absmax, int64_t n, uint8_t* codes, float* nested_scales);

}  // namespace lowbit::quant
