// SPDX-License-Identifier: MIT
// Shared pieces of the kernel tests: the Isas this machine can run, and seeded normal data.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/exec_context.h"

namespace lowbit::testing {

// Isa::scalar, then AVX2 and AVX-512 where the CPU has them.
std::vector<kernels::Isa> isas();

// n values from N(0, 1), seeded.
std::vector<float> normal_values(int64_t n, uint32_t seed);

}  // namespace lowbit::testing
