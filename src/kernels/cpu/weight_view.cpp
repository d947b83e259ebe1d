// SPDX-License-Identifier: MIT
// WeightView construction and per-group scale and zero-point lookup.
#include "kernels/cpu/weight_view.h"

#include <cstring>

#include "numerics/half.h"
#include "tensor/dequantize.h"

namespace lowbit::kernels::cpu {

namespace {

int64_t entry_index(const WeightView& w, int64_t r, int64_t g) {
  return w.per_tensor ? 0 : r * w.groups + g;
}

}  // namespace

float WeightView::scale(int64_t r, int64_t g) const {
  if (scales == nullptr) return 1.0f;
  const int64_t i = entry_index(*this, r, g);
  if (double_quant) {
    float nested;
    std::memcpy(&nested, nested_scales + (i / 256) * 4, sizeof nested);
    return nf4_nested_absmax(nested_offset, nested, scales[i]);
  }
  if (f16_scales) {
    uint16_t half;
    std::memcpy(&half, scales + 2 * i, sizeof half);
    return f16_to_f32(half);
  }
  float value;
  std::memcpy(&value, scales + 4 * i, sizeof value);
  return value;
}

float WeightView::zero(int64_t r, int64_t g) const {
  if (kind != QuantKind::affine_int) return 0.0f;
  if (zeros == nullptr) return static_cast<float>(1 << (bits - 1));
  uint16_t bits_f16;
  std::memcpy(&bits_f16, zeros + entry_index(*this, r, g), sizeof bits_f16);
  return f16_to_f32(bits_f16);
}

WeightView make_weight_view(const QuantizedTensor& w) {
  WeightView v;
  const QuantFormat& f = w.format;
  v.kind = f.kind;
  v.bits = f.bits;
  v.symmetric = f.symmetric;
  v.rows = w.rows();
  v.cols = w.cols();
  v.row_bytes = w.row_bytes();
  v.codes = w.codes.data();
  if (f.is_dense()) {
    v.group_len = v.cols;
    return v;
  }
  v.per_tensor = f.group_size == kPerTensor;
  v.groups = w.groups_per_row();
  v.group_len = f.group_size > 0 && f.group_size < v.cols ? f.group_size : v.cols;
  v.double_quant = f.kind == QuantKind::nf4 && f.double_quant;
  v.f16_scales = !v.double_quant && f.scale_dtype == DType::f16;
  v.scales = w.scales.data();
  if (f.has_zeros()) v.zeros = w.zeros.as<uint16_t>();
  if (v.double_quant) {
    v.nested_scales = w.nested_scales.data();
    v.nested_offset = w.nested_offset;
  }
  return v;
}

}  // namespace lowbit::kernels::cpu
