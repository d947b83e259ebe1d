// SPDX-License-Identifier: MIT
// The IQ4_NL codebook (llama.cpp's kvalues_iq4nl): 16 non-uniform int8 levels, ascending, a
// weight being d * value[q]. Denser near zero than a uniform 4-bit grid, where most weights lie.
#pragma once

#include <array>
#include <cstdint>

namespace lowbit {

inline constexpr std::array<int8_t, 16> kIq4NlValues = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                        1,    13,   25,  38,  53,  69,  89,  113};

// The same levels as floats (exact), for decoders that work in f32.
inline constexpr std::array<float, 16> kIq4NlLevels = {
    -127.0f, -104.0f, -83.0f, -65.0f, -49.0f, -35.0f, -22.0f, -10.0f,
    1.0f,    13.0f,   25.0f,  38.0f,  53.0f,  69.0f,  89.0f,  113.0f};

// The code whose level is nearest to v (v in level units), as ggml's best_index_int8: values at
// or beyond the ends take the end codes; between two levels the lower one wins only when it is
// strictly nearer, so ties go to the higher code.
inline int iq4_nl_nearest(float v) {
  if (v <= static_cast<float>(kIq4NlValues[0])) return 0;
  if (v >= static_cast<float>(kIq4NlValues[15])) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (v < static_cast<float>(kIq4NlValues[mid])) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return v - static_cast<float>(kIq4NlValues[lo]) < static_cast<float>(kIq4NlValues[hi]) - v ? lo
                                                                                             : hi;
}

}  // namespace lowbit
