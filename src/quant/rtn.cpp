// SPDX-License-Identifier: MIT
// Round-to-nearest quantization: each group's grid comes from its own statistics (quant/grid.h)
// and every weight takes the nearest code. No data, no error feedback; the baseline the
// calibrated algorithms are measured against.
//
// Per kind (grids in quant/grid.h):
//   affine_int  asymmetric: range widened to include 0, f16 scale rounded toward zero, zero =
//               rne(-lo / scale); symmetric: scale = rne_f16(absmax / (2^(b-1) - 1)), codes
//               1..2^b-1 around 2^(b-1). Codes use the stored (rounded) scale and zero.
//   nf4         block absmax in f32, code = nearest codebook value to w / absmax (7 when the
//               absmax is 0). Double quant first quantizes all absmax values, then picks the
//               4-bit codes against the DECODED absmax so the stored data reproduces.
//   fp8         scale = amax / 448 (e4m3) or / 57344 (e5m2) per row or tensor, f32; code =
//               rne cast of clamp(w / scale).
//   dense       conversion (f16/bf16 round to nearest even).
// A group whose stored scale would be 0 or denormal gets scale 1 (its codes decode to 0).
#include "quant/rtn.h"

#include "quant/gptq_trellis.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "numerics/half.h"
#include "quant/affine_store.h"
#include "quant/grid.h"
#include "tensor/dequantize.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

void quantize_dense(const float* w, int64_t n, QuantizedTensor& t, const std::string& name) {
  uint8_t* out = t.codes.mutable_data();
  if (t.format.kind == QuantKind::f32) {
    std::memcpy(out, w, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  const bool is_f16 = t.format.kind == QuantKind::f16;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t bits = is_f16 ? f32_to_f16(w[i]) : f32_to_bf16(w[i]);
    // f16 overflow was rejected up front; bf16 can still round FLT_MAX-sized values to inf.
    LB_CHECK_ARG((bits & 0x7FFF) != (is_f16 ? 0x7C00 : 0x7F80), "tensor ", name, ": weight ", w[i],
                 " at element ", i, " overflows ", kind_name(t.format.kind));
    std::memcpy(out + i * 2, &bits, sizeof(bits));
  }
}

// Row-wise loop shared by the grouped formats: for each group [c0, c1) of row r, `group_fn`
// computes and stores the group's grid and writes the codes of its elements.
template <typename GroupFn>
void quantize_groups(const float* w, QuantizedTensor& t, GroupFn&& group_fn) {
  const int64_t rows = t.rows();
  const int64_t cols = t.cols();
  const int span = t.format.group_size > 0 ? t.format.group_size : 0;
  std::vector<uint8_t> row_codes(static_cast<size_t>(cols));  // one buffer for all rows
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = w + r * cols;
    for (int64_t c0 = 0; c0<cols; c0 += span> 0 ? span : cols) {
      const int64_t c1 = span > 0 && c0 + span < cols ? c0 + span : cols;
      group_fn(x, r, c0, c1, row_codes.data());
    }
    store_row_codes(t, r, row_codes.data());
  }
}

void quantize_affine(const float* w, QuantizedTensor& t) {
  const QuantFormat& f = t.format;
  const int64_t cols = t.cols();
  AffineParams tensor_params;
  if (f.group_size == kPerTensor) {
    const MinMax range = min_max(w, t.numel());
    tensor_params = affine_params(f, range.min, range.max);
  }
  quantize_groups(w, t, [&](const float* x, int64_t r, int64_t c0, int64_t c1, uint8_t* q) {
    AffineParams p = tensor_params;
    if (f.group_size != kPerTensor) {
      const MinMax range = min_max(x + c0, c1 - c0);
      p = affine_params(f, range.min, range.max);
    }
    const int64_t index = scale_index(f, cols, r, c0);
    if (r == 0 || f.group_size != kPerTensor) {
      store_scale(t, index, p.scale);
      if (f.has_zeros()) store_zero(t, index, p.zero);
    }
    for (int64_t c = c0; c < c1; ++c) q[c] = affine_code(x[c], p);
  });
}

