// SPDX-License-Identifier: MIT
// AVX-512 VNNI int8 products: vpdpbusd multiplies the weight codes as they are stored (u8, no
// repacking) by the activations (s8) and adds groups of 4 into int32 lanes; the codes' offset of
// 128 is removed once per output with the activation row's code sum. Register tiles of
// kMr activation rows x kNr weight rows share each 64-byte load across the tile.
#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics (unpack, extract) start from _mm512_undefined_* and trip
// -Wuninitialized where they are inlined; the warning points into the header, so it is
// silenced for the header's lines only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/int8_gemm.h"

// Every function from here on may use AVX-512 (the file is built with the baseline flags);
// headers above stay at the baseline ISA so their inline functions are never emitted with
// these instructions (one-definition rule).
#if defined(__clang__)
#pragma clang attribute push(                                                      \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#endif

namespace lowbit::kernels::cpu::avx512 {

namespace {

// GEMM tile: 4 x 4 = 16 accumulators + 4 weight vectors + 1 activation vector of the 32 zmm
// registers, 8 loads per 16 vpdpbusd. GEMV (m = 1) tile: 8 weight rows per activation load, so
// that many independent weight streams are in flight (the product is bound by memory there).
constexpr int kMr = 4;
constexpr int kNr = 4;
constexpr int kGemvNr = 8;

// Rows of A kept in L2 while every weight tile of the range passes over them: about 256 KiB
// of activations (half of the smallest AVX-512 L2), at least one tile. Measured on Zen 4
// (512 x 1024 x 4096): 64 KiB to 1 MiB blocks are within 3% of each other; walking k in 1-2 KiB
// chunks (int32 sums parked between chunks, so a weight tile's chunk stays in L1) and 6 x 4
// tiles were both slower (-10 to -40%), so neither is done.
constexpr int64_t kL2ActivationBytes = 256 * 1024;

// The 4 totals of 4 accumulators, lane j = sum of v[j]'s 16 lanes.
__m128i reduce4(__m512i v0, __m512i v1, __m512i v2, __m512i v3) {
  // Pairwise interleave-and-add: after two steps each 128-bit lane holds partial sums of
  // v0..v3 in order; then fold the four 128-bit lanes.
  const __m512i s01 =
      _mm512_add_epi32(_mm512_unpacklo_epi32(v0, v1), _mm512_unpackhi_epi32(v0, v1));
  const __m512i s23 =
      _mm512_add_epi32(_mm512_unpacklo_epi32(v2, v3), _mm512_unpackhi_epi32(v2, v3));
  const __m512i s =
      _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
  const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(s), _mm512_extracti64x4_epi64(s, 1));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

// The total of v's 16 lanes.
uint32_t reduce1(__m512i v) {
  const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(s));
}

// y for one output from the raw sum of a * code. The raw sum may wrap (|a * code| sums reach
// k * 127 * 255 > 2^31 at kInt8MaxK) but the true sum fits in int32, so unsigned (wrapping)
// arithmetic gives it exactly.
inline void store(uint32_t raw, int32_t a_sum, float a_scale, float w_scale, float* y) {
  const auto acc = static_cast<int32_t>(raw - 128u * static_cast<uint32_t>(a_sum));
  *y = static_cast<float>(acc) * a_scale * w_scale;
}

// Outputs of activation rows [i, i + MR) x weight rows [j, j + NR); a points at row i, w at
// row j, both with row stride k.
template <int MR, int NR>
void tile(const int8_t* a, const float* a_scales, const int32_t* a_sums, const uint8_t* w,
          const float* w_scales, int64_t k, float* y, int64_t ldy) {
  __m512i acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_si512();
  int64_t t = 0;
  for (; t + 64 <= k; t += 64) {
    __m512i wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_loadu_si512(w + j * k + t);
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_loadu_si512(a + i * k + t);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], av);
    }
  }
  if (t < k) {
    // The tail as masked loads: bytes past k read as 0 on both sides and add nothing.
    const __mmask64 mask = (uint64_t{1} << (k - t)) - 1;
    __m512i wv[NR];
    for (int j = 0; j < NR; ++j) wv[j] = _mm512_maskz_loadu_epi8(mask, w + j * k + t);
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_maskz_loadu_epi8(mask, a + i * k + t);
      for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], wv[j], av);
    }
  }
  for (int i = 0; i < MR; ++i) {
    alignas(16) uint32_t raw[NR];
    if constexpr (NR % 4 == 0) {
      for (int j = 0; j < NR; j += 4) {
        _mm_store_si128(reinterpret_cast<__m128i*>(raw + j),
                        reduce4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]));
      }
    } else {
      for (int j = 0; j < NR; ++j) raw[j] = reduce1(acc[i][j]);
    }
    for (int j = 0; j < NR; ++j)
      store(raw[j], a_sums[i], a_scales[i], w_scales[j], y + i * ldy + j);
  }
}

using TileFn = void (*)(const int8_t*, const float*, const int32_t*, const uint8_t*, const float*,
                        int64_t, float*, int64_t);

// kTiles[mr - 1][nr - 1]: the full tile and every edge tile.
const TileFn kTiles[kMr][kNr] = {
    {&tile<1, 1>, &tile<1, 2>, &tile<1, 3>, &tile<1, 4>},
    {&tile<2, 1>, &tile<2, 2>, &tile<2, 3>, &tile<2, 4>},
    {&tile<3, 1>, &tile<3, 2>, &tile<3, 3>, &tile<3, 4>},
    {&tile<4, 1>, &tile<4, 2>, &tile<4, 3>, &tile<4, 4>},
};

}  // namespace

void gemm_s8(const int8_t* a, const float* a_scales, const int32_t* a_sums, int64_t m,
             const uint8_t* w, const float* w_scales, int64_t n_begin, int64_t n_end, int64_t k,
             float* y, int64_t ldy) {
  if (m == 1) {
    int64_t j = n_begin;
    for (; j + kGemvNr <= n_end; j += kGemvNr)
      tile<1, kGemvNr>(a, a_scales, a_sums, w + j * k, w_scales + j, k, y + j, ldy);
    for (; j < n_end; j += kNr) {
      const int64_t nr = std::min<int64_t>(kNr, n_end - j);
      kTiles[0][nr - 1](a, a_scales, a_sums, w + j * k, w_scales + j, k, y + j, ldy);
    }
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
        kTiles[mr - 1][nr - 1](a + i * k, a_scales + i, a_sums + i, w + j * k, w_scales + j, k,
                               y + i * ldy + j, ldy);
      }
    }
  }
}

}  // namespace lowbit::kernels::cpu::avx512

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
