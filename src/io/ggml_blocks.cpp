// SPDX-License-Identifier: MIT
// ggml block decoding, written from the block layouts in docs/FORMATS.md (section 4, GGUF).
// Each decoder walks one block at a time and computes element e from the documented element
// map; clarity over speed, since this runs once per tensor at load.
#include "io/ggml_blocks.h"

#include <array>
#include <cmath>
#include <cstring>

#include "numerics/bit_pack.h"
#include "numerics/half.h"
#include "numerics/iq4_nl.h"
#include "tensor/k_quant.h"
#include "util/check.h"

namespace lowbit::io {
namespace {

// Block sizes from ggml-common.h; used to bound each tensor's data inside the file.
constexpr std::array<GgmlType, 32> kGgmlTypes{{
    {0, "F32", 1, 4},         {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},
    {3, "Q4_1", 32, 20},      {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},
    {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 36},      {10, "Q2_K", 256, 84},
    {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66},
    {17, "IQ2_XS", 256, 74},  {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},
    {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},  {22, "IQ2_S", 256, 82},
    {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},        {28, "F64", 1, 8},
    {29, "IQ1_M", 256, 56},   {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},
    {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},
}};

// MXFP4 E2M1 values, doubled (so the E8M0 scale is taken as 2^(e - 128), half its value).
constexpr std::array<int8_t, 16> kMxfp4Values = {0, 1,  2,  3,  4,  6,  8,  12,
                                                 0, -1, -2, -3, -4, -6, -8, -12};

float f16_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Legacy 32-element nibble order (Q4_x, Q5_x, IQ4_NL, IQ4_XS sub-blocks, MXFP4): element j < 16
// is the low nibble of qs[j], element j + 16 the high nibble of qs[j].
unsigned legacy_nibble(const uint8_t* qs, int j) { return j < 16 ? qs[j] & 15u : qs[j - 16] >> 4; }
// Q5_0 / Q5_1 fifth bit: bit j of qh read as a little-endian u32.
unsigned q5_high_bit(const uint8_t* qh, int j) { return (qh[j / 8] >> (j % 8)) & 1u; }

// K-quant element maps for e in 0..255.
// 2-bit planes (Q2_K, Q3_K qs[64]): qs[32 * (e / 128) + e % 32], bits 2s..2s+1, s = (e % 128) / 32.
unsigned k_two_bits(const uint8_t* qs, int e) {
  return (qs[32 * (e / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3u;
}
// 4-bit planes (Q4_K, Q5_K qs[128]): qs[32 * (e / 64) + e % 32], low nibble when e % 64 < 32.
unsigned k_nibble(const uint8_t* qs, int e) {
  return (qs[32 * (e / 64) + e % 32] >> (e % 64 < 32 ? 0 : 4)) & 15u;
}
// High-bit plane (Q3_K hmask[32], Q5_K qh[32]): bit e / 32 of byte e % 32.
unsigned k_high_bit(const uint8_t* plane, int e) { return (plane[e % 32] >> (e / 32)) & 1u; }

// Q4_1 (20 B: d, m, qs[16]): y = d*q + m.
void decode_q4_1(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 20, y += 32) {
    const float d = f16_at(src), m = f16_at(src + 2);
    for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(legacy_nibble(src + 4, j)) + m;
  }
}

// Q5_1 (24 B: d, m, qh[4], qs[16]): q = nibble | high bit << 4; y = d*q + m.
void decode_q5_1(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 24, y += 32) {
    const float d = f16_at(src), m = f16_at(src + 2);
    for (int j = 0; j < 32; ++j) {
      const unsigned q = legacy_nibble(src + 8, j) | q5_high_bit(src + 4, j) << 4;
      y[j] = d * static_cast<float>(q) + m;
    }
  }
}

// IQ4_NL (18 B: d, qs[16]): y = d * K[q].
void decode_iq4_nl(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 18, y += 32) {
    const float d = f16_at(src);
    for (int j = 0; j < 32; ++j)
      y[j] = d * static_cast<float>(kIq4NlValues[legacy_nibble(src + 2, j)]);
  }
}

// MXFP4 (17 B: E8M0 e, qs[16]): y = 2^(e - 128) * T[q] with T the doubled E2M1 values.
void decode_mxfp4(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 17, y += 32) {
    const float d = std::ldexp(1.0f, static_cast<int>(src[0]) - 128);  // exact, 2^-128 included
    for (int j = 0; j < 32; ++j)
      y[j] = d * static_cast<float>(kMxfp4Values[legacy_nibble(src + 1, j)]);
  }
}

// Q2_K (84 B: scales[16], qs[64], d, dmin): sub-block k = e / 16 has scale nibble sc & 15 and
// min nibble sc >> 4; y = d*(sc & 15)*q - dmin*(sc >> 4).
void decode_q2_k(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 84, y += 256) {
    const uint8_t* scales = src;
    const uint8_t* qs = src + 16;
    const float d = f16_at(src + 80), dmin = f16_at(src + 82);
    for (int e = 0; e < 256; ++e) {
      const unsigned sc = scales[e / 16];
      y[e] = d * static_cast<float>(sc & 15u) * static_cast<float>(k_two_bits(qs, e)) -
             dmin * static_cast<float>(sc >> 4);
    }
  }
}

