// SPDX-License-Identifier: MIT
// Grid parameter computation for affine, fp8 and NF4 quantization.
#include "quant/grid.h"

#include <cfloat>
#include <cmath>

#include "numerics/fp8.h"
#include "numerics/half.h"
#include "numerics/nf4.h"
#include "util/check.h"

namespace lowbit::quant {
namespace {

constexpr float kF16Max = 65504.0f;

// The largest f16 value <= x (x >= 0), saturating at the largest finite f16.
float f16_toward_zero(double x) {
  uint16_t h = f32_to_f16(static_cast<float>(x));
  // RNE via f32 lands within one f16 step of x; step down once if it went above.
  if (static_cast<double>(f16_to_f32(h)) > x) --h;
  return f16_to_f32(h);
}

float f32_toward_zero(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, 0.0f);
  return f;
}

// Applies the degenerate-group rule shared by every grid (see grid.h).
float usable_scale(float scale) { return scale >= FLT_MIN ? scale : 1.0f; }

}  // namespace

MinMax min_max(const float* x, int64_t n) {
  MinMax r{x[0], x[0]};
  for (int64_t i = 1; i < n; ++i) {
    r.min = x[i] < r.min ? x[i] : r.min;
    r.max = x[i] > r.max ? x[i] : r.max;
  }
  return r;
}

float abs_max(const float* x, int64_t n) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    m = a > m ? a : m;
  }
  return m;
}

AffineParams asymmetric_params(float min, float max, int bits, DType scale_dtype) {
  const float lo = min < 0.0f ? min : 0.0f;
  const float hi = max > 0.0f ? max : 0.0f;
  const int levels = (1 << bits) - 1;
  const double exact = (static_cast<double>(hi) - static_cast<double>(lo)) / levels;
  AffineParams p;
  p.scale =
      usable_scale(scale_dtype == DType::f16 ? f16_toward_zero(exact) : f32_toward_zero(exact));
  // 0 - lo, not -lo: an all-positive group must store zero-point +0, never -0.
  const float zero = round_half_even((0.0f - lo) / p.scale);
  p.zero = zero < 0.0f ? 0.0f : (zero > levels ? static_cast<float>(levels) : zero);
  p.qmin = 0.0f;
  p.qmax = static_cast<float>(levels);
  return p;
}

AffineParams symmetric_params(float absmax, int bits, DType scale_dtype) {
  const int half_levels = (1 << (bits - 1)) - 1;
  const float exact = absmax / static_cast<float>(half_levels);
  AffineParams p;
  if (scale_dtype == DType::f16) {
    p.scale = exact > kF16Max ? kF16Max : f16_to_f32(f32_to_f16(exact));
  } else {
    p.scale = exact;
  }
  p.scale = usable_scale(p.scale);
  p.zero = static_cast<float>(1 << (bits - 1));
  p.qmin = 1.0f;
  p.qmax = static_cast<float>((1 << bits) - 1);
  return p;
}

AffineParams affine_params(const QuantFormat& format, float min, float max) {
  LB_DCHECK(format.kind == QuantKind::affine_int);
  if (format.symmetric) {
    const float absmax = std::fmax(std::fabs(min), std::fabs(max));
    return symmetric_params(absmax, format.bits, format.scale_dtype);
  }
  return asymmetric_params(min, max, format.bits, format.scale_dtype);
}

float fp8_scale(float amax, QuantKind kind) {
  const float max = kind == QuantKind::fp8_e5m2 ? kE5M2Max : kE4M3Max;
  return usable_scale(amax / max);
}

uint8_t fp8_code(float w, float scale, QuantKind kind) {
  const float max = kind == QuantKind::fp8_e5m2 ? kE5M2Max : kE4M3Max;
  float x = w / scale;
  x = x > max ? max : (x < -max ? -max : x);
  return kind == QuantKind::fp8_e5m2 ? f32_to_e5m2(x) : f32_to_e4m3(x);
}

uint8_t nf4_code(float w, float absmax) {
  // A zero (or, with double quant, non-finite) absmax has no usable ratio; code 7 is exact 0.
  if (absmax == 0.0f || !std::isfinite(absmax)) return 7;
  return nf4_nearest(w / absmax);
}

float nf4_double_quantize(const float* absmax, int64_t n, uint8_t* codes, float* nested_scales) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += absmax[i];
  const auto offset = static_cast<float>(sum / static_cast<double>(n));
  for (int64_t b0 = 0; b0 < n; b0 += 256) {
    const int64_t b1 = b0 + 256 < n ? b0 + 256 : n;
    float max_dev = 0.0f;
    for (int64_t i = b0; i < b1; ++i) max_dev = std::fmax(max_dev, std::fabs(absmax[i] - offset));
    const float nested = usable_scale(max_dev / 127.0f);
    nested_scales[b0 / 256] = nested;
    for (int64_t i = b0; i < b1; ++i) {
      float q = round_half_even((absmax[i] - offset) / nested);
      q = q > 127.0f ? 127.0f : (q < -127.0f ? -127.0f : q);
      codes[i] = static_cast<uint8_t>(static_cast<int>(q) + 128);
    }
  }
  return offset;
}

}  // namespace lowbit::quant
