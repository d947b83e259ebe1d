// SPDX-License-Identifier: MIT
// AVX2 + FMA + F16C row kernels for every format: each format is a decoder that turns 8
// elements into one __m256 of unscaled values, and one group loop per use (dot or decode).
#if defined(__x86_64__)
#include <immintrin.h>

#include <array>
#include <cstring>
#include <vector>

#include "kernels/cpu/avx2/codes_avx2.h"
#include "kernels/cpu/row_kernels.h"
#include "numerics/bit_pack.h"
#include "numerics/fp8.h"
#include "numerics/half.h"
#include "numerics/iq4_nl.h"
#include "numerics/nf4.h"

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

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Code sources: 8 codes as i32 lanes from element i of the current row, and one code.

// One code per byte: 8-bit rows read in place.
struct RowBytes {
  const uint8_t* p = nullptr;
  void set_row(const WeightView& w, int64_t r) { p = w.row(r); }
  __m256i codes8(int64_t i) const {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + i)));
  }
  unsigned code(int64_t i) const { return p[i]; }
};

// Codes of other widths unpacked to one byte each, a row at a time, into thread scratch.
struct UnpackedBytes : RowBytes {
  void set_row(const WeightView& w, int64_t r) {
    thread_local std::vector<uint8_t> buffer;
    if (buffer.size() < static_cast<size_t>(w.cols)) buffer.resize(static_cast<size_t>(w.cols));
    ref::unpack_codes(w.row(r), 0, w.cols, w.bits, buffer.data());
    p = buffer.data();
  }
};

// Packed nibbles, element 2j the low nibble of byte j; i must be even (groups start on bytes).
struct RowNibbles {
  const uint8_t* p = nullptr;
  void set_row(const WeightView& w, int64_t r) { p = w.row(r); }
  __m256i codes8(int64_t i) const {
    uint32_t word;
    std::memcpy(&word, p + i / 2, 4);
    const __m128i bytes = _mm_cvtsi32_si128(static_cast<int>(word));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(bytes, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    // Interleaving low and high nibbles restores element order.
    return _mm256_cvtepu8_epi32(_mm_unpacklo_epi8(lo, hi));
  }
  // 32 codes from one 16-byte load: half the work per code of four codes8 calls.
  void codes32(int64_t i, __m256i* q) const {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i / 2));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(bytes, mask);
    const __m128i hi = _mm_and_si128(_mm_srli_epi16(bytes, 4), mask);
    const __m128i first = _mm_unpacklo_epi8(lo, hi);   // elements 0..15
    const __m128i second = _mm_unpackhi_epi8(lo, hi);  // elements 16..31
    q[0] = _mm256_cvtepu8_epi32(first);
    q[1] = _mm256_cvtepu8_epi32(_mm_srli_si128(first, 8));
    q[2] = _mm256_cvtepu8_epi32(second);
    q[3] = _mm256_cvtepu8_epi32(_mm_srli_si128(second, 8));
  }
  unsigned code(int64_t i) const { return packed_code(p, i, 4); }
};

// Decoders: set_row, set_group(zero), load8(i) = 8 unscaled values, at(i) = one value; code
// decoders also map 8 codes to values with value(q).

template <class Source>
struct AffineDecoder : Source {
  __m256 zero_v;
  float zero = 0.0f;
  // Explicit: an implicit constructor would not inherit this file's target ISA.
  AffineDecoder() : zero_v(_mm256_setzero_ps()) {}
  void set_group(float z) {
    zero = z;
    zero_v = _mm256_set1_ps(z);
  }
  __m256 value(__m256i q) const { return _mm256_sub_ps(_mm256_cvtepi32_ps(q), zero_v); }
  __m256 load8(int64_t i) const { return value(this->codes8(i)); }
  float at(int64_t i) const { return static_cast<float>(this->code(i)) - zero; }
};

