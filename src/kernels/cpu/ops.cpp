// SPDX-License-Identifier: MIT
// The activation kernels (rms_norm, rope, softmax, silu_mul): plain loops that
// auto-vectorize; they are cheap next to linear, so accuracy comes before speed here.
#include <cmath>
#include <vector>

#include "kernels/cpu/dot_lanes.h"
#include "kernels/kernels.h"
#include "util/check.h"

namespace lowbit::kernels {

namespace {

// Softmax without checks.
void softmax_unchecked(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  // exp in f32 as HF does (x - max rounds, so a probability e^-40 carries ~40 * 2^-24 relative
  // error; the large ones are exact to an ulp). Sum in double: n can be a 128k vocabulary.
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const auto inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace

void rms_norm(const float* x, const float* weight, int64_t dim, float eps, float* y) {
  LB_CHECK(x != nullptr && weight != nullptr && y != nullptr, "rms_norm: null pointer");
  LB_CHECK(dim > 0, "rms_norm: dim must be > 0, got ", dim);
  LB_CHECK(eps >= 0.0f, "rms_norm: eps must be >= 0, got ", eps);
  // The mean square accumulates in double: exact enough that the result is the correctly
  // rounded f32 in practice, at a cost that is nothing next to the linear that follows.
  double sum = 0.0;
  for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(x[i]) * x[i];
  const auto inv = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(dim) + eps));
  // (x * inv) * weight in f32, the order HF's LlamaRMSNorm uses.
  for (int64_t i = 0; i < dim; ++i) y[i] = (x[i] * inv) * weight[i];
}

void rope(float* x, int64_t n_heads, int64_t head_dim, int64_t pos, const float* inv_freq,
          bool interleaved) {
  LB_CHECK(x != nullptr && inv_freq != nullptr, "rope: null pointer");
  LB_CHECK(n_heads > 0 && head_dim > 0 && head_dim % 2 == 0, "rope: bad shape ", n_heads,
           " heads of ", head_dim, " (head_dim must be even)");
  LB_CHECK(pos >= 0, "rope: position must be >= 0, got ", pos);
  const int64_t half = head_dim / 2;
  // Angles in double: pos * inv_freq in f32 loses whole radians of phase at long positions.
  thread_local std::vector<float> cos_sin;
  cos_sin.resize(static_cast<size_t>(head_dim));
  float* cos_v = cos_sin.data();
  float* sin_v = cos_sin.data() + half;
  for (int64_t i = 0; i < half; ++i) {
    const double angle = static_cast<double>(pos) * static_cast<double>(inv_freq[i]);
    cos_v[i] = static_cast<float>(std::cos(angle));
    sin_v[i] = static_cast<float>(std::sin(angle));
  }
  // Pair i is (2i, 2i+1) interleaved, (i, i + half) half-split; both rotate by angle i.
  const int64_t first_stride = interleaved ? 2 : 1;
  const int64_t second_offset = interleaved ? 1 : half;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      float* a = head + i * first_stride;
      float* b = a + second_offset;
      const float x0 = *a;
      const float x1 = *b;
      *a = x0 * cos_v[i] - x1 * sin_v[i];
      *b = x0 * sin_v[i] + x1 * cos_v[i];
    }
  }
}

void softmax(float* x, int64_t n) {
  LB_CHECK(x != nullptr, "softmax: null pointer");
  LB_CHECK(n > 0, "softmax: n must be > 0, got ", n);
  softmax_unchecked(x, n);
}

void silu_mul(float* gate, const float* up, int64_t n) {
  LB_CHECK(gate != nullptr && up != nullptr, "silu_mul: null pointer");
  LB_CHECK(n >= 0, "silu_mul: n must be >= 0, got ", n);
  // g / (1 + e^-g): for very negative g the exponential overflows to inf and the quotient is
  // -0, never NaN.
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace lowbit::kernels
