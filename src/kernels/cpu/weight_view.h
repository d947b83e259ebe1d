// SPDX-License-Identifier: MIT
// WeightView: a QuantizedTensor resolved once per call into raw pointers and sizes, the only
// form the per-format row kernels below dispatch see (they trust it; see kernels.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/quantized_tensor.h"
#include "tensor/scale_reader.h"

namespace lowbit::kernels::cpu {

struct WeightView {
  QuantKind kind = QuantKind::f32;
  int bits = 32;
  bool symmetric = true;
  bool min_offset = false;  // `zeros` holds an additive min: w = scale * q + min
  bool per_tensor = false;  // one scale (and zero) for the whole tensor
  int64_t rows = 0;         // N (output features)
  int64_t cols = 0;         // K (input features)
  int64_t group_len = 0;    // elements per group; cols for per-channel and per-tensor
  int64_t groups = 1;       // groups per row; the last one holds cols - (groups-1)*group_len
  size_t row_bytes = 0;
  const uint8_t* codes = nullptr;   // [rows, row_bytes]
  ScaleReader scales;               // [rows, groups] (per-tensor: [1]) scale entries
  const uint16_t* zeros = nullptr;  // [rows, groups] f16 zero-points (or mins), asymmetric only

  bool is_dense() const {
    return kind == QuantKind::f32 || kind == QuantKind::f16 || kind == QuantKind::bf16;
  }
  const uint8_t* row(int64_t r) const { return codes + static_cast<size_t>(r) * row_bytes; }
  // Elements of group g (only the last group of a row can be short).
  int64_t group_size(int64_t g) const {
    const int64_t begin = g * group_len;
    return cols - begin < group_len ? cols - begin : group_len;
  }
  // Index of the scale (and zero) entry of group g of row r.
  int64_t entry_index(int64_t r, int64_t g) const { return per_tensor ? 0 : r * groups + g; }
  // Multiplier of group g of row r; 1 for dense formats.
  float scale(int64_t r, int64_t g) const { return scales.at(entry_index(r, g)); }
  // What is subtracted from a code before scaling (affine only): the stored zero-point,
  // 2^(bits-1) when symmetric, 0 in the min form.
  float zero(int64_t r, int64_t g) const;
  // What is added after scaling: the stored min in the min form, else 0.
  float min(int64_t r, int64_t g) const;
};

// Resolves `w`; the caller has checked the buffer sizes (kernels.cpp check_weight).
WeightView make_weight_view(const QuantizedTensor& w);

}  // namespace lowbit::kernels::cpu
