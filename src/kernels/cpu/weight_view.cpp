// SPDX-License-Identifier: MIT
// WeightView construction and per-group zero-point / min lookup.
#include "kernels/cpu/weight_view.h"

#include <cstring>

#include "numerics/half.h"

namespace lowbit::kernels::cpu {

namespace {
float f16_entry(const uint16_t* entries, int64_t index) {
  uint16_t bits_f16;
  std::memcpy(&bits_f16, entries + index, sizeof bits_f16);
  return f16_to_f32(bits_f16);
}
}  // namespace

float WeightView::zero(int64_t r, int64_t g) const {
  if (kind != QuantKind::affine_int || min_offset) return 0.0f;
  if (zeros == nullptr) return static_cast<float>(1 << (bits - 1));
  return f16_entry(zeros, entry_index(r, g));
}

float WeightView::min(int64_t r, int64_t g) const {
  if (!min_offset) return 0.0f;
  // k-quants keep their mins in the super-block scale bytes.
  return zeros != nullptr ? f16_entry(zeros, entry_index(r, g)) : scales.min_at(entry_index(r, g));
}

WeightView make_weight_view(const QuantizedTensor& w) {
  WeightView v;
  const QuantFormat& f = w.format;
  v.kind = f.kind;
  v.bits = f.bits;
  v.symmetric = f.symmetric;
  v.min_offset = f.min_offset;
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
  v.scales = ScaleReader::of(w);
  if (f.has_zeros()) v.zeros = w.zeros.as<uint16_t>();
  return v;
}

}  // namespace lowbit::kernels::cpu