void quantize_fp8(const float* w, QuantizedTensor& t) {
  const QuantFormat& f = t.format;
  const int64_t cols = t.cols();
  float* scales = t.scales.as_mutable<float>();
  if (f.group_size == kPerTensor) scales[0] = fp8_scale(abs_max(w, t.numel()), f.kind);
  for (int64_t r = 0; r < t.rows(); ++r) {
    const float* x = w + r * cols;
    if (f.group_size == kPerChannel) scales[r] = fp8_scale(abs_max(x, cols), f.kind);
    const float scale = scales[f.group_size == kPerChannel ? r : 0];
    uint8_t* q = t.codes.mutable_data() + r * cols;
    for (int64_t c = 0; c < cols; ++c) q[c] = fp8_code(x[c], scale, f.kind);
  }
}

void quantize_nf4(const float* w, QuantizedTensor& t) {
  const QuantFormat& f = t.format;
  const int64_t cols = t.cols();
  const int64_t per_row = t.groups_per_row();
  const int64_t n = t.scale_count();
  // Block absmax first: double quantization needs all of them for the offset.
  std::vector<float> absmax(static_cast<size_t>(n));
  for (int64_t r = 0; r < t.rows(); ++r)
    for (int64_t g = 0; g < per_row; ++g) {
      const int64_t c0 = g * f.group_size;
      const int64_t c1 = c0 + f.group_size < cols ? c0 + f.group_size : cols;
      absmax[static_cast<size_t>(r * per_row + g)] = abs_max(w + r * cols + c0, c1 - c0);
    }
  if (f.double_quant) {
    uint8_t* codes = t.scales.mutable_data();
    float* nested = t.nested_scales.as_mutable<float>();
    t.nested_offset = nf4_double_quantize(absmax.data(), n, codes, nested);
    // The 4-bit codes must be chosen against the absmax the decoder will see.
    for (int64_t i = 0; i < n; ++i)
      absmax[static_cast<size_t>(i)] =
          nf4_nested_absmax(t.nested_offset, nested[i / 256], codes[i]);
  } else {
    std::memcpy(t.scales.mutable_data(), absmax.data(), absmax.size() * sizeof(float));
  }
  quantize_groups(w, t, [&](const float* x, int64_t r, int64_t c0, int64_t c1, uint8_t* q) {
    const float a = absmax[static_cast<size_t>(scale_index(f, cols, r, c0))];
    for (int64_t c = c0; c < c1; ++c) q[c] = nf4_code(x[c], a);
  });
}

}  // namespace

QuantizedTensor quantize_rtn(const float* w, int64_t rows, int64_t cols, const QuantFormat& format,
                             const std::string& name, ThreadPool* pool) {
  // A trellis tensor's nearest code sequence is a search (Viterbi), not a rounding.
  if (format.kind == QuantKind::trellis) return quantize_trellis(w, rows, cols, format, pool, name);
  check_weights(w, rows, cols, format, name);
  QuantizedTensor t = allocate_quantized(format, rows, cols);
  if (format.is_dense()) {
    quantize_dense(w, rows * cols, t, name);
    return t;
  }
  switch (format.kind) {
    case QuantKind::affine_int:
      quantize_affine(w, t);
      break;
    case QuantKind::nf4:
      quantize_nf4(w, t);
      break;
    case QuantKind::fp8_e4m3:
    case QuantKind::fp8_e5m2:
      quantize_fp8(w, t);
      break;
    case QuantKind::iq4_nl:
      throw InvalidArgument(concat("tensor ", name, ": ", format_name(format),
                                   " is produced by the iq4_nl scheme (ggml's search), not RTN"));
    default:
      break;
  }
  return t;
}

}  // namespace lowbit::quant
