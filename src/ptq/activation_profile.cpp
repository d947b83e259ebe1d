// SPDX-License-Identifier: MIT
#include "ptq/activation_profile.h"

#include <algorithm>
#include <cmath>

#include "util/check.h"

namespace lowbit::ptq {

ActivationProfile profile_activations(const model::LlamaModel& model,
                                      const std::vector<std::vector<int32_t>>& windows,
                                      kernels::ExecContext& ctx) {
  const model::LlamaConfig& c = model.config();
  ActivationProfile profile;
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int i = 0; i < model::kLinearInputs; ++i)
      profile.inputs.push_back({l, static_cast<model::LinearInput>(i), {}});
  // Called on the calling thread between kernels, so plain updates are safe.
  const model::LinearObserver observer = [&](int64_t layer, model::LinearInput input,
                                             const float* x, int64_t rows, int64_t cols) {
    InputProfile& p = profile.inputs[static_cast<size_t>(layer * model::kLinearInputs +
                                                         static_cast<int64_t>(input))];
    if (p.abs_max.empty()) p.abs_max.assign(static_cast<size_t>(cols), 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j)
        p.abs_max[static_cast<size_t>(j)] =
            std::max(p.abs_max[static_cast<size_t>(j)], std::fabs(x[r * cols + j]));
  };
  int64_t longest = 0;
  for (const auto& w : windows)
    longest = std::max<int64_t>(longest, static_cast<int64_t>(w.size()));
  LB_CHECK_ARG(longest > 0, "no calibration tokens");
  model::KvCache cache = model.make_cache(longest);
  for (const auto& w : windows) {
    if (w.empty()) continue;
    model.forward(w, 0, cache, nullptr, ctx, &observer);
    profile.tokens += static_cast<int64_t>(w.size());
  }
  return profile;
}

InputOutliers summarize_input(const std::vector<float>& abs_max, float threshold) {
  InputOutliers out;
  if (abs_max.empty()) return out;
  std::vector<float> sorted = abs_max;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  out.median = n % 2 == 1 ? sorted[n / 2] : 0.5f * (sorted[n / 2 - 1] + sorted[n / 2]);
  out.max = sorted.back();
  out.argmax = std::max_element(abs_max.begin(), abs_max.end()) - abs_max.begin();
  out.ratio = out.median > 0 ? static_cast<double>(out.max) / out.median : 0.0;
  for (size_t j = 0; j < n; ++j)
    if (abs_max[j] >= threshold) out.above.push_back(static_cast<int64_t>(j));
  out.median_levels = out.max > 0 ? 127.0 * out.median / out.max : 0.0;
  return out;
}

std::map<int64_t, std::vector<int64_t>> shared_outlier_channels(const ActivationProfile& profile,
                                                                model::LinearInput input,
                                                                float threshold,
                                                                int64_t min_layers) {
  std::map<int64_t, std::vector<int64_t>> layers_of;
  for (const InputProfile& p : profile.inputs) {
    if (p.input != input) continue;
    for (size_t j = 0; j < p.abs_max.size(); ++j)
      if (p.abs_max[j] >= threshold) layers_of[static_cast<int64_t>(j)].push_back(p.layer);
  }
  std::erase_if(layers_of, [&](const auto& kv) {
    return static_cast<int64_t>(kv.second.size()) < min_layers;
  });
  return layers_of;
}

}  // namespace lowbit::ptq
