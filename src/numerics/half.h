// SPDX-License-Identifier: MIT
// IEEE binary16 (fp16) and bfloat16 codecs. Encoding rounds to nearest, ties to even;
// overflow gives infinity; NaN stays NaN (quiet).
#pragma once

#include <cstdint>

namespace lowbit {

uint16_t f32_to_f16(float value);
float f16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float value);
float bf16_to_f32(uint16_t bits);

}  // namespace lowbit
