// SPDX-License-Identifier: MIT
// Round half to even, the rounding every quantizer in lowbit uses (as torch.round does).
#pragma once

#include <cmath>

namespace lowbit {

// std::nearbyint rounds ties to even under the default floating-point environment.
inline float round_half_even(float x) { return std::nearbyint(x); }

}  // namespace lowbit
