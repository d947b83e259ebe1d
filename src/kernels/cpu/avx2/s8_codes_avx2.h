// SPDX-License-Identifier: MIT
// AVX2 pieces shared by the two int8 activation quantizers (int8_gemm_avx2.cpp per row,
// block_q8_avx2.cpp per block of 32): the rounding of 8 values to int8 codes and the exact sum
// of 8 int32 lanes. Everything is in an anonymous namespace and built for AVX2 only, so these
// definitions never meet a baseline copy (one-definition rule).
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace lowbit::kernels::cpu::avx2 {

namespace {

// 8 codes: clamp(nearbyint(x * inv), -127, 127) as int32 lanes (rounding in the current mode
// without raising inexact, as nearbyint).
inline __m256i codes8(const float* x, __m256 inv) {
  const __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), inv),
                                   _MM_FROUND_CUR_DIRECTION | _MM_FROUND_NO_EXC);
  return _mm256_cvtps_epi32(
      _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f)));
}

// The sum of v's 8 lanes (exact in int32).
inline int32_t reduce1(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

}  // namespace

}  // namespace lowbit::kernels::cpu::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
