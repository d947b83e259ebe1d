// SPDX-License-Identifier: MIT
// Where extra bits help most: each block linear's measured sensitivity, the KL divergence of the
// model's next-token distribution when that linear ALONE is rounded to a probe format (every
// other tensor as stored), on calibration windows. For small independent errors the KL of a
// quantized model is, to second order, the sum of these per-linear terms, so they rank the
// linears by what quantizing them costs the output, including what the layers after them do
// with the error (which a layer's own output error cannot see).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/model_source.h"
#include "kernels/exec_context.h"
#include "quant/scheme.h"

namespace lowbit::ptq {

struct LinearSensitivity {
  std::string name;     // HF name of the linear
  int64_t weights = 0;  // rows x cols
  double kl = 0;        // mean KL(model || model with this linear rounded), nats per position
};

// What a mix plan was made from: the linears' sensitivities and how they were measured.
struct SensitivityRun {
  std::vector<LinearSensitivity> linears;
  std::string probe_format;  // format_name of the rounding
  int64_t windows = 0, window_tokens = 0;
};

struct SensitivityProgress {
  int64_t done = 0, total = 0;  // linears measured
  const LinearSensitivity* last = nullptr;
  double seconds = 0;
};

// Measures every block linear of `source` (forward order) rounded to `probe`'s format (by its
// data-free algorithm; calibrated ones are probed by weight-only RTN of their format), on
// `windows` (token runs of one length; positions from the second half of each window are
// scored, as llama.cpp's perplexity scores them). Each measurement reruns only the blocks from
// the linear's own onward, from hidden states cached once per window. Deterministic at any
// thread count.
std::vector<LinearSensitivity> measure_linear_sensitivity(
    const ModelSource& source, const quant::Scheme& probe,
    const std::vector<std::vector<int32_t>>& windows, kernels::ExecContext& ctx,
    const std::function<void(const SensitivityProgress&)>& progress = {});

}  // namespace lowbit::ptq
