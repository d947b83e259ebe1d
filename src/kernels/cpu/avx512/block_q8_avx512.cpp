// SPDX-License-Identifier: MIT
// AVX-512 VNNI block-int8 products (block_q8.h): 256-bit vpdpbusd multiplies the weight codes
// as stored (u8) by the activations (s8) and adds groups of 4 into int32 lanes, no saturation;
// the codes' offset is removed once per block and 8 rows with the block's code sum.
#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics trip -Wuninitialized inside the header (see int8_gemm_avx512.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/block_q8.h"

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

constexpr int32_t kLanes8Offset = 0;

__m256i lanes4(const uint8_t* w16, __m256i q) {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w16));
  const __m256i codes =
      _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(bytes, 4), bytes), _mm256_set1_epi8(0x0F));
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), codes, q);
}

__m256i lanes8(const uint8_t* w32, __m256i q) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(),
                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w32)), q);
}

#include "kernels/cpu/block_q8_tile.h"

}  // namespace

void dot_rows_q8(const WeightView& w, const Q8Rows& a, int64_t row_begin, int64_t row_end, float* y,
                 int64_t ldy) {
  dot_rows_tiled(w, a, row_begin, row_end, y, ldy);
}

}  // namespace lowbit::kernels::cpu::avx512

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
