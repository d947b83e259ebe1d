// SPDX-License-Identifier: MIT
// fp16 and bf16 codecs by integer manipulation of the IEEE bit patterns, so results do not
// depend on the host's F16C support or floating-point environment.
#include "numerics/half.h"

#include <bit>

namespace lowbit {
namespace {

// value >> shift, rounded to nearest with ties to even on the bits shifted out (shift >= 1).
uint32_t shift_right_rne(uint32_t value, int shift) {
  if (shift >= 32) return 0;
  const uint32_t kept = value >> shift;
  const uint32_t rest = value & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1u))) ? 1u : 0u);
}

}  // namespace

// binary32: 1 sign, 8 exponent (bias 127), 23 mantissa. binary16: 1, 5 (bias 15), 10.
uint16_t f32_to_f16(float value) {
  const auto x = std::bit_cast<uint32_t>(value);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) {
    // NaN: keep the top payload bits and force the quiet bit, so a signalling NaN whose
    // payload lives only in the low bits cannot turn into infinity.
    return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));
  }
  const int exponent = static_cast<int>(abs >> 23) - 127;
  if (exponent >= -14) {
    // Normal half range (or overflow). Rebias the exponent in place and round off 13
    // mantissa bits; a mantissa carry correctly bumps the exponent, and anything at or past
    // 0x7C00 (including +inf input) is infinity.
    const uint32_t rebased = abs - (static_cast<uint32_t>(127 - 15) << 23);
    const uint32_t h = exponent > 15 ? 0x7C00u : shift_right_rne(rebased, 13);
    return static_cast<uint16_t>(sign | (h >= 0x7C00u ? 0x7C00u : h));
  }
  // Subnormal half: the value in units of 2^-24 is the full significand (implicit bit
  // included) shifted right by (-14 - exponent) + 13. f32 subnormals (exponent -127) are far
  // below 2^-25 and round to zero through the same path.
  const uint32_t significand = (abs & 0x7FFFFFu) | 0x800000u;
  const int shift = (-14 - exponent) + 13;
  return static_cast<uint16_t>(sign | shift_right_rne(significand, shift));
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1Fu;
  const uint32_t mantissa = bits & 0x3FFu;
  if (exponent == 0x1F) {
    // Infinity, or NaN with its payload kept and the quiet bit set.
    const uint32_t nan_bits = mantissa == 0 ? 0u : (0x400000u | (mantissa << 13));
    return std::bit_cast<float>(sign | 0x7F800000u | nan_bits);
  }
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in f32.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(magnitude));
  }
  return std::bit_cast<float>(sign | ((exponent + 127 - 15) << 23) | (mantissa << 13));
}

// bfloat16 is the top half of a binary32, so encoding is rounding off the low 16 bits; a
// carry out of the largest finite value lands exactly on the infinity pattern.
uint16_t f32_to_bf16(float value) {
  const auto x = std::bit_cast<uint32_t>(value);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);
  return static_cast<uint16_t>(shift_right_rne(x & 0x7FFFFFFFu, 16) | ((x >> 16) & 0x8000u));
}

float bf16_to_f32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

}  // namespace lowbit
