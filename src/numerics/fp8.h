// SPDX-License-Identifier: MIT
// FP8 codecs. E4M3FN (OCP "e4m3fn"): 1 sign, 4 exponent (bias 7), 3 mantissa bits; no
// infinities; NaN = S.1111.111 (0x7F / 0xFF); max finite 448. E5M2: 1-5-2, bias 15, IEEE-like
// with infinities (S.11111.00) and NaNs; max finite 57344.
// Encoding rounds to nearest, ties to even, and saturates finite overflow (and infinity) to
// ±max finite; NaN encodes as a NaN code (0x7F, or 0xFF for negative NaN).
#pragma once

#include <cstdint>

namespace lowbit {

inline constexpr float kE4M3Max = 448.0f;
inline constexpr float kE5M2Max = 57344.0f;

uint8_t f32_to_e4m3(float value);
float e4m3_to_f32(uint8_t code);
uint8_t f32_to_e5m2(float value);
float e5m2_to_f32(uint8_t code);

}  // namespace lowbit
