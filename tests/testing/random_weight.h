// SPDX-License-Identifier: MIT
// Random weights of any format for kernel tests: codes over the whole range, scales in
// [0.01, 0.1), zero-points anywhere in the code range, fp8 codes that decode to finite values,
// random trellis streams.
#pragma once

#include <cstdint>

#include "tensor/quantized_tensor.h"

namespace lowbit::testing {

QuantizedTensor random_weight(const QuantFormat& f, int64_t rows, int64_t cols, uint32_t seed);

}  // namespace lowbit::testing