// A 16-entry codebook (NF4's, IQ4_NL's levels) times the group scale.
template <class Source, const std::array<float, 16>& kCodebook>
struct CodebookDecoder : Source {
  // The codebook as two 8-lane tables; bit 3 of the code picks the table.
  __m256 low, high;
  CodebookDecoder()
      : low(_mm256_loadu_ps(kCodebook.data())), high(_mm256_loadu_ps(kCodebook.data() + 8)) {}
  void set_group(float) {}
  __m256 load8(int64_t i) const { return value(this->codes8(i)); }
  __m256 value(__m256i q) const {
    const __m256 from_low = _mm256_permutevar8x32_ps(low, q);
    const __m256 from_high = _mm256_permutevar8x32_ps(high, q);
    return _mm256_blendv_ps(from_low, from_high, _mm256_castsi256_ps(_mm256_slli_epi32(q, 28)));
  }
  float at(int64_t i) const { return kCodebook[this->code(i)]; }
};
template <class Source>
using Nf4Decoder = CodebookDecoder<Source, kNf4Codebook>;
template <class Source>
using Iq4NlDecoder = CodebookDecoder<Source, kIq4NlLevels>;

// fp8 through F16C: an E5M2 code is the high byte of the f16 with the same value; an E4M3 code
// shifted into f16 position is its value / 2^8 (exponent bias 15 vs 7), subnormals included.
// The 2^8 goes into the group scale (kUnit): multiplying by a power of two is exact, so this
// saves a multiply per 8 elements without changing a bit.
template <bool kE4M3>
struct Fp8Decoder : RowBytes {
  static constexpr float kUnit = kE4M3 ? 256.0f : 1.0f;
  void set_group(float) {}
  __m256 load8(int64_t i) const {
    const __m128i b = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + i)));
    if constexpr (!kE4M3) {
      return _mm256_cvtph_ps(_mm_slli_epi16(b, 8));
    } else {
      const __m128i magnitude = _mm_and_si128(b, _mm_set1_epi16(0x7F));
      __m128i h = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(b, _mm_set1_epi16(0x80)), 8),
                               _mm_slli_epi16(magnitude, 7));
      // E4M3FN's only NaN (magnitude 0x7F) would land on a finite f16: force exponent 31.
      const __m128i nan = _mm_cmpeq_epi16(magnitude, _mm_set1_epi16(0x7F));
      h = _mm_or_si128(h, _mm_and_si128(nan, _mm_set1_epi16(0x7C00)));
      return _mm256_cvtph_ps(h);
    }
  }
  float at(int64_t i) const { return kE4M3 ? e4m3_to_f32(p[i]) / 256.0f : e5m2_to_f32(p[i]); }
};

struct F32Decoder {
  const uint8_t* p = nullptr;
  void set_row(const WeightView& w, int64_t r) { p = w.row(r); }
  void set_group(float) {}
  __m256 load8(int64_t i) const { return _mm256_loadu_ps(reinterpret_cast<const float*>(p) + i); }
  float at(int64_t i) const {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
};

struct F16Decoder : F32Decoder {
  __m256 load8(int64_t i) const {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i)));
  }
  float at(int64_t i) const {
    uint16_t bits;
    std::memcpy(&bits, p + 2 * i, 2);
    return f16_to_f32(bits);
  }
};

