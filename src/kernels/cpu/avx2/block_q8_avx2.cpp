// SPDX-License-Identifier: MIT
// AVX2 block quantizer (block_q8.h) and packed block-int8 products (packed_q8.h). vpmaddubsw
// multiplies unsigned by signed bytes with saturating 16-bit pair sums: 4-bit codes (<= 15) go
// in as they are (pairs <= 2 * 15 * 127); 8-bit codes are made signed (code ^ 0x80) and their
// sign moved onto the activations, maddubs(|c|, sign(q, c)), pairs <= 2 * 128 * 127 < 2^15.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/cpu/avx2/s8_codes_avx2.h"
#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/packed_q8.h"

// Every function from here on may use AVX2/FMA/F16C (the file is built with the baseline
// flags); headers above stay at the baseline ISA so their inline functions are never emitted
// with these instructions (one-definition rule).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace lowbit::kernels::cpu::avx2 {

namespace {

constexpr int32_t kLanes8Offset = 128;
// 16 ymm registers: 8 weight vectors, then accumulators for 2 activation rows.
constexpr int kMaxRows = 2;
// maddubs pair sums saturate at 2^15: 240 x 127 x 2 would, so high nibbles are shifted down.
constexpr bool kHighNibbleInPlace = false;

__m256i chunk4(__m256i acc, __m256i codes, __m256i q) {
  return _mm256_add_epi32(acc,
                          _mm256_madd_epi16(_mm256_maddubs_epi16(codes, q), _mm256_set1_epi16(1)));
}

__m256i chunk8(__m256i acc, __m256i codes, __m256i q) {
  const __m256i c = _mm256_xor_si256(codes, _mm256_set1_epi8(static_cast<char>(0x80)));
  const __m256i p = _mm256_maddubs_epi16(_mm256_abs_epi8(c), _mm256_sign_epi8(q, c));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

#include "kernels/cpu/packed_q8_tile.h"

}  // namespace

// The reference's arithmetic lane by lane: max |x| (exact in any order), the same f32
// amax / 127, 1 / d and x * inv, the same rounding and clamp; codes and sums are exact.
void quantize_blocks_q8(const float* x, int64_t m, int64_t k, bool nibble_order, int8_t* q,
                        float* d, int32_t* sums) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  // packs works within 128-bit lanes; this puts the 32 bytes back in element order.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  // Nibble order: even bytes then odd ones within each 128-bit lane, then the lanes' halves
  // regrouped (qwords 0, 2, 1, 3) so all 16 even elements come first.
  const __m256i split = _mm256_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15, 0, 2,
                                         4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  const int64_t blocks = k / kQ8Block;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t b = 0; b < blocks; ++b) {
      const float* src = x + i * k + b * kQ8Block;
      __m256 vmax = _mm256_and_ps(_mm256_loadu_ps(src), abs_mask);
      // Lanes not below infinity (inf, or NaN: unordered) mark a non-finite block.
      __m256 bad = _mm256_cmp_ps(vmax, inf, _CMP_NLT_UQ);
      for (int t = 8; t < kQ8Block; t += 8) {
        const __m256 v = _mm256_and_ps(_mm256_loadu_ps(src + t), abs_mask);
        bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, inf, _CMP_NLT_UQ));
        vmax = _mm256_max_ps(vmax, v);
      }
      if (_mm256_movemask_ps(bad) != 0) {  // as the reference: NaN scale, zero codes
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i * k + b * kQ8Block),
                            _mm256_setzero_si256());
        d[i * blocks + b] = std::numeric_limits<float>::quiet_NaN();
        sums[i * blocks + b] = 0;
        continue;
      }
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
      const float scale = _mm_cvtss_f32(m4) / 127.0f;
      const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
      const __m256 vinv = _mm256_set1_ps(inv);
      const __m256i c0 = codes8(src, vinv), c1 = codes8(src + 8, vinv), c2 = codes8(src + 16, vinv),
                    c3 = codes8(src + 24, vinv);
      __m256i bytes = _mm256_permutevar8x32_epi32(
          _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3)), order);
      if (nibble_order) bytes = _mm256_permute4x64_epi64(_mm256_shuffle_epi8(bytes, split), 0xD8);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i * k + b * kQ8Block), bytes);
      const __m256i s = _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3));
      d[i * blocks + b] = scale;
      sums[i * blocks + b] = reduce1(s);
    }
}

void packed_dot_q8(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin, int64_t tile_end,
                   float* y, int64_t ldy) {
  packed_dot(p, a, tile_begin, tile_end, y, ldy);
}

}  // namespace lowbit::kernels::cpu::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
