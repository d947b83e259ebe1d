// SPDX-License-Identifier: MIT
// The SIMD loop of the block-int8 products (block_q8.h), shared by the AVX2 and AVX-512 files:
// each includes this inside its own namespace, after its target pragma, having defined
//   __m256i lanes4(const uint8_t* w16, __m256i q)  8 int32 lanes totalling sum code * q over a
//                                                   4-bit block (codes split [low | high])
//   __m256i lanes8(const uint8_t* w32, __m256i q)  lanes totalling sum (code - kLanes8Offset) * q
//   constexpr int32_t kLanes8Offset
// No include guard and no includes: it is a piece of those files, compiled once per ISA.
//
// Eight weight rows at a time: each row's block sum is reduced to one int32 lane (lane j = row
// r0 + j), so the float steps of the definition run lane by lane as fused multiply-adds, the
// same single-rounding operations as the reference's fmaf: the result equals it bit for bit.

// Lane j = total of p[j]'s 8 lanes (exact int32).
inline __m256i reduce8(const __m256i* p) {
  const __m256i s01 = _mm256_hadd_epi32(p[0], p[1]), s23 = _mm256_hadd_epi32(p[2], p[3]);
  const __m256i s45 = _mm256_hadd_epi32(p[4], p[5]), s67 = _mm256_hadd_epi32(p[6], p[7]);
  const __m256i t0 = _mm256_hadd_epi32(s01, s23);  // rows 0..3: low 128-bit halves | high
  const __m256i t1 = _mm256_hadd_epi32(s45, s67);  // rows 4..7
  return _mm256_add_epi32(_mm256_permute2x128_si256(t0, t1, 0x20),
                          _mm256_permute2x128_si256(t0, t1, 0x31));
}

// Scale entries of rows r0..r0+7, group g, as f32.
inline __m256 load_scales8(const WeightView& w, int64_t r0, int64_t g) {
  if (w.per_tensor) return _mm256_set1_ps(w.scales.at(0));
  if (w.scales.encoding == ScaleEncoding::f16) {
    alignas(16) uint16_t h[8];
    for (int j = 0; j < 8; ++j) std::memcpy(&h[j], w.scales.entry(w.entry_index(r0 + j, g)), 2);
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
  }
  alignas(32) float v[8];
  for (int j = 0; j < 8; ++j) v[j] = w.scale(r0 + j, g);
  return _mm256_load_ps(v);
}

// zero - off of rows r0..r0+7, group g (asymmetric weights), as f32: exact.
inline __m256 load_centered_zeros8(const WeightView& w, int64_t r0, int64_t g, float off) {
  alignas(16) uint16_t h[8];
  for (int j = 0; j < 8; ++j) std::memcpy(&h[j], w.zeros + w.entry_index(r0 + j, g), 2);
  return _mm256_sub_ps(_mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h))),
                       _mm256_set1_ps(off));
}

// How far ahead of each row stream bytes are prefetched. On rows of a few hundred bytes the
// eight short strided streams defeat the hardware prefetcher; measured best at about 8 KiB.
constexpr int64_t kPrefetchBytes = 8192;

// Scales (and zero - off) of rows r0..r0+7 for every group, [groups][8], read once per tile
// and reused by every activation row.
struct TileParams {
  std::vector<float> scales, zeros;
  void load(const WeightView& w, int64_t r0, int64_t groups) {
    scales.resize(static_cast<size_t>(groups * 8));
    if (!w.symmetric) zeros.resize(static_cast<size_t>(groups * 8));
    const float off = static_cast<float>(1 << (w.bits - 1));
    for (int64_t g = 0; g < groups; ++g) {
      _mm256_storeu_ps(scales.data() + g * 8, load_scales8(w, r0, g));
      if (!w.symmetric) _mm256_storeu_ps(zeros.data() + g * 8, load_centered_zeros8(w, r0, g, off));
    }
  }
};

// y[j] for weight rows r0..r0+7 and activation row i.
template <int kBits>
void tile8(const WeightView& w, const TileParams& params, const Q8Rows& a, int64_t i, int64_t r0,
           float* y) {
  constexpr int64_t kBlockBytes = kBits == 4 ? 16 : 32;
  constexpr int32_t kOff = 1 << (kBits - 1);
  // What the lanes still carry of the offset, removed with the activation block's code sum.
  constexpr int32_t kResidual = kBits == 4 ? kOff : kOff - kLanes8Offset;
  const int64_t blocks = a.blocks(), per_group = w.group_len / kQ8Block;
  const int64_t groups = blocks / per_group;
  const int8_t* q = a.q + i * a.k;
  const float* d = a.d + i * blocks;
  const int32_t* sums = a.sums + i * blocks;
  const uint8_t* rows[8];
  for (int j = 0; j < 8; ++j) rows[j] = w.row(r0 + j);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m256 gacc = _mm256_setzero_ps();
    for (int64_t b = g * per_group; b < (g + 1) * per_group; ++b) {
      const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + b * kQ8Block));
      if ((b * kBlockBytes) % 64 == 0)
        for (int j = 0; j < 8; ++j)
          _mm_prefetch(reinterpret_cast<const char*>(rows[j] + b * kBlockBytes + kPrefetchBytes),
                       _MM_HINT_T0);
      __m256i p[8];
      for (int j = 0; j < 8; ++j) {
        if constexpr (kBits == 4) {
          p[j] = lanes4(rows[j] + b * kBlockBytes, qv);
        } else {
          p[j] = lanes8(rows[j] + b * kBlockBytes, qv);
        }
      }
      __m256i isum = reduce8(p);
      if constexpr (kResidual != 0)
        isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(kResidual * sums[b]));
      gacc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_set1_ps(d[b]), gacc);
    }
    if (!w.symmetric) {
      gacc = _mm256_fnmadd_ps(_mm256_loadu_ps(params.zeros.data() + g * 8),
                              _mm256_set1_ps(a.zero_terms[i * groups + g]), gacc);
    }
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(params.scales.data() + g * 8), gacc, acc);
  }
  _mm256_storeu_ps(y, acc);
}

// The table entry: tiles of 8 weight rows, each kept in L1 while every activation row passes;
// the rows left over (fewer than 8) through the reference.
inline void dot_rows_tiled(const WeightView& w, const Q8Rows& a, int64_t row_begin, int64_t row_end,
                           float* y, int64_t ldy) {
  thread_local TileParams params;
  const int64_t groups = w.cols / w.group_len;
  int64_t r = row_begin;
  for (; r + 8 <= row_end; r += 8) {
    params.load(w, r, groups);
    for (int64_t i = 0; i < a.m; ++i) {
      if (w.bits == 4) {
        tile8<4>(w, params, a, i, r, y + i * ldy + r);
      } else {
        tile8<8>(w, params, a, i, r, y + i * ldy + r);
      }
    }
  }
  if (r < row_end) ref::dot_rows_q8(w, a, r, row_end, y, ldy);
}
