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
                   const std::string& name, bool min_form_ok) {
  LB_CHECK_ARG(rows > 0 && cols > 0, "tensor ", name, ": cannot quantize shape [", rows, ", ", cols,
               "]");
  try {
    validate_format(f);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(concat("tensor ", name, ": ", e.what()));
  }
  LB_CHECK_ARG(min_form_ok || !f.min_offset, "tensor ", name, ": ", format_name(f),
               " is produced by the q4_1 / q5_1 schemes only");
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
  const BufferSizes sizes = buffer_sizes(format, rows, cols);  // the one size rule
  t.codes = Buffer::allocate(sizes.codes);
  if (format.is_dense()) return t;
  t.scales = Buffer::allocate(sizes.scales);
  t.zeros = Buffer::allocate(sizes.zeros);
  t.nested_scales = Buffer::allocate(sizes.nested_scales);
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
