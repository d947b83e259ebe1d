// SPDX-License-Identifier: MIT
// The NF4 codebook (QLoRA / bitsandbytes): 16 normal-distribution quantiles in [-1, 1], code
// order 0..15 ascending, code 7 = exact 0.
#pragma once

#include <array>
#include <cstdint>

namespace lowbit {

inline constexpr std::array<float, 16> kNf4Codebook = {
    -1.0f,          -0.6961928010f, -0.5250730515f, -0.3949174881f,
    -0.2844413817f, -0.1847734302f, -0.0910500363f, 0.0f,
    0.0795802996f,  0.1609302014f,  0.2461123019f,  0.3379152417f,
    0.4407098293f,  0.5626170039f,  0.7229568362f,  1.0f};

// The code whose value is nearest to x (x already divided by the block absmax, so in [-1, 1];
// values outside are clamped). Ties go to the lower code.
uint8_t nf4_nearest(float x);

}  // namespace lowbit
