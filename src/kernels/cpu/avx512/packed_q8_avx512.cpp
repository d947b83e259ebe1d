// SPDX-License-Identifier: MIT
// AVX-512 VNNI packed block-int8 products (packed_q8.h): 256-bit vpdpbusd multiplies 4 codes of
// each of 8 rows (u8) by 4 broadcast activations (s8) into int32 lane per row, no saturation;
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

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels/cpu/block_q8.h"
#include "kernels/cpu/packed_q8.h"

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
// 32 ymm registers: 8 weight vectors, then accumulators for 4 activation rows.
constexpr int kMaxRows = 4;
// vpdpbusd never saturates, so high nibbles are multiplied in place (16 x code) and the sums
// divided by 16 afterwards: one shift per block instead of one per chunk.
constexpr bool kHighNibbleInPlace = true;

__m256i chunk4(__m256i acc, __m256i codes, __m256i q) { return _mm256_dpbusd_epi32(acc, codes, q); }
__m256i chunk8(__m256i acc, __m256i codes, __m256i q) { return _mm256_dpbusd_epi32(acc, codes, q); }

#include "kernels/cpu/packed_q8_tile.h"

}  // namespace

void packed_dot_q8(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin, int64_t tile_end,
                   float* y, int64_t ldy) {
  packed_dot(p, a, tile_begin, tile_end, y, ldy);
}

}  // namespace lowbit::kernels::cpu::avx512

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif  // __x86_64__
