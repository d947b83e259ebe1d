// SPDX-License-Identifier: MIT
// Decode tables and the asymmetric int4 quantizer of the KV-cache formats.
#include "kernels/cpu/kv_codecs.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "numerics/fp8.h"
#include "numerics/half.h"

namespace lowbit::kernels::cpu {

const float* f16_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = f16_to_f32(static_cast<uint16_t>(i));
    return t;
  }();
  return table.data();
}

const float* e4m3_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(256);
    for (uint32_t i = 0; i < 256; ++i) t[i] = e4m3_to_f32(static_cast<uint8_t>(i));
    return t;
  }();
  return table.data();
}

const float* e5m2_table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(256);
    for (uint32_t i = 0; i < 256; ++i) t[i] = e5m2_to_f32(static_cast<uint8_t>(i));
    return t;
  }();
  return table.data();
}

void quantize_int4(const float* x, int64_t n, int64_t step, uint8_t* codes, uint16_t* pair) {
  float lo = x[0], hi = x[0];
  for (int64_t i = 1; i < n; ++i) {
    lo = std::min(lo, x[i * step]);
    hi = std::max(hi, x[i * step]);
  }
  pair[0] = f32_to_f16((hi - lo) / 15.0f);
  pair[1] = f32_to_f16(lo);
  const float scale = f16_to_f32(pair[0]);
  const float min = f16_to_f32(pair[1]);
  if (!(scale > 0.0f) || !std::isfinite(scale)) {
    // A constant group (or one beyond f16): every value is the stored minimum.
    pair[0] = f32_to_f16(0.0f);
    std::fill(codes, codes + n, uint8_t{0});
    return;
  }
  const float inv = 1.0f / scale;
  for (int64_t i = 0; i < n; ++i) {
    const float q = std::nearbyint((x[i * step] - min) * inv);
    codes[i] = static_cast<uint8_t>(std::clamp(q, 0.0f, 15.0f));
  }
}

}  // namespace lowbit::kernels::cpu
