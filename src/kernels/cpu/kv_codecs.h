// SPDX-License-Identifier: MIT
// Scalar codecs of the KV-cache formats: table decoders for 16- and 8-bit floats and the
// asymmetric 4-bit quantizer shared by the int4 layouts (kv_format.h).
#pragma once

#include <cstdint>

namespace lowbit::kernels::cpu {

// f16 bits -> f32 through a 65,536-entry table (the codec in numerics/half.h, tabulated).
const float* f16_table();
// fp8 code -> f32, 256 entries each (numerics/fp8.h, tabulated).
const float* e4m3_table();
const float* e5m2_table();

// Quantizes n values x[i * step] to codes[i] in 0..15 with x ~ min + code * scale, and stores
// the (scale, min) pair as f16 in pair[0], pair[1]. The codes are computed from the f16-rounded
// pair, so they are the best codes for what is stored.
void quantize_int4(const float* x, int64_t n, int64_t step, uint8_t* codes, uint16_t* pair);

// Packs two codes per byte, the even index in the low nibble.
inline void pack_nibbles(const uint8_t* codes, int64_t n, uint8_t* out) {
  for (int64_t i = 0; i + 1 < n; i += 2)
    out[i / 2] = static_cast<uint8_t>(codes[i] | (codes[i + 1] << 4));
}

}  // namespace lowbit::kernels::cpu
