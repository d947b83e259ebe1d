// SPDX-License-Identifier: MIT
// Row decoders of the KV-cache formats (layouts in kernels/kv_format.h): stored codes of one
// row segment to f32, one table per Isa. The AVX2 decoders return exactly the reference's
// values (every conversion is exact and the arithmetic is the same multiply and add, unfused),
// so a cache reads the same at any Isa. They trust their inputs and never throw.
#pragma once

#include <cstdint>

#include "kernels/exec_context.h"

namespace lowbit::kernels::cpu {

struct KvRowDecoders {
  void (*f16)(const uint16_t* in, int64_t n, float* out);
  void (*bf16)(const uint16_t* in, int64_t n, float* out);
  // out[i] = e4m3(in[i]) * scale (NaN codes stay NaN).
  void (*e4m3)(const uint8_t* in, int64_t n, float scale, float* out);
  void (*e5m2)(const uint8_t* in, int64_t n, float* out);
  // out[i] = float(in[i]) * scale.
  void (*int8)(const int8_t* in, int64_t n, float scale, float* out);
  // Two 4-bit codes per byte, the even index in the low nibble; n even.
  // One (scale, min) for the whole segment: out[i] = min + code_i * scale.
  void (*int4_group)(const uint8_t* packed, int64_t n, float scale, float min, float* out);
  // One (scale, min) per element: out[i] = min[i] + code_i * scale[i].
  void (*int4_channels)(const uint8_t* packed, int64_t n, const float* scale, const float* min,
                        float* out);
};

// The table for `isa`.
const KvRowDecoders& kv_row_decoders(Isa isa);

namespace ref {
const KvRowDecoders& kv_row_decoders();
}  // namespace ref

namespace avx2 {
const KvRowDecoders& kv_row_decoders();
}  // namespace avx2

}  // namespace lowbit::kernels::cpu
