// SPDX-License-Identifier: MIT
// ScaleReader: the one decoder of a tensor's stored scale entries (f16, f32, nf4
// double-quantized u8 codes through the nested scales, or ggml k-quant super-block bytes, which
// also hold the k-quant mins). The reference dequantizer, the
// kernels' WeightView and the AVX2 row parameters all read scales through it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/quantized_tensor.h"

namespace lowbit {

// The nf4 double-quant absmax: offset + nested_scale * (code - 128). Out of line on purpose:
// one compiled instance, so quantizer and decoder agree bit for bit (no FMA contraction
// differences between call sites).
float nf4_nested_absmax(float nested_offset, float nested_scale, uint8_t code);

struct ScaleReader {
  ScaleEncoding encoding = ScaleEncoding::none;
  const uint8_t* scales = nullptr;
  const uint8_t* nested_scales = nullptr;  // f32, one per 256 codes (nested_u8 only)
  float nested_offset = 0.0f;
  int k_bits = 0;  // k_super: the k-quant's code bits (4, 5, 6)

  // Reads the buffers of `w`; the caller has checked their sizes (buffer_sizes).
  static ScaleReader of(const QuantizedTensor& w);

  // Scale entry i as f32; 1 when the format has no scales.
  float at(int64_t i) const;
  // Entries [first, first + n) into out.
  void read(int64_t first, int64_t n, float* out) const;
  // The additive min of entry i: -(dmin * m_j) for Q4_K / Q5_K (k_super, min form), else 0.
  float min_at(int64_t i) const;
  // The stored bytes of entry i (f16 / f32 encodings), for vectorized converters.
  const uint8_t* entry(int64_t i) const {
    return scales + static_cast<size_t>(i) * (encoding == ScaleEncoding::f16 ? 2 : 4);
  }
};

}  // namespace lowbit