struct Bf16Decoder : F32Decoder {
  __m256 load8(int64_t i) const {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  float at(int64_t i) const {
    uint16_t bits;
    std::memcpy(&bits, p + 2 * i, 2);
    const uint32_t wide = static_cast<uint32_t>(bits) << 16;
    float v;
    std::memcpy(&v, &wide, 4);
    return v;
  }
};

// What the decoder's values are in: the group scale is multiplied by it.
template <class Decoder>
constexpr float value_unit() {
  if constexpr (requires { Decoder::kUnit; }) {
    return Decoder::kUnit;
  } else {
    return 1.0f;
  }
}

// 32 unscaled values from element i: one wide read where the source has one.
template <class Decoder>
void load32(const Decoder& d, int64_t i, __m256* v) {
  if constexpr (requires(__m256i * q) { d.codes32(i, q); }) {
    __m256i q[4];
    d.codes32(i, q);
    for (int j = 0; j < 4; ++j) v[j] = d.value(q[j]);
  } else {
    for (int64_t j = 0; j < 4; ++j) v[j] = d.load8(i + 8 * j);
  }
}

// dot(row r, x): per group, four FMA chains over 32 elements, then 8, then a scalar tail;
// the group sum is scaled once (the min form adds min * the group's sum of x). The order depends
// only on the format and cols.
template <class Decoder>
float dot_row(const WeightView& w, const RowParams& params, Decoder& d, const float* x) {
  __m256 total = _mm256_setzero_ps();
  float tail_total = 0.0f;
  const bool with_min = params.min != nullptr;
  for (int64_t g = 0; g < w.groups; ++g) {
    const int64_t b = g * w.group_len;
    const int64_t n = w.group_size(g);
    d.set_group(params.zero[g]);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    __m256 xs0 = a0, xs1 = a0;  // the group's sum of x (min form only)
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      const int64_t k = b + i;
      __m256 v[4];
      load32(d, k, v);
      const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
      const __m256 x2 = _mm256_loadu_ps(x + k + 16), x3 = _mm256_loadu_ps(x + k + 24);
      a0 = _mm256_fmadd_ps(v[0], x0, a0);
      a1 = _mm256_fmadd_ps(v[1], x1, a1);
      a2 = _mm256_fmadd_ps(v[2], x2, a2);
      a3 = _mm256_fmadd_ps(v[3], x3, a3);
      if (with_min) {
        xs0 = _mm256_add_ps(xs0, _mm256_add_ps(x0, x1));
        xs1 = _mm256_add_ps(xs1, _mm256_add_ps(x2, x3));
      }
    }
    for (; i + 8 <= n; i += 8) {
      const __m256 xv = _mm256_loadu_ps(x + b + i);
      a0 = _mm256_fmadd_ps(d.load8(b + i), xv, a0);
      if (with_min) xs0 = _mm256_add_ps(xs0, xv);
    }
    float tail = 0.0f, tail_x = 0.0f;
    for (; i < n; ++i) {
      tail += d.at(b + i) * x[b + i];
      tail_x += x[b + i];
    }
    const float scale = params.scale[g] * value_unit<Decoder>();
    const __m256 sum = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
    total = _mm256_fmadd_ps(_mm256_set1_ps(scale), sum, total);
    tail_total += scale * tail;
    if (with_min) {
      total = _mm256_fmadd_ps(_mm256_set1_ps(params.min[g]), _mm256_add_ps(xs0, xs1), total);
      tail_total += params.min[g] * tail_x;
    }
  }
  return hsum(total) + tail_total;
}

// out = scale * value (+ min, rounded after the product, in the min form), element by element,
// as the reference defines it.
template <class Decoder>
void decode_row(const WeightView& w, const RowParams& params, Decoder& d, float* out) {
  for (int64_t g = 0; g < w.groups; ++g) {
    const int64_t b = g * w.group_len;
    const int64_t n = w.group_size(g);
    d.set_group(params.zero[g]);
    const float scale = params.scale[g] * value_unit<Decoder>();
    const float min = params.min != nullptr ? params.min[g] : 0.0f;
    const __m256 scale_v = _mm256_set1_ps(scale), min_v = _mm256_set1_ps(min);
    // Adding +0 would turn a -0 product into +0: only the min form adds.
    const auto value = [&](__m256 v) {
      const __m256 product = _mm256_mul_ps(scale_v, v);
      return params.min != nullptr ? _mm256_add_ps(product, min_v) : product;
    };
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      __m256 v[4];
      load32(d, b + i, v);
      for (int64_t j = 0; j < 4; ++j) _mm256_storeu_ps(out + b + i + 8 * j, value(v[j]));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + b + i, value(d.load8(b + i)));
    for (; i < n; ++i) {
      const float product = scale * d.at(b + i);
      out[b + i] = params.min != nullptr ? product + min : product;
    }
  }
}

struct DotOp {
  const float* x;
  float* y;
  template <class Decoder>
  void operator()(const WeightView& w, const RowParams& params, int64_t r, int64_t,
                  Decoder& d) const {
    y[r] = dot_row(w, params, d, x);
  }
};

