// SPDX-License-Identifier: MIT
// Scalar reference decoding of every QuantFormat, written for clarity over speed.
#include "tensor/dequantize.h"

#include <cstring>
#include <map>
#include <memory>
#include <mutex>

#include "numerics/bit_pack.h"
#include "numerics/fp8.h"
#include "numerics/half.h"
#include "numerics/iq4_nl.h"
#include "numerics/nf4.h"
#include "numerics/trellis_code.h"
#include "tensor/scale_reader.h"
#include "util/check.h"

namespace lowbit {
namespace {

// Value of code q once its group's scale and zero (the additive min in the min form) are known.
float decode_code(const QuantFormat& f, uint8_t q, float scale, float zero) {
  switch (f.kind) {
    case QuantKind::affine_int:
      // ggml's min form: the product, then the sum, each rounded (as ggml and gguf-py decode).
      if (f.min_offset) return scale * static_cast<float>(q) + zero;
      // q - zero is exact (small integers), so the single rounding is the product.
      return scale * (static_cast<float>(q) - zero);
    case QuantKind::nf4:
      return scale * kNf4Codebook[q];
    case QuantKind::iq4_nl:
      return scale * static_cast<float>(kIq4NlValues[q]);
    case QuantKind::fp8_e4m3:
      return scale * e4m3_to_f32(q);
    case QuantKind::fp8_e5m2:
      return scale * e5m2_to_f32(q);
    default:
      return 0.0f;  // dense kinds never get here
  }
}

void decode_dense_row(const QuantizedTensor& w, int64_t row, float* out) {
  const int64_t cols = w.cols();
  const uint8_t* src = w.codes.data() + static_cast<size_t>(row) * w.row_bytes();
  switch (w.format.kind) {
    case QuantKind::f32:
      std::memcpy(out, src, static_cast<size_t>(cols) * sizeof(float));
      return;
    case QuantKind::f16:
    case QuantKind::bf16: {
      const bool is_f16 = w.format.kind == QuantKind::f16;
      for (int64_t c = 0; c < cols; ++c) {
        uint16_t bits;
        std::memcpy(&bits, src + 2 * c, sizeof(bits));
        out[c] = is_f16 ? f16_to_f32(bits) : bf16_to_f32(bits);
      }
      return;
    }
    default:
      return;
  }
}

// Rows [row_begin, row_end) of a trellis tensor: each row of W' decoded from its column
// streams, then un-rotated (W = W'·R^T, so row w = R·w').
void decode_trellis_rows(const QuantizedTensor& w, int64_t row_begin, int64_t row_end, float* out) {
  const QuantFormat& f = w.format;
  const int64_t rows = w.rows(), cols = w.cols();
  const ScaleReader scales = ScaleReader::of(w);
  for (int64_t r = row_begin; r < row_end; ++r) {
    float* dst = out + (r - row_begin) * cols;
    const int64_t run = r / kTrellisRun, t = r % kTrellisRun;
    const float scale = scales.at(r);
    for (int64_t c = 0; c < cols; ++c) {
      const uint8_t* stream =
          w.codes.data() + trellis_stream_offset(rows, cols, f.bits, f.state_bits, run, c);
      dst[c] = scale * trellis_value(trellis_state(stream, t, f.bits, f.state_bits));
    }
  }
  trellis_rotation(cols).unrotate(out, row_end - row_begin);
}

}  // namespace

const InputRotation& trellis_rotation(int64_t cols) {
  static std::mutex mutex;
  static std::map<int64_t, std::unique_ptr<InputRotation>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<InputRotation>& r = cache[cols];
  if (!r) r = std::make_unique<InputRotation>(cols, kTrellisRotationSeed);
  return *r;
}

float scale_at(const QuantizedTensor& w, int64_t scale_index) {
  LB_CHECK_ARG(!w.format.is_dense() && scale_index >= 0 && scale_index < w.scale_count(),
               "scale index ", scale_index, " out of range for ", format_name(w.format), " tensor ",
               shape_string(w.shape));
  w.validate("(scale lookup)");  // buffer sizes, so the read stays in bounds
  return ScaleReader::of(w).at(scale_index);
}

float zero_at(const QuantizedTensor& w, int64_t scale_index) {
  const QuantFormat& f = w.format;
  if (f.kind != QuantKind::affine_int) return 0.0f;
  if (f.symmetric) return static_cast<float>(1 << (f.bits - 1));
  LB_CHECK_ARG(scale_index >= 0 && scale_index < w.scale_count(), "zero-point index ", scale_index,
               " out of range for tensor ", shape_string(w.shape));
  if (f.k_quant) return ScaleReader::of(w).min_at(scale_index);  // in the scale bytes
  uint16_t bits;
  std::memcpy(&bits, w.zeros.data() + static_cast<size_t>(scale_index) * 2, sizeof(bits));
  return f16_to_f32(bits);
}

void dequantize_rows_reference(const QuantizedTensor& w, int64_t row_begin, int64_t row_end,
                               float* out) {
  LB_CHECK_ARG(row_begin >= 0 && row_begin <= row_end && row_end <= w.rows(), "dequantize: rows [",
               row_begin, ", ", row_end, ") out of range for tensor ", shape_string(w.shape));
  const QuantFormat& f = w.format;
  const int64_t cols = w.cols();
  const size_t stride = w.row_bytes();
  w.validate("(being dequantized)");  // buffer sizes, so the loops below stay in bounds
  if (f.kind == QuantKind::trellis) {
    decode_trellis_rows(w, row_begin, row_end, out);
    return;
  }
  const ScaleReader scales = ScaleReader::of(w);
  for (int64_t r = row_begin; r < row_end; ++r) {
    float* dst = out + (r - row_begin) * cols;
    if (f.is_dense()) {
      decode_dense_row(w, r, dst);
      continue;
    }
    const uint8_t* row_codes = w.codes.data() + static_cast<size_t>(r) * stride;
    // Groups never straddle rows, so one scale and zero hold for a run of `span` columns.
    const int64_t span = f.group_size > 0 ? f.group_size : cols;
    for (int64_t c0 = 0; c0 < cols; c0 += span) {
      const int64_t index = scale_index(f, cols, r, c0);
      const float scale = scales.at(index);
      const float zero = zero_at(w, index);
      const int64_t c1 = c0 + span < cols ? c0 + span : cols;
      for (int64_t c = c0; c < c1; ++c) {
        const uint8_t q = f.bits == 8 ? row_codes[c] : packed_code(row_codes, c, f.bits);
        dst[c] = decode_code(f, q, scale, zero);
      }
    }
  }
}

std::vector<float> dequantize_reference(const QuantizedTensor& w) {
  std::vector<float> out(static_cast<size_t>(w.numel()));
  dequantize_rows_reference(w, 0, w.rows(), out.data());
  return out;
}

}  // namespace lowbit
