// SPDX-License-Identifier: MIT
// AVX2 + F16C KV-cache row decoders, 8 elements per step, each exactly equal to the scalar
// reference (ref/kv_rows_ref.cpp): conversions are exact and products and sums are rounded
// separately as there (no FMA), so a cache reads the same at any Isa.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "kernels/cpu/kv_rows.h"

// Every function from here on may use AVX2/F16C (the file is built with the baseline flags);
// the header above stays at the baseline ISA (one-definition rule).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,f16c")
#endif

namespace lowbit::kernels::cpu::avx2 {

namespace {

const KvRowDecoders& scalar() { return ref::kv_row_decoders(); }

void f16(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  if (i < n) scalar().f16(in + i, n - i, out + i);
}

void bf16(const uint16_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i wide =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16)));
  }
  if (i < n) scalar().bf16(in + i, n - i, out + i);
}

// Eight e4m3 codes as f16 bits worth 1/256 of their value: S.EEEE.MMM moves to S.0EEEE.MMM0000000,
// which keeps the exponent bias gap (15 - 7 = 8) for normals and subnormals alike; NaN
// (S.1111.111) gets an all-ones f16 exponent so it stays NaN.
__m128i e4m3_as_f16_bits(const uint8_t* in) {
  const __m128i codes = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in)));
  const __m128i magnitude = _mm_and_si128(codes, _mm_set1_epi16(0x7F));
  const __m128i sign = _mm_slli_epi16(_mm_and_si128(codes, _mm_set1_epi16(0x80)), 8);
  const __m128i nan =
      _mm_and_si128(_mm_cmpeq_epi16(magnitude, _mm_set1_epi16(0x7F)), _mm_set1_epi16(0x7C00));
  return _mm_or_si128(_mm_or_si128(sign, _mm_slli_epi16(magnitude, 7)), nan);
}

void e4m3(const uint8_t* in, int64_t n, float scale, float* out) {
  const __m256 two8 = _mm256_set1_ps(256.0f), s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    // * 256 is exact, so the product with scale rounds once, as the table's does.
    const __m256 v = _mm256_mul_ps(_mm256_cvtph_ps(e4m3_as_f16_bits(in + i)), two8);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(v, s));
  }
  if (i < n) scalar().e4m3(in + i, n - i, scale, out + i);
}

// e5m2 is the high byte of an f16.
void e5m2(const uint8_t* in, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i codes =
        _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_slli_epi16(codes, 8)));
  }
  if (i < n) scalar().e5m2(in + i, n - i, out + i);
}

void int8(const int8_t* in, int64_t n, float scale, float* out) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i wide =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(wide), s));
  }
  if (i < n) scalar().int8(in + i, n - i, scale, out + i);
}

// Eight 4-bit codes from four bytes, in element order (low nibble first).
__m256 nibbles8(const uint8_t* packed) {
  uint32_t word;
  std::memcpy(&word, packed, sizeof word);
  const __m256i shifts = _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28);
  const __m256i codes = _mm256_and_si256(
      _mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(word)), shifts), _mm256_set1_epi32(0xF));
  return _mm256_cvtepi32_ps(codes);
}

void int4_group(const uint8_t* packed, int64_t n, float scale, float min, float* out) {
  const __m256 s = _mm256_set1_ps(scale), m = _mm256_set1_ps(min);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_add_ps(m, _mm256_mul_ps(nibbles8(packed + i / 2), s)));
  if (i < n) scalar().int4_group(packed + i / 2, n - i, scale, min, out + i);
}

void int4_channels(const uint8_t* packed, int64_t n, const float* scale, const float* min,
                   float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 product = _mm256_mul_ps(nibbles8(packed + i / 2), _mm256_loadu_ps(scale + i));
    _mm256_storeu_ps(out + i, _mm256_add_ps(_mm256_loadu_ps(min + i), product));
  }
  if (i < n) scalar().int4_channels(packed + i / 2, n - i, scale + i, min + i, out + i);
}

}  // namespace

const KvRowDecoders& kv_row_decoders() {
  static const KvRowDecoders table{&f16, &bf16, &e4m3, &e5m2, &int8, &int4_group, &int4_channels};
  return table;
}

}  // namespace lowbit::kernels::cpu::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // defined(__x86_64__)