struct DecodeOp {
  float* out;
  template <class Decoder>
  void operator()(const WeightView& w, const RowParams& params, int64_t r, int64_t row_begin,
                  Decoder& d) const {
    decode_row(w, params, d, out + (r - row_begin) * w.cols);
  }
};

template <class Decoder, class Op>
void for_rows(const WeightView& w, int64_t row_begin, int64_t row_end, const Op& op) {
  Decoder d;
  RowParams params;
  for (int64_t r = row_begin; r < row_end; ++r) {
    d.set_row(w, r);
    params.set_row(w, r);
    op(w, params, r, row_begin, d);
  }
}

// Picks the decoder for w's format and runs op over the rows.
template <class Op>
void dispatch(const WeightView& w, int64_t row_begin, int64_t row_end, const Op& op) {
  // Packed codes are read in place when every group starts where the source can: on a byte for
  // 4 and 2 bits, on a 3-byte chunk of 8 codes for 3 bits. Other rows are unpacked first.
  const auto groups_start_on = [&](int64_t codes) {
    return w.groups == 1 || w.group_len % codes == 0;
  };
  const bool nibbles_aligned = groups_start_on(2);
  switch (w.kind) {
    case QuantKind::f32:
      return for_rows<F32Decoder>(w, row_begin, row_end, op);
    case QuantKind::f16:
      return for_rows<F16Decoder>(w, row_begin, row_end, op);
    case QuantKind::bf16:
      return for_rows<Bf16Decoder>(w, row_begin, row_end, op);
    case QuantKind::fp8_e4m3:
      return for_rows<Fp8Decoder<true>>(w, row_begin, row_end, op);
    case QuantKind::fp8_e5m2:
      return for_rows<Fp8Decoder<false>>(w, row_begin, row_end, op);
    case QuantKind::nf4:
      if (nibbles_aligned) return for_rows<Nf4Decoder<RowNibbles>>(w, row_begin, row_end, op);
      return for_rows<Nf4Decoder<UnpackedBytes>>(w, row_begin, row_end, op);
    case QuantKind::iq4_nl:
      if (nibbles_aligned) return for_rows<Iq4NlDecoder<RowNibbles>>(w, row_begin, row_end, op);
      return for_rows<Iq4NlDecoder<UnpackedBytes>>(w, row_begin, row_end, op);
    case QuantKind::affine_int:
      if (w.bits == 8) return for_rows<AffineDecoder<RowBytes>>(w, row_begin, row_end, op);
      if (w.bits == 4 && nibbles_aligned)
        return for_rows<AffineDecoder<RowNibbles>>(w, row_begin, row_end, op);
      if (w.bits == 3 && groups_start_on(8))
        return for_rows<AffineDecoder<RowTriplets>>(w, row_begin, row_end, op);
      if (w.bits == 5 && groups_start_on(8))
        return for_rows<AffineDecoder<RowWideCodes<5>>>(w, row_begin, row_end, op);
      if (w.bits == 6 && groups_start_on(8))
        return for_rows<AffineDecoder<RowWideCodes<6>>>(w, row_begin, row_end, op);
      if (w.bits == 2 && groups_start_on(4))
        return for_rows<AffineDecoder<RowCrumbs>>(w, row_begin, row_end, op);
      return for_rows<AffineDecoder<UnpackedBytes>>(w, row_begin, row_end, op);
    case QuantKind::trellis:  // not rows: kernels::linear routes it to linear_trellis
      break;
  }
}

}  // namespace

void dot_rows(const WeightView& w, const float* x, int64_t row_begin, int64_t row_end, float* y) {
  dispatch(w, row_begin, row_end, DotOp{x, y});
}

void decode_rows(const WeightView& w, int64_t row_begin, int64_t row_end, float* out) {
  dispatch(w, row_begin, row_end, DecodeOp{out});
}

}  // namespace lowbit::kernels::cpu::avx2

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // defined(__x86_64__)
