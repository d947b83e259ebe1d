// SPDX-License-Identifier: MIT
// ggml's k-quant super-blocks (Q4_K, Q5_K, Q6_K) as lowbit formats: affine_int with k_quant set
// (quant_format.h). Rows are whole super-blocks of 256; the codes are lowbit's usual dense bit
// stream; the scales buffer holds, per super-block in row order, ggml's own scale bytes:
//   Q4_K / Q5_K (bits 4 / 5, sub-blocks of 32, min form), 16 bytes:
//     [d f16][dmin f16][scales[12]]: sub-block j (0..7) has a 6-bit scale sc_j and 6-bit min m_j,
//     j < 4: sc_j = scales[j] & 63, m_j = scales[j + 4] & 63;
//     j >= 4: sc_j = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4,
//             m_j = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4.
//     Sub-block scale = d * sc_j, min = -(dmin * m_j) (both exact in f32), so
//     w = (d * sc_j) * q - dmin * m_j: the min form's w = scale * q + min, rounded the same way.
//   Q6_K (bits 6, sub-blocks of 16, symmetric, zero 32), 18 bytes:
//     [scales[16] int8][d f16]: sub-block scale = d * scales[j] (exact), w = scale * (q - 32).
#pragma once

#include <cstdint>

namespace lowbit {

inline constexpr int64_t kKSuper = 256;  // elements per super-block

// Scale bytes per super-block for a k-quant of `bits` (4, 5 or 6).
constexpr int64_t k_super_bytes(int bits) { return bits == 6 ? 18 : 16; }
// Sub-blocks (scale entries) per super-block.
constexpr int64_t k_sub_blocks(int bits) { return bits == 6 ? 16 : 8; }

// Q4_K / Q5_K: the 6-bit scale and min of sub-block j from the 12 packed bytes.
inline void k_scale_min(const uint8_t* s, int j, unsigned& sc, unsigned& m) {
  if (j < 4) {
    sc = s[j] & 63u;
    m = s[j + 4] & 63u;
  } else {
    sc = (s[j + 4] & 15u) | (s[j - 4] >> 6) << 4;
    m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
  }
}

// The inverse: packs eight 6-bit scales and mins into 12 bytes.
inline void k_pack_scale_min(const uint8_t* sc, const uint8_t* m, uint8_t* s) {
  for (int j = 0; j < 12; ++j) s[j] = 0;
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = static_cast<uint8_t>(sc[j] & 63u);
      s[j + 4] = static_cast<uint8_t>(m[j] & 63u);
    } else {
      s[j + 4] = static_cast<uint8_t>((sc[j] & 15u) | (m[j] & 15u) << 4);
      s[j - 4] = static_cast<uint8_t>(s[j - 4] | (sc[j] >> 4) << 6);
      s[j] = static_cast<uint8_t>(s[j] | (m[j] >> 4) << 6);
    }
  }
}

}  // namespace lowbit
