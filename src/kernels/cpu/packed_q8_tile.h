// SPDX-License-Identifier: MIT
// The SIMD loop of the packed block-int8 products (packed_q8.h), shared by the AVX2 and AVX-512
// files: each includes this inside its own namespace, after its target pragma, having defined
//   __m256i chunk4(__m256i acc, __m256i codes, __m256i q)  acc + per lane sum of 4 products of
//                                                          unsigned codes (<= 15) and q
//   __m256i chunk8(__m256i acc, __m256i codes, __m256i q)  the same for 8-bit codes, each taken
//                                                          as code - kLanes8Offset
//   constexpr int32_t kLanes8Offset
//   constexpr int kMaxRows                                  activation rows per register tile
//   constexpr bool kHighNibbleInPlace                      chunk4 takes codes up to 240 (a
//                                                          4-bit block's high nibbles unshifted)
// No include guard and no includes: it is a piece of those files, compiled once per ISA.

// Eight scales or zeros of a tile's group as f32 (f16 widening is exact).
inline __m256 params8(bool half, const std::vector<float>& f32, const std::vector<uint16_t>& f16,
                      size_t at) {
  if (half)
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f16.data() + at)));
  return _mm256_loadu_ps(f32.data() + at);
}

// Eight rows' super-block factor (f16 d or dmin) times their byte for group g of a k-quant tile
// (sub-block scale or min; Q6_K's scales are int8): exact in f32, as ScaleReader gives them.
inline __m256 k_product8(const PackedQ8& p, const std::vector<uint16_t>& factor,
                         const std::vector<uint8_t>& bytes, bool signed_bytes, int64_t t,
                         int64_t g) {
  // Sub-blocks per super-block are a power of two: shifts, not divisions, in the group loop.
  const int64_t ts = t * p.supers + (g >> p.k_subs_log2);
  const __m256 f = _mm256_cvtph_ps(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(factor.data() + ts * kPackRows)));
  const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(
      bytes.data() + (ts * p.k_subs() + (g & (p.k_subs() - 1))) * kPackRows));
  const __m256i b = signed_bytes ? _mm256_cvtepi8_epi32(raw) : _mm256_cvtepu8_epi32(raw);
  return _mm256_mul_ps(f, _mm256_cvtepi32_ps(b));
}

// Eight rows' scales of tile t's group g, and (min form) their mins: k-quants' d * sc and
// -(dmin * m), else the stored parameters.
inline __m256 scales8(const PackedQ8& p, int64_t t, int64_t g) {
  if (p.k_super) return k_product8(p, p.k_d, p.k_sc, p.weight_bits == 6, t, g);
  return params8(p.half, p.scales, p.scales16, static_cast<size_t>((t * p.groups + g) * kPackRows));
}
inline __m256 mins8(const PackedQ8& p, int64_t t, int64_t g) {
  if (p.k_super)
    return _mm256_xor_ps(k_product8(p, p.k_dmin, p.k_m, false, t, g), _mm256_set1_ps(-0.0f));
  return params8(p.half, p.zeros, p.zeros16, static_cast<size_t>((t * p.groups + g) * kPackRows));
}

// One block's segment as vectors: 8 chunks of 4 codes per row (a 4-bit block's high nibbles in
// chunks 4-7, in place or shifted down).
template <int kBits>
inline void load_segment(const uint8_t* seg, __m256i* w) {
  if constexpr (kBits == 8) {
    for (int c = 0; c < 8; ++c)
      w[c] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(seg + 32 * c));
  } else if constexpr (kBits == 6) {
    // Low 4 bits as a 4-bit segment's nibbles, high 2 bits from the 2-bit fields moved to bits
    // 4-5 (16-bit shifts: bits crossing into a neighbouring byte fall outside the mask).
    const __m256i low4 = _mm256_set1_epi8(0x0F), high2 = _mm256_set1_epi8(0x30);
    const __m256i h0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(seg + 128));
    const __m256i h1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(seg + 160));
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(seg + 32 * c));
      w[c] = _mm256_and_si256(raw, low4);
      w[c + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
    }
    for (int h = 0; h < 2; ++h) {
      const __m256i f = h == 0 ? h0 : h1;
      w[4 * h] = _mm256_or_si256(w[4 * h], _mm256_and_si256(_mm256_slli_epi16(f, 4), high2));
      w[4 * h + 1] =
          _mm256_or_si256(w[4 * h + 1], _mm256_and_si256(_mm256_slli_epi16(f, 2), high2));
      w[4 * h + 2] = _mm256_or_si256(w[4 * h + 2], _mm256_and_si256(f, high2));
      w[4 * h + 3] =
          _mm256_or_si256(w[4 * h + 3], _mm256_and_si256(_mm256_srli_epi16(f, 2), high2));
    }
  } else {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(seg + 32 * c));
      w[c] = _mm256_and_si256(raw, low4);
      // High nibbles left in place (16 x code) where the product takes bytes up to 240.
      w[c + 4] = kHighNibbleInPlace ? _mm256_andnot_si256(low4, raw)
                                    : _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
    }
  }
}

