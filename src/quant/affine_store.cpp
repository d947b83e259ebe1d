// SPDX-License-Identifier: MIT
// Shared input checks and stores for quantizers.
#include "quant/affine_store.h"

#include <cmath>
#include <cstring>

#include "numerics/bit_pack.h"
#include "numerics/half.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

constexpr float kF16Max = 65504.0f;

}  // namespace

void check_weights(const float* w, int64_t rows, int64_t cols, const QuantFormat& f,
                   const std::string& name) {
  LB_CHECK_ARG(rows > 0 && cols > 0, "tensor ", name, ": cannot quantize shape [", rows, ", ", cols,
               "]");
  try {
    validate_format(f);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(concat("tensor ", name, ": ", e.what()));
  }
  // Any |w| <= 65504 keeps every f16 scale finite: the largest is absmax / 1 (2-bit symmetric).
  const bool f16_limited =
      f.kind == QuantKind::f16 || (f.kind == QuantKind::affine_int && f.scale_dtype == DType::f16);
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; ++i) {
    const float v = w[i];
    LB_CHECK_ARG(std::isfinite(v), "tensor ", name, ": non-finite weight at row ", i / cols,
                 ", column ", i % cols);
    LB_CHECK_ARG(!f16_limited || std::fabs(v) <= kF16Max, "tensor ", name, ": weight ", v,
                 " at row ", i / cols, ", column ", i % cols, " is beyond the f16 range of ",
                 format_name(f));
  }
}

QuantizedTensor allocate_quantized(const QuantFormat& format, int64_t rows, int64_t cols) {
  QuantizedTensor t;
  t.format = format;
  t.shape = {rows, cols};
  t.codes = Buffer::allocate(t.row_bytes() * static_cast<size_t>(rows));
  if (format.is_dense()) return t;
  const auto n_scales = static_cast<size_t>(t.scale_count());
  if (format.double_quant) {
    t.scales = Buffer::allocate(n_scales);
    t.nested_scales = Buffer::allocate((n_scales + 255) / 256 * sizeof(float));
  } else {
    t.scales = Buffer::allocate(n_scales * dtype_size(format.scale_dtype));
  }
  if (format.has_zeros()) t.zeros = Buffer::allocate(n_scales * 2);
  return t;
}

void store_scale(QuantizedTensor& t, int64_t index, float scale) {
  const auto i = static_cast<size_t>(index);
  if (t.format.scale_dtype == DType::f16) {
    const uint16_t bits = f32_to_f16(scale);
    std::memcpy(t.scales.mutable_data() + i * 2, &bits, sizeof(bits));
  } else {
    std::memcpy(t.scales.mutable_data() + i * sizeof(float), &scale, sizeof(scale));
  }
}

void store_zero(QuantizedTensor& t, int64_t index, float zero) {
  const uint16_t bits = f32_to_f16(zero);
  std::memcpy(t.zeros.mutable_data() + static_cast<size_t>(index) * 2, &bits, sizeof(bits));
}

void store_row_codes(QuantizedTensor& t, int64_t row, const uint8_t* codes) {
  pack_bits(codes, t.cols(), t.format.bits,
            t.codes.mutable_data() + static_cast<size_t>(row) * t.row_bytes());
}

}  // namespace lowbit::quant
