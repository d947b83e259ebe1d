// SPDX-License-Identifier: MIT
// FP8 E4M3FN / E5M2 codecs, written once for a generic 1-E-M minifloat and instantiated twice.
#include "numerics/fp8.h"

#include <array>
#include <bit>
#include <cmath>

namespace lowbit {
namespace {

struct Minifloat {
  int mantissa_bits;
  int bias;
  float max_finite;
  bool has_infinity;  // E5M2: exponent all ones is inf/NaN; E4M3FN: only S.1111.111 is NaN
};

constexpr Minifloat kE4M3{3, 7, kE4M3Max, false};
constexpr Minifloat kE5M2{2, 15, kE5M2Max, true};

// Codes of one sign are monotone in value, so the magnitude code of a value is the count of
// quantization steps below it. With quantum = 2^(max(e, emin) - M) (e = floor(log2|v|), emin =
// 1 - bias), q = round_half_even(|v| / quantum) is exact arithmetic (a power-of-two scaling),
// and the code is q for subnormals or ((e + bias) << M) + (q - 2^M) for normals; both formulas
// stay right when rounding carries into the next binade (q = 2^M or 2^(M+1)).
uint8_t encode(const Minifloat& f, float value) {
  const auto bits = std::bit_cast<uint32_t>(value);
  const uint8_t sign = (bits >> 31) != 0 ? 0x80 : 0x00;
  if (std::isnan(value)) return static_cast<uint8_t>(sign | 0x7F);
  float magnitude = std::fabs(value);
  // Saturate finite overflow and infinity; values at or below max round within range.
  if (magnitude >= f.max_finite) magnitude = f.max_finite;
  const int emin = 1 - f.bias;
  int exponent = static_cast<int>((std::bit_cast<uint32_t>(magnitude) >> 23) & 0xFF) - 127;
  if (exponent < emin) exponent = emin;
  // Multiplying by the power of two 2^(M - exponent), built from its bits, is exact.
  const float step_inverse =
      std::bit_cast<float>(static_cast<uint32_t>(127 + f.mantissa_bits - exponent) << 23);
  const float q = std::nearbyint(magnitude * step_inverse);
  const int steps = static_cast<int>(q);
  int code;
  if (exponent == emin && steps < (1 << f.mantissa_bits)) {
    code = steps;  // subnormal (or zero)
  } else {
    code = ((exponent + f.bias) << f.mantissa_bits) + (steps - (1 << f.mantissa_bits));
  }
  return static_cast<uint8_t>(sign | code);
}

float decode(const Minifloat& f, uint8_t code) {
  const int mantissa_mask = (1 << f.mantissa_bits) - 1;
  const int exponent_field = (code & 0x7F) >> f.mantissa_bits;
  const int mantissa = code & mantissa_mask;
  const int exponent_max = 0x7F >> f.mantissa_bits;
  const bool negative = (code & 0x80) != 0;
  float magnitude;
  if (f.has_infinity && exponent_field == exponent_max) {
    magnitude = mantissa == 0 ? INFINITY : NAN;
  } else if (!f.has_infinity && (code & 0x7F) == 0x7F) {
    magnitude = NAN;
  } else if (exponent_field == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), 1 - f.bias - f.mantissa_bits);
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa + (1 << f.mantissa_bits)),
                           exponent_field - f.bias - f.mantissa_bits);
  }
  return negative ? -magnitude : magnitude;
}

// Decoding goes through a 256-entry table built once from `decode`.
std::array<float, 256> decode_table(const Minifloat& f) {
  std::array<float, 256> table{};
  for (int code = 0; code < 256; ++code) table[code] = decode(f, static_cast<uint8_t>(code));
  return table;
}

}  // namespace

uint8_t f32_to_e4m3(float value) { return encode(kE4M3, value); }
uint8_t f32_to_e5m2(float value) { return encode(kE5M2, value); }

float e4m3_to_f32(uint8_t code) {
  static const std::array<float, 256> table = decode_table(kE4M3);
  return table[code];
}

float e5m2_to_f32(uint8_t code) {
  static const std::array<float, 256> table = decode_table(kE5M2);
  return table[code];
}

}  // namespace lowbit
