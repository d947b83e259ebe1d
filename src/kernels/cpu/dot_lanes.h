// SPDX-License-Identifier: MIT
// The scalar dot product (and sum) shared by the reference row kernels and the attention kernel.
#pragma once

#include <cstdint>

namespace lowbit::kernels::cpu {

// Eight independent lanes combined pairwise: a fixed order, so the result is reproducible, and
// a shape the compiler vectorizes.
inline float dot_lanes(const float* a, const float* b, int64_t n) {
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += a[i + j] * b[i + j];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])) + tail;
}

// The sum of a[0, n) in the same lane order.
inline float sum_lanes(const float* a, int64_t n) {
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lanes[j] += a[i + j];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i];
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) +
         ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7])) + tail;
}

}  // namespace lowbit::kernels::cpu
