// SPDX-License-Identifier: MIT
// The scalar reference decoder: it defines the value of every stored format (layouts in
// tensor/quant_format.h); optimized kernels are tested against it.
#pragma once

#include <cstdint>
#include <vector>

#include "numerics/rotation.h"
#include "tensor/quantized_tensor.h"
#include "tensor/scale_reader.h"

namespace lowbit {

// Index into `scales` (and `zeros`) of element (row, col) of a [rows, cols] tensor: 0 for
// per-tensor, row for per-channel, row * groups_per_row + col / group_size for groups.
inline int64_t scale_index(const QuantFormat& format, int64_t cols, int64_t row, int64_t col) {
  if (format.group_size == kPerTensor) return 0;
  if (format.group_size == kPerChannel) return row;
  return row * groups_per_row(format, cols) + col / format.group_size;
}

// Scale of group `scale_index` as f32: the f16/f32 stored scale (affine_int), the block
// absmax (nf4, decoded through the nested scales with double quant), or the fp8 scale.
float scale_at(const QuantizedTensor& w, int64_t scale_index);
// Zero-point of group `scale_index`: the stored f16 zero (asymmetric affine_int), 2^(bits-1)
// (symmetric affine_int), 0 for every other kind; in the min form the group's additive min
// (the stored f16 min, or a k-quant's -dmin * m).
float zero_at(const QuantizedTensor& w, int64_t scale_index);

// Decodes rows [row_begin, row_end) into out[(row_end - row_begin) * cols], row-major.
// affine_int: scale * (q - zero); nf4: absmax * kNf4Codebook[q]; fp8: scale * fp8(q); dense
// formats convert; trellis: each row decoded in the rotated space, then un-rotated. Throws
// InvalidArgument on a bad row range, FormatError on buffers that do not match the format and
// shape.
void dequantize_rows_reference(const QuantizedTensor& w, int64_t row_begin, int64_t row_end,
                               float* out);

// The input rotation of every trellis tensor `cols` wide (built once per width, thread-safe).
const InputRotation& trellis_rotation(int64_t cols);

// The whole tensor, decoded (numel() floats).
std::vector<float> dequantize_reference(const QuantizedTensor& w);

}  // namespace lowbit
