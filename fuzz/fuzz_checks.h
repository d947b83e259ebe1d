// SPDX-License-Identifier: MIT
// What every fuzz target does with a tensor a reader returned: the checks a loader would run,
// then a full decode of small tensors, so that a reader that accepts buffers too short for
// the format shows up as an out-of-bounds read under AddressSanitizer.
#pragma once

#include <cstdint>
#include <string>

#include "tensor/dequantize.h"
#include "tensor/quantized_tensor.h"
#include "util/error.h"

namespace lowbit::fuzz {

// Decoding is linear in numel; above this the target only validates.
inline constexpr int64_t kMaxDecodedElements = int64_t{1} << 16;

inline void exercise_tensor(const QuantizedTensor& t, const std::string& name) {
  try {
    t.validate(name);
    t.check_finite(name);
    if (t.numel() <= kMaxDecodedElements) {
      volatile float sink = 0.0f;
      for (const float v : dequantize_reference(t)) sink = sink + v;
    }
  } catch (const Error&) {
    // A malformed tensor that the checks refuse is the expected outcome.
  }
}

}  // namespace lowbit::fuzz
