// SPDX-License-Identifier: MIT
// QuantizedTensor: the logical stored form of one weight (dense or quantized) that quantizers
// produce, checkpoints store and kernels consume. Layouts are documented in quant_format.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tensor/activation_quant.h"
#include "tensor/buffer.h"
#include "tensor/quant_format.h"
#include "tensor/shape.h"

namespace lowbit {

struct QuantizedTensor {
  QuantFormat format;
  Shape shape;                 // logical shape; 2-D [rows, cols] for weights, 1-D [n] for norms
  Buffer codes;                // [rows, row_bytes()] packed codes or dense elements
  Buffer scales;               // [scale_count()] in format.scale_dtype (u8 codes when double_quant)
  Buffer zeros;                // [scale_count()] f16, asymmetric affine_int only
  Buffer nested_scales;        // nf4 double quant: f32 [ceil(scale_count() / 256)]
  float nested_offset = 0.0f;  // nf4 double quant: mean of the absmax values
  ActivationQuant act;         // how a linear quantizes its input before this weight (W8A8)
  // Derived data a kernel built from the buffers above (e.g. codes repacked for SIMD,
  // kernels/cpu/packed_q8.h), shared by copies of this tensor; never saved. The kernel that
  // owns it rebuilds it when the buffers are not the ones it was built from.
  mutable std::shared_ptr<const void> kernel_layout;

  // A 1-D tensor is one row.
  int64_t rows() const { return shape.size() >= 2 ? lowbit::numel(shape) / shape.back() : 1; }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  int64_t numel() const { return lowbit::numel(shape); }
  int64_t groups_per_row() const { return lowbit::groups_per_row(format, cols()); }
  size_t row_bytes() const { return lowbit::row_bytes(format, cols()); }
  int64_t scale_count() const { return lowbit::scale_count(format, rows(), cols()); }
  size_t storage_bytes() const { return lowbit::storage_bytes(format, rows(), cols()); }
  // The byte size each buffer must have (throws InvalidArgument for an invalid format).
  BufferSizes buffer_sizes() const { return lowbit::buffer_sizes(format, rows(), cols()); }
  double bits_per_weight() const { return lowbit::bits_per_weight(format, rows(), cols()); }

  // Throws FormatError naming `name` when buffer sizes do not match format and shape.
  void validate(const std::string& name) const;
  // Throws FormatError naming `name` and the position when a stored value (dense element,
  // fp8 code, scale, zero-point) is NaN or infinite. One pass over the bytes.
  void check_finite(const std::string& name) const;
  // Drops the resident pages of buffers borrowed from a mapped file (Buffer::release_pages).
  void release_pages() const {
    for (const Buffer* b : {&codes, &scales, &zeros, &nested_scales}) b->release_pages();
  }

  // A dense f32 tensor that owns a copy of `data`.
  static QuantizedTensor from_f32(const float* data, Shape shape);
  // A dense tensor of `kind` (f32/f16/bf16) borrowing `codes`.
  static QuantizedTensor dense(QuantKind kind, Shape shape, Buffer codes);
};

}  // namespace lowbit
