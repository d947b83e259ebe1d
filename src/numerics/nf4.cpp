// SPDX-License-Identifier: MIT
// NF4 nearest-code search by counting the codebook midpoints below x.
#include "numerics/nf4.h"

#include <cmath>

namespace lowbit {
namespace {

// Midpoints between adjacent codebook values, in double: the sum of two floats and its half
// are exact there, so `x > midpoint` is the exact nearest-value test with ties to the lower code.
struct Midpoints {
  std::array<double, 15> value{};
  constexpr Midpoints() {
    for (size_t i = 0; i < value.size(); ++i)
      value[i] = (static_cast<double>(kNf4Codebook[i]) + kNf4Codebook[i + 1]) * 0.5;
  }
};
constexpr Midpoints kMidpoints;

}  // namespace

uint8_t nf4_nearest(float x) {
  if (std::isnan(x)) return 7;  // no nearest value; the zero code keeps a decode finite
  const double v = x;           // values beyond [-1, 1] land on code 0 or 15 by themselves
  int code = 0;
  for (double m : kMidpoints.value) code += v > m ? 1 : 0;
  return static_cast<uint8_t>(code);
}

}  // namespace lowbit