// Lane sums of one block against activation codes q[32]: `low` over chunks 0-3, `high` over
// chunks 4-7 (for 6- and 8-bit layouts elements 0-15 and 16-31), each still carrying the lanes'
// offset. 6-bit codes (<= 63) go through chunk4 (maddubs pair sums stay below 2^15).
template <int kBits, int kChains>
inline void block_lanes(const __m256i* w, const int8_t* q, __m256i& low, __m256i& high) {
  // Independent sums (exact, so their order is free): a single chain of 8 dependent
  // dot-product instructions would leave the units idle for their latency.
  // Chunks 0-3 go to the first half of the chains, 4-7 (a 4-bit block's high nibbles) to
  // the second, so sums of in-place high nibbles (16 x code) stay apart until divided.
  constexpr int kHalf = kChains / 2;
  __m256i part[kChains];
  for (int h = 0; h < kChains; ++h) part[h] = _mm256_setzero_si256();
  for (int c = 0; c < 8; ++c) {
    int32_t four;
    std::memcpy(&four, q + 4 * c, 4);
    const __m256i qb = _mm256_set1_epi32(four);
    const int h = (c < 4 ? 0 : kHalf) + c % kHalf;
    if constexpr (kBits == 8) {
      part[h] = chunk8(part[h], w[c], qb);
    } else {
      part[h] = chunk4(part[h], w[c], qb);
    }
  }
  low = part[0];
  high = part[kHalf];
  for (int h = 1; h < kHalf; ++h) {
    low = _mm256_add_epi32(low, part[h]);
    high = _mm256_add_epi32(high, part[kHalf + h]);
  }
  // 16 x an exact integer: the arithmetic shift divides exactly.
  if constexpr (kBits == 4 && kHighNibbleInPlace) high = _mm256_srai_epi32(high, 4);
}

// y for activation rows [i0, i0 + kRows) and tile t.
template <int kRows>
inline void store_tile(const PackedQ8& p, const __m256* acc, int64_t t, int64_t i0, float* y,
                       int64_t ldy) {
  const int64_t valid = std::min<int64_t>(kPackRows, p.rows - t * kPackRows);
  for (int i = 0; i < kRows; ++i) {
    float* out = y + (i0 + i) * ldy + t * kPackRows;
    if (valid == kPackRows) {
      _mm256_storeu_ps(out, acc[i]);
    } else {
      alignas(32) float lanes[kPackRows];
      _mm256_store_ps(lanes, acc[i]);
      std::memcpy(out, lanes, static_cast<size_t>(valid) * sizeof(float));
    }
  }
}

// Activation rows [i0, i0 + kRows) x rows of tile t: lane j of every vector is row 8t + j, so
// each step of the definition (block_q8.h) runs lane by lane with the reference's rounding.
template <int kBits, int kRows>
void tile_rows(const PackedQ8& p, const Q8Rows& a, int64_t t, int64_t i0, float* y, int64_t ldy) {
  constexpr int32_t kOff = 1 << (kBits - 1);
  // What the lanes still carry of the offset, removed with the activation block's code sum.
  constexpr int32_t kResidual = kBits == 8 ? kOff - kLanes8Offset : kOff;
  const int64_t blocks = p.blocks, groups = p.groups, per_group = p.group_len / kQ8Block;
  constexpr int kChains = kRows == 1 ? 4 : 2;
  __m256 acc[kRows];
  for (int i = 0; i < kRows; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m256 gacc[kRows];
    for (int i = 0; i < kRows; ++i) gacc[i] = _mm256_setzero_ps();
    const int64_t b_end = std::min(blocks, (g + 1) * per_group);
    for (int64_t b = g * per_group; b < b_end; ++b) {
      __m256i w[8];
      load_segment<kBits>(p.segment(t, b), w);
      for (int i = 0; i < kRows; ++i) {
        __m256i low, high;
        block_lanes<kBits, kChains>(w, a.q + (i0 + i) * a.k + b * kQ8Block, low, high);
        __m256i s = _mm256_add_epi32(low, high);
        if constexpr (kResidual != 0)
          s = _mm256_sub_epi32(s, _mm256_set1_epi32(kResidual * a.sums[(i0 + i) * blocks + b]));
        gacc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_set1_ps(a.d[(i0 + i) * blocks + b]),
                                  gacc[i]);
      }
    }
    const size_t at = static_cast<size_t>((t * groups + g) * kPackRows);
    if (p.min_offset) {
      // The zero-point is 0: gacc - (0 - off) * zero_terms, then the mins after the scales.
      const __m256 off = _mm256_set1_ps(p.offset());
      const __m256 scales = scales8(p, t, g);
      const __m256 mins = mins8(p, t, g);
      for (int i = 0; i < kRows; ++i) {
        const __m256 zt = _mm256_set1_ps(a.zero_terms[(i0 + i) * groups + g]);
        acc[i] = _mm256_fmadd_ps(scales, _mm256_fmadd_ps(off, zt, gacc[i]), acc[i]);
        acc[i] = _mm256_fmadd_ps(mins, zt, acc[i]);
      }
      continue;
    }
    if (!p.symmetric) {
      const __m256 zeros = p.half ? _mm256_sub_ps(params8(true, p.zeros, p.zeros16, at),
                                                  _mm256_set1_ps(static_cast<float>(kOff)))
                                  : params8(false, p.zeros, p.zeros16, at);
      for (int i = 0; i < kRows; ++i)
        gacc[i] =
            _mm256_fnmadd_ps(zeros, _mm256_set1_ps(a.zero_terms[(i0 + i) * groups + g]), gacc[i]);
    }
    const __m256 scales = scales8(p, t, g);
    for (int i = 0; i < kRows; ++i) acc[i] = _mm256_fmadd_ps(scales, gacc[i], acc[i]);
  }
  store_tile<kRows>(p, acc, t, i0, y, ldy);
}