// Q3_K (110 B: hmask[32], qs[64], scales[12], d): 6-bit scales stored +32, low nibble in
// scales[j] (j < 8) or the high nibble of scales[j - 8], top 2 bits in scales[8 + j % 4] at
// bits 2*(j / 4); y = d*(sc - 32)*(low2 - (high bit ? 0 : 4)).
void decode_q3_k(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 110, y += 256) {
    const uint8_t* hmask = src;
    const uint8_t* qs = src + 32;
    const uint8_t* s = src + 96;
    const float d = f16_at(src + 108);
    for (int e = 0; e < 256; ++e) {
      const int j = e / 16;
      const unsigned low = j < 8 ? s[j] & 15u : s[j - 8] >> 4;
      const unsigned high = (s[8 + j % 4] >> (2 * (j / 4))) & 3u;
      const int sc = static_cast<int>(low | high << 4) - 32;
      const int q = static_cast<int>(k_two_bits(qs, e)) - (k_high_bit(hmask, e) != 0 ? 0 : 4);
      y[e] = d * static_cast<float>(sc) * static_cast<float>(q);
    }
  }
}

// Q4_K (144 B: d, dmin, scales[12], qs[128]): y = d*sc_j*q - dmin*m_j, j = e / 32.
void decode_q4_k(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 144, y += 256) {
    const float d = f16_at(src), dmin = f16_at(src + 2);
    for (int e = 0; e < 256; ++e) {
      unsigned sc = 0, m = 0;
      k_scale_min(src + 4, e / 32, sc, m);
      y[e] = d * static_cast<float>(sc) * static_cast<float>(k_nibble(src + 16, e)) -
             dmin * static_cast<float>(m);
    }
  }
}

// Q5_K (176 B: d, dmin, scales[12], qh[32], qs[128]): as Q4_K with q = nibble + 16*high bit.
void decode_q5_k(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 176, y += 256) {
    const float d = f16_at(src), dmin = f16_at(src + 2);
    for (int e = 0; e < 256; ++e) {
      unsigned sc = 0, m = 0;
      k_scale_min(src + 4, e / 32, sc, m);
      const unsigned q = k_nibble(src + 48, e) | k_high_bit(src + 16, e) << 4;
      y[e] = d * static_cast<float>(sc) * static_cast<float>(q) - dmin * static_cast<float>(m);
    }
  }
}

// Q6_K (210 B: ql[128], qh[64], int8 scales[16], d last): for h = e / 128, g = (e % 128) / 32,
// l = e % 32 the low 4 bits are in ql[64h + l + 32*(g & 1)] (low nibble when g < 2) and the high
// 2 bits in qh[32h + l] at bits 2g; y = d*scales[e / 16]*(q - 32).
void decode_q6_k(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 210, y += 256) {
    const uint8_t* ql = src;
    const uint8_t* qh = src + 128;
    const auto* scales = reinterpret_cast<const int8_t*>(src + 192);
    const float d = f16_at(src + 208);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, g = (e % 128) / 32, l = e % 32;
      const unsigned low = (ql[64 * h + l + 32 * (g & 1)] >> (g < 2 ? 0 : 4)) & 15u;
      const unsigned high = (qh[32 * h + l] >> (2 * g)) & 3u;
      const int q = static_cast<int>(low | high << 4) - 32;
      y[e] = d * static_cast<float>(scales[e / 16]) * static_cast<float>(q);
    }
  }
}

