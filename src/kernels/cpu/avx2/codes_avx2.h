// SPDX-License-Identifier: MIT
// The AVX2 pieces under row_avx2.cpp's decoders: per-row group parameters, and code sources
// that read a packed row and return 8 codes as i32 lanes (codes8), 32 where that is cheaper
// (codes32), or one code (code). Element indices given to codes8 / codes32 must lie on a byte
// boundary of the stream that starts a whole number of 8-code chunks from a group start
// (row_avx2.cpp only picks a source when every group starts on such a boundary).
// Everything is in an anonymous namespace and built for AVX2 only, so these definitions never
// meet a baseline copy (one-definition rule). Include only from row_avx2.cpp.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/cpu/row_kernels.h"
#include "numerics/bit_pack.h"
#include "numerics/half.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

namespace lowbit::kernels::cpu::avx2 {

namespace {

// n f16 values to f32: F16C converts exactly, like f16_to_f32.
void f16_to_f32_n(const uint8_t* src, int64_t n, float* out) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(
        out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  for (; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    out[i] = f16_to_f32(bits);
  }
}

// Scale and zero-point of every group of one row, resolved once per row: one out-of-line
// WeightView::scale / zero call per group cost as much as the dot itself with groups of 32.
struct RowParams {
  // Rows of up to kInline groups (K = 4096 at groups of 64) stay off the thread-local heap
  // buffer: with short rows its lookup showed in decode time.
  static constexpr size_t kInline = 64;
  float inline_buffer[3 * kInline];
  const float* scale = nullptr;
  const float* zero = nullptr;
  const float* min = nullptr;  // the min form's additive mins; nullptr otherwise
  void set_row(const WeightView& w, int64_t r) {
    const auto groups = static_cast<size_t>(w.groups);
    float* s = inline_buffer;
    if (groups > kInline) {
      thread_local std::vector<float> buffer;
      if (buffer.size() < 3 * groups) buffer.resize(3 * groups);
      s = buffer.data();
    }
    float* z = s + groups;
    float* m = z + groups;
    const int64_t first = w.per_tensor ? 0 : r * w.groups;
    if (w.scales.encoding == ScaleEncoding::f16) {
      f16_to_f32_n(w.scales.entry(first), w.groups, s);  // F16C: the same values, faster
    } else {
      w.scales.read(first, w.groups, s);
    }
    if (w.zeros != nullptr && !w.min_offset) {
      f16_to_f32_n(reinterpret_cast<const uint8_t*>(w.zeros + first), w.groups, z);
    } else {
      // 0, or the symmetric 2^(bits-1): the same for every group.
      const float z0 = w.zero(r, 0);
      for (size_t g = 0; g < groups; ++g) z[g] = z0;
    }
    if (w.min_offset && w.zeros != nullptr) {
      f16_to_f32_n(reinterpret_cast<const uint8_t*>(w.zeros + first), w.groups, m);
    } else if (w.min_offset) {
      for (size_t g = 0; g < groups; ++g) m[g] = w.scales.min_at(first + static_cast<int64_t>(g));
    }
    scale = s;
    zero = z;
    min = w.min_offset ? m : nullptr;
  }
};

// Code j of a word at bit `bits * j`: each lane shifts the broadcast word by its own count.
template <int kBits>
__m256i spread(const uint8_t* at, int extra_shift) {
  int32_t word;
  std::memcpy(&word, at, 4);
  const __m256i shifts = _mm256_add_epi32(
      _mm256_setr_epi32(0, kBits, 2 * kBits, 3 * kBits, 4 * kBits, 5 * kBits, 6 * kBits, 7 * kBits),
      _mm256_set1_epi32(extra_shift));
  const __m256i codes = _mm256_srlv_epi32(_mm256_set1_epi32(word), shifts);
  return _mm256_and_si256(codes, _mm256_set1_epi32((1 << kBits) - 1));
}

// 2-bit codes, four per byte. 32 codes are 8 bytes, read as two 4-byte words (no byte outside
// them is touched, so the last chunk of the buffer is safe).
struct RowCrumbs {
  const uint8_t* p = nullptr;
  void set_row(const WeightView& w, int64_t r) { p = w.row(r); }
  __m256i codes8(int64_t i) const {
    // Only 2 bytes belong to these codes: widen them rather than read past them.
    uint16_t half;
    std::memcpy(&half, p + i / 4, 2);
    const uint32_t word = half;
    return spread<2>(reinterpret_cast<const uint8_t*>(&word), 0);
  }
  void codes32(int64_t i, __m256i* q) const {
    const uint8_t* at = p + i / 4;
    q[0] = spread<2>(at, 0);
    q[1] = spread<2>(at, 16);
    q[2] = spread<2>(at + 4, 0);
    q[3] = spread<2>(at + 4, 16);
  }
  unsigned code(int64_t i) const { return packed_code(p, i, 2); }
};

// 3-bit codes: 8 codes are 3 bytes. 32 codes are 12 bytes, read as 4-byte words at byte 0, 3,
// 6 and 8 (the last one shifted by 8 more bits), all inside those 12 bytes.
struct RowTriplets {
  const uint8_t* p = nullptr;
  void set_row(const WeightView& w, int64_t r) { p = w.row(r); }
  __m256i codes8(int64_t i) const {
    const uint8_t* at = p + i / 8 * 3;
    const uint32_t word =
        at[0] | (static_cast<uint32_t>(at[1]) << 8) | (static_cast<uint32_t>(at[2]) << 16);
    return spread<3>(reinterpret_cast<const uint8_t*>(&word), 0);
  }
  void codes32(int64_t i, __m256i* q) const {
    const uint8_t* at = p + i / 8 * 3;
    q[0] = spread<3>(at, 0);
    q[1] = spread<3>(at + 3, 0);
    q[2] = spread<3>(at + 6, 0);
    q[3] = spread<3>(at + 8, 8);
  }
  unsigned code(int64_t i) const { return packed_code(p, i, 3); }
};

// 5- and 6-bit codes: 8 codes are kBits bytes, read as two 4-byte words inside them (at byte 0
// and at byte 1 for 5 bits, byte 2 for 6 bits); each lane shifts its word to its code.
//   5 bits: codes 0-5 at bits 0, 5, .., 25 of the first word, codes 6-7 at bits 22, 27 of the
//           second (bits 30, 35 of the group).
//   6 bits: codes 0-3 at bits 0, 6, 12, 18 of the first word, codes 4-7 at bits 8, 14, 20, 26 of
//           the second (bits 24, 30, 36, 42 of the group).
template <int kBits>
struct RowWideCodes {
  static_assert(kBits == 5 || kBits == 6);
  const uint8_t* p = nullptr;
  void set_row(const WeightView& w, int64_t r) { p = w.row(r); }
  __m256i codes8(int64_t i) const {
    const uint8_t* at = p + i / 8 * kBits;
    int32_t first, second;
    std::memcpy(&first, at, 4);
    std::memcpy(&second, at + (kBits == 5 ? 1 : 2), 4);
    const __m256i words =
        kBits == 5 ? _mm256_setr_epi32(first, first, first, first, first, first, second, second)
                   : _mm256_setr_epi32(first, first, first, first, second, second, second, second);
    const __m256i shifts = kBits == 5 ? _mm256_setr_epi32(0, 5, 10, 15, 20, 25, 22, 27)
                                      : _mm256_setr_epi32(0, 6, 12, 18, 8, 14, 20, 26);
    return _mm256_and_si256(_mm256_srlv_epi32(words, shifts), _mm256_set1_epi32((1 << kBits) - 1));
  }
  unsigned code(int64_t i) const { return packed_code(p, i, kBits); }
};

}  // namespace

}  // namespace lowbit::kernels::cpu::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // defined(__x86_64__)
