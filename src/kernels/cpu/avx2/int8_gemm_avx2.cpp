// SPDX-License-Identifier: MIT
// AVX2 int8 products. vpmaddubsw multiplies unsigned by signed bytes, so the weight codes are
// made signed (code ^ 0x80 = code - 128) and the sign moved onto the activations:
// maddubs(|w|, sign(a, w)) = pairs of a * w, each pair |sum| <= 2 * 128 * 127 < 2^15, so the
// saturating 16-bit sums never saturate; vpmaddwd with ones widens them to int32. Register tiles
// of kMr activation rows x kNr weight rows share each 32-byte load across the tile.
#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/avx2/s8_codes_avx2.h"
#include "kernels/cpu/int8_gemm.h"

// Every function from here on may use AVX2 (the file is built with the baseline flags);
// headers above stay at the baseline ISA so their inline functions are never emitted with
// these instructions (one-definition rule).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace lowbit::kernels::cpu::avx2 {

namespace {

// GEMM tile: 4 x 2 = 8 accumulators + 2 x 2 weight vectors (signed and absolute) + the
// activation and its product: the 16 ymm registers. GEMV (m = 1) tile: 4 weight rows per
// activation load, for independent weight streams (the product is bound by memory there).
constexpr int kMr = 4;
constexpr int kNr = 2;
constexpr int kGemvNr = 4;

// Rows of A kept in L2 while every weight tile of the range passes over them (256 KiB).
constexpr int64_t kL2ActivationBytes = 256 * 1024;

// The 4 totals of 4 accumulators, lane j = sum of v[j]'s 8 lanes.
__m128i reduce4(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
  // Interleave-and-add twice: each 128-bit lane then holds partial sums of v0..v3 in order.
  const __m256i s01 =
      _mm256_add_epi32(_mm256_unpacklo_epi32(v0, v1), _mm256_unpackhi_epi32(v0, v1));
  const __m256i s23 =
      _mm256_add_epi32(_mm256_unpacklo_epi32(v2, v3), _mm256_unpackhi_epi32(v2, v3));
  const __m256i s =
      _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

// Outputs of activation rows [i, i + MR) x weight rows [j, j + NR); a points at row i, w at
// row j, both with row stride k.
template <int MR, int NR>
void tile(const int8_t* a, const float* a_scales, const uint8_t* w, const float* w_scales,
          int64_t k, float* y, int64_t ldy) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i acc[MR * NR];
  for (int r = 0; r < MR * NR; ++r) acc[r] = _mm256_setzero_si256();
  const int64_t kv = k / 32 * 32;
  for (int64_t t = 0; t < kv; t += 32) {
    __m256i ws[NR], wa[NR];
    for (int j = 0; j < NR; ++j) {
      ws[j] = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + j * k + t)),
                               flip);
      wa[j] = _mm256_abs_epi8(ws[j]);  // |-128| reads as 128 unsigned
    }
    for (int i = 0; i < MR; ++i) {
      const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i * k + t));
      for (int j = 0; j < NR; ++j) {
        const __m256i p = _mm256_maddubs_epi16(wa[j], _mm256_sign_epi8(av, ws[j]));
        acc[i * NR + j] = _mm256_add_epi32(acc[i * NR + j], _mm256_madd_epi16(p, ones));
      }
    }
  }
  int32_t sums[MR * NR];
  int r = 0;
  for (; r + 4 <= MR * NR; r += 4) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(sums + r),
                     reduce4(acc[r], acc[r + 1], acc[r + 2], acc[r + 3]));
  }
  for (; r < MR * NR; ++r) sums[r] = reduce1(acc[r]);
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      // The tail shorter than one vector, exact in int32 like the rest.
      int32_t s = sums[i * NR + j];
      for (int64_t t = kv; t < k; ++t) s += int32_t{a[i * k + t]} * (int32_t{w[j * k + t]} - 128);
      y[i * ldy + j] = static_cast<float>(s) * a_scales[i] * w_scales[j];
    }
  }
}

using TileFn = void (*)(const int8_t*, const float*, const uint8_t*, const float*, int64_t, float*,
                        int64_t);