// IQ4_XS (136 B: d, u16 scales_h, scales_l[4], qs[128]): sub-block i (0..7) of 32 has the
// 6-bit scale ls = nibble i % 2 of scales_l[i / 2] | (bits 2i..2i+1 of scales_h) << 4, stored
// +32, and its 16 bytes of qs in the legacy nibble order; y = d*(ls - 32)*K[q].
void decode_iq4_xs(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 136, y += 256) {
    const float d = f16_at(src);
    uint16_t scales_h;
    std::memcpy(&scales_h, src + 2, 2);
    for (int i = 0; i < 8; ++i) {
      const unsigned ls = ((src[4 + i / 2] >> (4 * (i % 2))) & 15u) | ((scales_h >> (2 * i)) & 3u)
                                                                          << 4;
      const float dl = d * static_cast<float>(static_cast<int>(ls) - 32);
      for (int j = 0; j < 32; ++j)
        y[32 * i + j] = dl * static_cast<float>(kIq4NlValues[legacy_nibble(src + 8 + 16 * i, j)]);
    }
  }
}

// TQ2_0 (66 B: qs[64], d): element 128h + 32s + m is bits 2s..2s+1 of qs[32h + m];
// y = (q - 1)*d.
void decode_tq2_0(const uint8_t* src, size_t n_blocks, float* y) {
  for (size_t b = 0; b < n_blocks; ++b, src += 66, y += 256) {
    const float d = f16_at(src + 64);
    for (int e = 0; e < 256; ++e) {
      const int q = static_cast<int>(k_two_bits(src, e)) - 1;
      y[e] = d * static_cast<float>(q);
    }
  }
}

// Base-3 digit n (0..4) of a TQ1_0 byte: ((byte * 3^n mod 256) * 3) >> 8.
int ternary_digit(uint8_t byte, int n) {
  static constexpr std::array<uint8_t, 5> kPow3 = {1, 3, 9, 27, 81};
  const auto shifted = static_cast<uint8_t>(byte * kPow3[n]);
  return (shifted * 3) >> 8;
}

// TQ1_0 (54 B: qs[48], qh[4], d): digits 0..4 of qs[0..32) give elements 32n + m, digits 0..4
// of qs[32..48) elements 160 + 16n + m, digits 0..3 of qh[0..4) elements 240 + 4n + m;
// y = (digit - 1)*d.
void decode_tq1_0(const uint8_t* src, size_t n_blocks, float* y) {
  struct Run {
    int first_byte, bytes, digits, first_element;
  };
  static constexpr std::array<Run, 3> kRuns = {{{0, 32, 5, 0}, {32, 16, 5, 160}, {48, 4, 4, 240}}};
  for (size_t b = 0; b < n_blocks; ++b, src += 54, y += 256) {
    const float d = f16_at(src + 52);
    for (const Run& r : kRuns)
      for (int n = 0; n < r.digits; ++n)
        for (int m = 0; m < r.bytes; ++m)
          y[r.first_element + r.bytes * n + m] =
              d * static_cast<float>(ternary_digit(src[r.first_byte + m], n) - 1);
  }
}

}  // namespace

const GgmlType* ggml_type(uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (t.id == id) return &t;
  return nullptr;
}

GgmlDecoder ggml_decoder(uint32_t type) {
  switch (type) {
    case kGgmlQ4_1:
      return decode_q4_1;
    case kGgmlQ5_1:
      return decode_q5_1;
    case kGgmlQ2_K:
      return decode_q2_k;
    case kGgmlQ3_K:
      return decode_q3_k;
    case kGgmlQ4_K:
      return decode_q4_k;
    case kGgmlQ5_K:
      return decode_q5_k;
    case kGgmlQ6_K:
      return decode_q6_k;
    case kGgmlIQ4_NL:
      return decode_iq4_nl;
    case kGgmlIQ4_XS:
      return decode_iq4_xs;
    case kGgmlTQ1_0:
      return decode_tq1_0;
    case kGgmlTQ2_0:
      return decode_tq2_0;
    case kGgmlMXFP4:
      return decode_mxfp4;
    default:
      return nullptr;
  }
}

