// SPDX-License-Identifier: MIT
// Activation-outlier analysis: the per-channel max |x| of every linear group's input over
// calibration windows, run through the unquantized model, and the figures `lowbit outliers`
// prints from it (largest channel vs the median, channels above LLM.int8()'s threshold and the
// layers that share them, how many of int8's 127 levels a typical channel uses under one
// per-tensor scale).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "kernels/exec_context.h"
#include "model/block_forward.h"
#include "model/llama_model.h"

namespace lowbit::ptq {

struct InputProfile {
  int64_t layer = 0;
  model::LinearInput input = model::LinearInput::qkv;
  std::vector<float> abs_max;  // [channels]: max |x| over every calibration token
};

struct ActivationProfile {
  std::vector<InputProfile> inputs;  // layer-major, in model::LinearInput order
  int64_t tokens = 0;                // calibration tokens seen
};

// Runs `windows` through `model` (no logits) and keeps each input's per-channel max |x|.
ActivationProfile profile_activations(const model::LlamaModel& model,
                                      const std::vector<std::vector<int32_t>>& windows,
                                      kernels::ExecContext& ctx);

struct InputOutliers {
  float max = 0, median = 0;  // of the per-channel maxima
  double ratio = 0;           // max / median (0 when the median is 0)
  int64_t argmax = -1;
  std::vector<int64_t> above;  // channels whose max |x| >= threshold, ascending
  // int8 levels the median channel reaches when one scale (max / 127) covers the tensor.
  double median_levels = 0;
};

InputOutliers summarize_input(const std::vector<float>& abs_max, float threshold);

// For each input kind, the channels above `threshold` in at least `min_layers` layers and the
// layers where they are: channel -> layers.
std::map<int64_t, std::vector<int64_t>> shared_outlier_channels(const ActivationProfile& profile,
                                                                model::LinearInput input,
                                                                float threshold,
                                                                int64_t min_layers = 2);

}  // namespace lowbit::ptq
