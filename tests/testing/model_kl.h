// SPDX-License-Identifier: MIT
// The mean KL divergence of one model's next-token distribution from another's, by two
// whole-model forward passes: the direct computation tests compare calibrated results with.
#pragma once

#include <cstdint>
#include <vector>

#include "io/model_source.h"

namespace lowbit::testing {

// Mean over the second half of each window's positions of KL(source || source's config with
// `tensors`), the reference distribution first.
double mean_kl(const ModelSource& source, const TensorMap& tensors,
               const std::vector<std::vector<int32_t>>& windows);

}  // namespace lowbit::testing
