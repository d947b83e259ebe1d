// SPDX-License-Identifier: MIT
// QuantizedTensor validation and constructors.
#include "tensor/quantized_tensor.h"

#include <cmath>

#include "tensor/k_quant.h"
#include "util/check.h"

namespace lowbit {

void QuantizedTensor::validate(const std::string& name) const {
  LB_CHECK_FORMAT(!shape.empty() && shape.size() <= 4, "tensor ", name, ": bad rank ",
                  shape.size());
  for (int64_t d : shape)
    LB_CHECK_FORMAT(d > 0, "tensor ", name, ": bad shape ", shape_string(shape));
  BufferSizes want;
  try {
    want = buffer_sizes();
  } catch (const InvalidArgument& e) {
    throw FormatError(concat("tensor ", name, ": ", e.what()));
  }
  auto check = [&](const Buffer& b, size_t expected, const char* what) {
    LB_CHECK_FORMAT(b.size() == expected, "tensor ", name, ": ", b.size(), " ", what,
                    " bytes, expected ", expected, " for ", format_name(format), " ",
                    shape_string(shape));
  };
  check(codes, want.codes, "code");
  check(scales, want.scales, "scale");
  check(zeros, want.zeros, "zero-point");
  check(nested_scales, want.nested_scales, "nested scale");
}

namespace {

// Index of the first non-finite element of `n` values of `dtype` at `data`, or -1.
int64_t first_non_finite(const uint8_t* data, int64_t n, DType dtype) {
  switch (dtype) {
    case DType::f32: {
      const auto* v = reinterpret_cast<const uint32_t*>(data);
      for (int64_t i = 0; i < n; ++i)
        if ((v[i] & 0x7F800000u) == 0x7F800000u) return i;
      return -1;
    }
    case DType::f16:
    case DType::bf16: {
      const uint16_t mask = dtype == DType::f16 ? 0x7C00 : 0x7F80;
      const auto* v = reinterpret_cast<const uint16_t*>(data);
      for (int64_t i = 0; i < n; ++i)
        if ((v[i] & mask) == mask) return i;
      return -1;
    }
    case DType::f8_e4m3:  // only S.1111.111 is NaN
      for (int64_t i = 0; i < n; ++i)
        if ((data[i] & 0x7F) == 0x7F) return i;
      return -1;
    case DType::f8_e5m2:  // exponent 11111: infinity or NaN
      for (int64_t i = 0; i < n; ++i)
        if ((data[i] & 0x7C) == 0x7C) return i;
      return -1;
    default:
      return -1;
  }
}

}  // namespace

void QuantizedTensor::check_finite(const std::string& name) const {
  const int64_t bad =
      first_non_finite(codes.data(), numel(), element_dtype(format.kind).value_or(DType::u8));
  LB_CHECK_FORMAT(bad < 0, "tensor ", name, ": non-finite weight at row ", bad / cols(),
                  ", column ", bad % cols());
  if (format.is_dense()) return;
  const DType scale_dtype = stored_scale_dtype(format);
  const int64_t bad_scale = first_non_finite(scales.data(), scale_count(), scale_dtype);
  LB_CHECK_FORMAT(bad_scale < 0, "tensor ", name, ": non-finite scale at index ", bad_scale);
  if (format.k_quant) {
    // The f16 d (and dmin) of each super-block; the 6-bit / int8 sub-scales are integers.
    const int64_t blocks = numel() / kKSuper;
    const auto bytes = static_cast<size_t>(k_super_bytes(format.bits));
    const size_t at = format.bits == 6 ? 16 : 0;
    const int64_t fields = format.bits == 6 ? 1 : 2;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* p = scales.data() + static_cast<size_t>(b) * bytes + at;
      LB_CHECK_FORMAT(first_non_finite(p, fields, DType::f16) < 0, "tensor ", name,
                      ": non-finite super-block scale or min at block ", b);
    }
  }
  if (format.has_zeros()) {
    const int64_t bad_zero = first_non_finite(zeros.data(), scale_count(), DType::f16);
    LB_CHECK_FORMAT(bad_zero < 0, "tensor ", name, ": non-finite ",
                    format.min_offset ? "min" : "zero-point", " at index ", bad_zero);
  }
  if (format.double_quant) {
    const int64_t n = (scale_count() + 255) / 256;
    LB_CHECK_FORMAT(first_non_finite(nested_scales.data(), n, DType::f32) < 0, "tensor ", name,
                    ": non-finite nested scale");
    LB_CHECK_FORMAT(std::isfinite(nested_offset), "tensor ", name, ": non-finite nested offset");
  }
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