// Groups of 16 (symmetric, 6- or 8-bit layout): each block is two groups, its halves' lane sums
// (`low`, `high`) meeting the halves' activation code sums and their own scales.
template <int kBits, int kRows>
void tile_rows_half_groups(const PackedQ8& p, const Q8Rows& a, int64_t t, int64_t i0, float* y,
                           int64_t ldy) {
  constexpr int32_t kResidual = kBits == 8 ? 128 - kLanes8Offset : 1 << (kBits - 1);
  constexpr int kChains = kRows == 1 ? 4 : 2;
  const int64_t blocks = p.blocks;
  const __m256 zero = _mm256_setzero_ps();
  __m256 acc[kRows];
  for (int i = 0; i < kRows; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    __m256i w[8];
    load_segment<kBits>(p.segment(t, b), w);
    const __m256 scale_low = scales8(p, t, 2 * b);
    const __m256 scale_high = scales8(p, t, 2 * b + 1);
    for (int i = 0; i < kRows; ++i) {
      __m256i low, high;
      block_lanes<kBits, kChains>(w, a.q + (i0 + i) * a.k + b * kQ8Block, low, high);
      const int32_t* hs = a.half_sums + (i0 + i) * 2 * blocks + 2 * b;
      if constexpr (kResidual != 0) {
        low = _mm256_sub_epi32(low, _mm256_set1_epi32(kResidual * hs[0]));
        high = _mm256_sub_epi32(high, _mm256_set1_epi32(kResidual * hs[1]));
      }
      const __m256 d = _mm256_set1_ps(a.d[(i0 + i) * blocks + b]);
      acc[i] =
          _mm256_fmadd_ps(scale_low, _mm256_fmadd_ps(_mm256_cvtepi32_ps(low), d, zero), acc[i]);
      acc[i] =
          _mm256_fmadd_ps(scale_high, _mm256_fmadd_ps(_mm256_cvtepi32_ps(high), d, zero), acc[i]);
    }
  }
  store_tile<kRows>(p, acc, t, i0, y, ldy);
}

template <int kBits>
void tiles(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin, int64_t tile_end, float* y,
           int64_t ldy) {
  for (int64_t t = tile_begin; t < tile_end; ++t) {
    int64_t i = 0;
    if constexpr (kBits != 4) {
      if (p.half_groups) {
        for (; i + kMaxRows <= a.m; i += kMaxRows)
          tile_rows_half_groups<kBits, kMaxRows>(p, a, t, i, y, ldy);
        for (; i < a.m; ++i) tile_rows_half_groups<kBits, 1>(p, a, t, i, y, ldy);
        continue;
      }
    }
    for (; i + kMaxRows <= a.m; i += kMaxRows) tile_rows<kBits, kMaxRows>(p, a, t, i, y, ldy);
    for (; i < a.m; ++i) tile_rows<kBits, 1>(p, a, t, i, y, ldy);
  }
}

// The table entry.
inline void packed_dot(const PackedQ8& p, const Q8Rows& a, int64_t tile_begin, int64_t tile_end,
                       float* y, int64_t ldy) {
  if (p.bits == 4) {
    tiles<4>(p, a, tile_begin, tile_end, y, ldy);
  } else if (p.bits == 6) {
    tiles<6>(p, a, tile_begin, tile_end, y, ldy);
  } else {
    tiles<8>(p, a, tile_begin, tile_end, y, ldy);
  }
}
