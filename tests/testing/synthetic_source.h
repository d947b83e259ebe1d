// SPDX-License-Identifier: MIT
// A synthetic model (ptq/synthetic_model.h, fixed seed) as a ModelSource, the form quantize_model,
// the calibration driver and the sensitivity measurement take.
#pragma once

#include <string>

#include "io/model_source.h"

namespace lowbit::testing {

// The synthetic_preset(`preset`) model with format "hf".
ModelSource synthetic_source(const std::string& preset);

}  // namespace lowbit::testing
