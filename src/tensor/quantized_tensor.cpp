// SPDX-License-Identifier: MIT
// QuantizedTensor validation and constructors.
#include "tensor/quantized_tensor.h"

#include "util/check.h"

namespace lowbit {

void QuantizedTensor::validate(const std::string& name) const {
  LB_CHECK_FORMAT(!shape.empty() && shape.size() <= 4, "tensor ", name, ": bad rank ",
                  shape.size());
  for (int64_t d : shape)
    LB_CHECK_FORMAT(d > 0, "tensor ", name, ": bad shape ", shape_string(shape));
  try {
    validate_format(format);
  } catch (const InvalidArgument& e) {
    throw FormatError(concat("tensor ", name, ": ", e.what()));
  }
  const size_t want_codes = row_bytes() * static_cast<size_t>(rows());
  LB_CHECK_FORMAT(codes.size() == want_codes, "tensor ", name, ": ", codes.size(),
                  " code bytes, expected ", want_codes, " for ", format_name(format), " ",
                  shape_string(shape));
  if (format.is_dense()) return;
  const auto n = static_cast<size_t>(scale_count());
  const size_t scale_bytes = format.double_quant ? n : n * dtype_size(format.scale_dtype);
  LB_CHECK_FORMAT(scales.size() == scale_bytes, "tensor ", name, ": ", scales.size(),
                  " scale bytes, expected ", scale_bytes);
  if (format.has_zeros())
    LB_CHECK_FORMAT(zeros.size() == n * 2, "tensor ", name, ": ", zeros.size(),
                    " zero-point bytes, expected ", n * 2);
  if (format.double_quant)
    LB_CHECK_FORMAT(nested_scales.size() == (n + 255) / 256 * 4, "tensor ", name,
                    ": bad nested scale size ", nested_scales.size());
}

QuantizedTensor QuantizedTensor::from_f32(const float* data, Shape shape) {
  QuantizedTensor t;
  t.format = QuantFormat::dense(QuantKind::f32);
  const int64_t n = lowbit::numel(shape);
  t.shape = std::move(shape);
  t.codes = Buffer::copy_of(data, static_cast<size_t>(n) * sizeof(float));
  return t;
}

QuantizedTensor QuantizedTensor::dense(QuantKind kind, Shape shape, Buffer codes) {
  QuantizedTensor t;
  t.format = QuantFormat::dense(kind);
  t.shape = std::move(shape);
  t.codes = std::move(codes);
  return t;
}

}  // namespace lowbit