int ggml_packed_bits(uint32_t type) {
  switch (type) {
    case kGgmlQ8_0:
      return 8;
    case kGgmlQ4_0:
    case kGgmlQ4_1:
      return 4;
    case kGgmlQ5_0:
    case kGgmlQ5_1:
      return 5;
    case kGgmlIQ4_NL:
      return 4;
    default:
      return 0;
  }
}

int ggml_k_bits(uint32_t type) {
  switch (type) {
    case kGgmlQ4_K:
      return 4;
    case kGgmlQ5_K:
      return 5;
    case kGgmlQ6_K:
      return 6;
    default:
      return 0;
  }
}

bool ggml_min_form(uint32_t type) { return type == kGgmlQ4_1 || type == kGgmlQ5_1; }

QuantFormat ggml_packed_format(uint32_t type) {
  const int bits = ggml_packed_bits(type);
  LB_CHECK(bits != 0 || ggml_k_bits(type) != 0, "ggml type ", type, " is not held packed");
  if (type == kGgmlIQ4_NL) return QuantFormat::iq4_nl(32);
  if (const int k = ggml_k_bits(type); k != 0) return QuantFormat::k_quant_of(k);
  return ggml_min_form(type) ? QuantFormat::affine_min(bits, 32)
                             : QuantFormat::affine(bits, 32, true);
}

namespace {

// Where a legacy block's fields start: d, then m (min form), then qh (5-bit), then qs.
struct LegacyLayout {
  size_t m = 0, qh = 0, qs = 0;
  explicit LegacyLayout(uint32_t type) {
    const bool min_form = ggml_min_form(type);
    m = min_form ? 2 : 0;
    qh = min_form ? 4 : 2;
    qs = ggml_packed_bits(type) == 5 ? qh + 4 : qh;
  }
};

}  // namespace

void repack_ggml_blocks(uint32_t type, const uint8_t* src, size_t n_blocks, uint8_t* codes,
                        uint8_t* scales, uint8_t* mins) {
  const int bits = ggml_packed_bits(type);
  const LegacyLayout at(type);
  const size_t block_bytes = ggml_type(type)->bytes;
  uint8_t q[32];
  for (size_t b = 0; b < n_blocks; ++b, src += block_bytes) {
    std::memcpy(scales + 2 * b, src, 2);                                // the f16 d, bit for bit
    if (ggml_min_form(type)) std::memcpy(mins + 2 * b, src + at.m, 2);  // the f16 m
    for (int j = 0; j < 32; ++j) {
      if (type == kGgmlQ8_0) {
        // int8 q in [-128, 127] -> unsigned code q + 128 (the symmetric zero for 8 bits).
        q[j] = static_cast<uint8_t>(src[2 + j] ^ 0x80u);
      } else {
        // Q4_0: y = d*(q - 8), Q5_0: y = d*(q - 16): the code is q itself, 8 and 16 being
        // lowbit's symmetric zeros; Q4_1 / Q5_1: y = d*q + m, the min form's code is q;
        // IQ4_NL: y = d*K[q], lowbit's iq4_nl code is q.
        const unsigned low = legacy_nibble(src + at.qs, j);
        q[j] = static_cast<uint8_t>(bits == 5 ? low | q5_high_bit(src + at.qh, j) << 4 : low);
      }
    }
    pack_bits(q, 32, bits, codes + b * 4 * static_cast<size_t>(bits));
  }
}

void pack_ggml_blocks(uint32_t type, const uint8_t* codes, const uint8_t* scales,
                      const uint8_t* mins, size_t n_blocks, uint8_t* dst) {
  const int bits = ggml_packed_bits(type);
  LB_CHECK(bits != 0, "pack_ggml_blocks: ggml type ", type, " is not held packed");
  const LegacyLayout at(type);
  const size_t block_bytes = ggml_type(type)->bytes;
  uint8_t q[32];
  for (size_t b = 0; b < n_blocks; ++b, dst += block_bytes) {
    std::memset(dst, 0, block_bytes);
    std::memcpy(dst, scales + 2 * b, 2);
    if (ggml_min_form(type)) std::memcpy(dst + at.m, mins + 2 * b, 2);
    unpack_bits(codes + b * 4 * static_cast<size_t>(bits), 32, bits, q);
    if (type == kGgmlQ8_0) {
      for (int j = 0; j < 32; ++j) dst[2 + j] = static_cast<uint8_t>(q[j] ^ 0x80u);
      continue;
    }
    // Element j < 16 in the low nibble of qs[j], j + 16 in the high nibble; a 5-bit type's bit 4
    // of element j is bit j of qh.
    uint8_t* qs = dst + at.qs;
    for (int j = 0; j < 16; ++j)
      qs[j] = static_cast<uint8_t>((q[j] & 15u) | (q[j + 16] & 15u) << 4);
    if (bits == 5)
      for (int j = 0; j < 32; ++j)
        dst[at.qh + j / 8] |= static_cast<uint8_t>(((q[j] >> 4) & 1u) << (j % 8));
  }
}

