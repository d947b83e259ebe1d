// SPDX-License-Identifier: MIT
// Portable row kernels for every format: decode a span of a group into a small f32 buffer,
// then dot it with x in eight lanes (a shape compilers vectorize at any baseline ISA).
#include <algorithm>
#include <array>
#include <cstring>

#include "kernels/cpu/dot_lanes.h"
#include "kernels/cpu/row_kernels.h"
#include "numerics/bit_pack.h"
#include "numerics/fp8.h"
#include "numerics/half.h"
#include "numerics/iq4_nl.h"
#include "numerics/nf4.h"

namespace lowbit::kernels::cpu::ref {

namespace {

// Elements decoded per step: small enough for the stack and L1, large enough to amortize.
constexpr int64_t kSpan = 256;

// The f32 value of every fp8 code, built once from the numerics codecs that define them.
struct Fp8Tables {
  std::array<float, 256> e4m3;
  std::array<float, 256> e5m2;
  Fp8Tables() {
    for (int c = 0; c < 256; ++c) {
      e4m3[c] = e4m3_to_f32(static_cast<uint8_t>(c));
      e5m2[c] = e5m2_to_f32(static_cast<uint8_t>(c));
    }
  }
};

const Fp8Tables& fp8_tables() {
  static const Fp8Tables tables;
  return tables;
}

// Unscaled values of elements [begin, begin + n) of a row, n <= kSpan: the dense element, the
// code minus the zero-point, the nf4 codebook entry or the fp8 value.
void decode_span(const WeightView& w, const uint8_t* row, int64_t begin, int64_t n, float zero,
                 float* out) {
  switch (w.kind) {
    case QuantKind::f32:
      std::memcpy(out, row + 4 * begin, static_cast<size_t>(n) * 4);
      return;
    case QuantKind::f16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, row + 2 * (begin + i), 2);
        out[i] = f16_to_f32(bits);
      }
      return;
    case QuantKind::bf16:
      // bf16 is the high half of an f32, so widening is exact.
      for (int64_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, row + 2 * (begin + i), 2);
        const uint32_t wide = static_cast<uint32_t>(bits) << 16;
        std::memcpy(&out[i], &wide, 4);
      }
      return;
    default:
      break;
  }
  uint8_t codes[kSpan];
  unpack_codes(row, begin, n, w.bits, codes);
  switch (w.kind) {
    case QuantKind::affine_int:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(codes[i]) - zero;
      return;
    case QuantKind::nf4:
      for (int64_t i = 0; i < n; ++i) out[i] = kNf4Codebook[codes[i]];
      return;
    case QuantKind::iq4_nl:
      for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(kIq4NlValues[codes[i]]);
      return;
    case QuantKind::fp8_e4m3:
    case QuantKind::fp8_e5m2: {
      const float* table =
          w.kind == QuantKind::fp8_e4m3 ? fp8_tables().e4m3.data() : fp8_tables().e5m2.data();
      for (int64_t i = 0; i < n; ++i) out[i] = table[codes[i]];
      return;
    }
    default:
      return;
  }
}

}  // namespace

void unpack_codes(const uint8_t* row, int64_t begin, int64_t n, int bits, uint8_t* out) {
  if (bits == 8) {
    std::memcpy(out, row + begin, static_cast<size_t>(n));
    return;
  }
  if ((bits == 4 || bits == 2) && (begin * bits) % 8 == 0) {
    // Whole bytes of 2 or 4 codes: a loop without carries between bytes, which vectorizes.
    const int per_byte = 8 / bits;
    const unsigned mask = (1u << bits) - 1u;
    const uint8_t* p = row + begin * bits / 8;
    const int64_t whole = n / per_byte;
    for (int64_t j = 0; j < whole; ++j)
      for (int c = 0; c < per_byte; ++c)
        out[j * per_byte + c] = static_cast<uint8_t>((p[j] >> (c * bits)) & mask);
    for (int64_t i = whole * per_byte; i < n; ++i) out[i] = packed_code(row, begin + i, bits);
    return;
  }
  int64_t i = 0;
  // Head: single codes until the stream position is a multiple of 8 codes (= `bits` bytes).
  for (; i < n && (begin + i) % 8 != 0; ++i) out[i] = packed_code(row, begin + i, bits);
  // Body: 8 codes at a time from exactly `bits` bytes, read as one little-endian integer.
  const uint64_t mask = (1u << bits) - 1u;
  for (; i + 8 <= n; i += 8) {
    const uint8_t* p = row + (begin + i) / 8 * bits;
    uint64_t v = 0;
    for (int b = 0; b < bits; ++b) v |= static_cast<uint64_t>(p[b]) << (8 * b);
    for (int j = 0; j < 8; ++j) out[i + j] = static_cast<uint8_t>((v >> (j * bits)) & mask);
  }
  for (; i < n; ++i) out[i] = packed_code(row, begin + i, bits);
}

void dot_rows(const WeightView& w, const float* x, int64_t row_begin, int64_t row_end, float* y) {
  float values[kSpan];
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = w.row(r);
    float total = 0.0f;
    for (int64_t g = 0; g < w.groups; ++g) {
      const int64_t g_begin = g * w.group_len;
      const int64_t g_size = w.group_size(g);
      const float zero = w.zero(r, g);
      float group = 0.0f;
      for (int64_t i = 0; i < g_size; i += kSpan) {
        const int64_t n = std::min(kSpan, g_size - i);
        decode_span(w, row, g_begin + i, n, zero, values);
        group += dot_lanes(values, x + g_begin + i, n);
      }
      total += w.scale(r, g) * group;
      // The min form adds min * sum(x) per group: w = scale * q + min.
      if (w.min_offset) total += w.min(r, g) * sum_lanes(x + g_begin, g_size);
    }
    y[r] = total;
  }
}

void decode_rows(const WeightView& w, int64_t row_begin, int64_t row_end, float* out) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = w.row(r);
    float* dst = out + (r - row_begin) * w.cols;
    for (int64_t g = 0; g < w.groups; ++g) {
      const int64_t g_begin = g * w.group_len;
      const int64_t g_size = w.group_size(g);
      const float zero = w.zero(r, g);
      const float scale = w.scale(r, g);
      for (int64_t i = 0; i < g_size; i += kSpan) {
        const int64_t n = std::min(kSpan, g_size - i);
        float* part = dst + g_begin + i;
        decode_span(w, row, g_begin + i, n, zero, part);
        if (w.min_offset) {
          const float min = w.min(r, g);
          for (int64_t j = 0; j < n; ++j) part[j] = scale * part[j] + min;  // two roundings
        } else if (!w.is_dense()) {
          for (int64_t j = 0; j < n; ++j) part[j] = scale * part[j];
        }
      }
    }
  }
}

}  // namespace lowbit::kernels::cpu::ref