// kTiles[mr - 1][nr - 1]: the full tile and every edge tile.
const TileFn kTiles[kMr][kNr] = {
    {&tile<1, 1>, &tile<1, 2>},
    {&tile<2, 1>, &tile<2, 2>},
    {&tile<3, 1>, &tile<3, 2>},
    {&tile<4, 1>, &tile<4, 2>},
};

}  // namespace

// The reference's arithmetic lane by lane: max |x| (exact in any order), the same f32 x * inv,
// rounding in the current mode as nearbyint does, the same clamp; codes and sums are exact.
void quantize_rows_s8(const float* x, int64_t m, int64_t k, float static_scale, int8_t* q,
                      float* scales, int32_t* row_sums) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  // packs works within 128-bit lanes; this puts the 32 bytes back in order.
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  const int64_t k32 = k / 32 * 32, k8 = k / 8 * 8;
  for (int64_t i = 0; i < m; ++i) {
    const float* row = x + i * k;
    int8_t* out = q + i * k;
    float scale = static_scale;
    if (!(scale > 0.0f)) {
      __m256 vmax = _mm256_setzero_ps();
      for (int64_t t = 0; t < k8; t += 8)
        vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(row + t), abs_mask));
      __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
      m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
      m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
      float amax = _mm_cvtss_f32(m4);
      for (int64_t t = k8; t < k; ++t) amax = std::max(amax, std::fabs(row[t]));
      scale = amax / 127.0f;
    }
    const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
    const __m256 vinv = _mm256_set1_ps(inv);
    __m256i vsum = _mm256_setzero_si256();
    for (int64_t t = 0; t < k32; t += 32) {
      const __m256i c0 = codes8(row + t, vinv), c1 = codes8(row + t + 8, vinv),
                    c2 = codes8(row + t + 16, vinv), c3 = codes8(row + t + 24, vinv);
      vsum = _mm256_add_epi32(vsum,
                              _mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)));
      const __m256i bytes =
          _mm256_packs_epi16(_mm256_packs_epi32(c0, c1), _mm256_packs_epi32(c2, c3));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + t),
                          _mm256_permutevar8x32_epi32(bytes, order));
    }
    int32_t sum = reduce1(vsum);
    for (int64_t t = k32; t < k; ++t) {
      const float v = std::clamp(std::nearbyint(row[t] * inv), -127.0f, 127.0f);
      out[t] = static_cast<int8_t>(v);
      sum += static_cast<int32_t>(v);
    }
    scales[i] = scale;
    row_sums[i] = sum;
  }
}

void gemm_s8(const int8_t* a, const float* a_scales, const int32_t* /*a_sums*/, int64_t m,
             const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
             float* y, int64_t ldy) {
  if (m == 1) {
    int64_t j = n_begin;
    for (; j + kGemvNr <= n_end; j += kGemvNr)
      tile<1, kGemvNr>(a, a_scales, w + j * k, w_scales + j, k, y + j, ldy);
    for (; j < n_end; ++j) tile<1, 1>(a, a_scales, w + j * k, w_scales + j, k, y + j, ldy);
    return;
  }
  // Blocks of activation rows that stay in L2; within one, each weight tile stays in L1 while
  // the block's activation tiles pass over it.
  const int64_t block =
      std::max<int64_t>(kMr, kL2ActivationBytes / std::max<int64_t>(k, 1) / kMr * kMr);
  for (int64_t i0 = 0; i0 < m; i0 += block) {
    const int64_t i1 = std::min(m, i0 + block);
    for (int64_t j = n_begin; j < n_end; j += kNr) {
      const int64_t nr = std::min<int64_t>(kNr, n_end - j);
      for (int64_t i = i0; i < i1; i += kMr) {
        const int64_t mr = std::min<int64_t>(kMr, i1 - i);
        kTiles[mr - 1][nr - 1](a + i * k, a_scales + i, w + j * k, w_scales + j, k, y + i * ldy + j,
                               ldy);
      }
    }
  }
}

}  // namespace lowbit::kernels::cpu::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