namespace {

// Code of element e (0..255) of a k-quant super-block (layouts in ggml_blocks.h / k_quant.h).
unsigned k_code(uint32_t type, const uint8_t* src, int e) {
  if (type == kGgmlQ4_K) return k_nibble(src + 16, e);
  if (type == kGgmlQ5_K) return k_nibble(src + 48, e) | k_high_bit(src + 16, e) << 4;
  const int h = e / 128, g = (e % 128) / 32, l = e % 32;  // Q6_K
  const unsigned low = (src[64 * h + l + 32 * (g & 1)] >> (g < 2 ? 0 : 4)) & 15u;
  const unsigned high = (src[128 + 32 * h + l] >> (2 * g)) & 3u;
  return low | high << 4;
}

// Where a k-quant block's scale bytes (lowbit's super-block scale entry) sit.
size_t k_scale_offset(uint32_t type) { return type == kGgmlQ6_K ? 192 : 0; }

}  // namespace

void repack_ggml_k_blocks(uint32_t type, const uint8_t* src, size_t n_blocks, uint8_t* codes,
                          uint8_t* scales) {
  const int bits = ggml_k_bits(type);
  LB_CHECK(bits != 0, "repack_ggml_k_blocks: ggml type ", type, " is not a k-quant");
  const size_t block_bytes = ggml_type(type)->bytes;
  const auto scale_bytes = static_cast<size_t>(k_super_bytes(bits));
  uint8_t q[256];
  for (size_t b = 0; b < n_blocks; ++b, src += block_bytes) {
    std::memcpy(scales + b * scale_bytes, src + k_scale_offset(type), scale_bytes);
    for (int e = 0; e < 256; ++e) q[e] = static_cast<uint8_t>(k_code(type, src, e));
    pack_bits(q, 256, bits, codes + b * 32 * static_cast<size_t>(bits));
  }
}

void pack_ggml_k_blocks(uint32_t type, const uint8_t* codes, const uint8_t* scales, size_t n_blocks,
                        uint8_t* dst) {
  const int bits = ggml_k_bits(type);
  LB_CHECK(bits != 0, "pack_ggml_k_blocks: ggml type ", type, " is not a k-quant");
  const size_t block_bytes = ggml_type(type)->bytes;
  const auto scale_bytes = static_cast<size_t>(k_super_bytes(bits));
  uint8_t q[256];
  for (size_t b = 0; b < n_blocks; ++b, dst += block_bytes) {
    std::memset(dst, 0, block_bytes);
    std::memcpy(dst + k_scale_offset(type), scales + b * scale_bytes, scale_bytes);
    unpack_bits(codes + b * 32 * static_cast<size_t>(bits), 256, bits, q);
    for (int e = 0; e < 256; ++e) {
      const unsigned c = q[e];
      if (type == kGgmlQ6_K) {
        const int h = e / 128, g = (e % 128) / 32, l = e % 32;
        dst[64 * h + l + 32 * (g & 1)] |= static_cast<uint8_t>((c & 15u) << (g < 2 ? 0 : 4));
        dst[128 + 32 * h + l] |= static_cast<uint8_t>(((c >> 4) & 3u) << (2 * g));
        continue;
      }
      // Q4_K / Q5_K: 4-bit planes (qs at 16 / 48), Q5_K's bit 4 in the high-bit plane at 16.
      uint8_t* qs = dst + (type == kGgmlQ4_K ? 16 : 48);
      qs[32 * (e / 64) + e % 32] |= static_cast<uint8_t>((c & 15u) << (e % 64 < 32 ? 0 : 4));
      if (type == kGgmlQ5_K) dst[16 + e % 32] |= static_cast<uint8_t>(((c >> 4) & 1u) << (e / 32));
    }
  }
}

}  // namespace lowbit::io
