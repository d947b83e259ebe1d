// SPDX-License-Identifier: MIT
// fp8 KV scales from calibration windows (amax / 448 per layer, for K and for V).
#include "model/kv_calibration.h"

#include <algorithm>
#include <cmath>

#include "numerics/fp8.h"
#include "util/check.h"

namespace lowbit::model {

kernels::KvFormat calibrate_fp8_kv(const LlamaModel& model,
                                   std::span<const std::vector<int32_t>> windows,
                                   kernels::ExecContext& ctx) {
  LB_CHECK_ARG(!windows.empty(), "--calib: no calibration window for the fp8 KV scales");
  const LlamaConfig& c = model.config();
  int64_t longest = 0;
  for (const auto& w : windows) {
    LB_CHECK_ARG(!w.empty() && static_cast<int64_t>(w.size()) <= c.max_seq_len,
                 "--calib: a calibration window of ", w.size(), " tokens (the context is ",
                 c.max_seq_len, ")");
    longest = std::max(longest, static_cast<int64_t>(w.size()));
  }
  KvCache cache = model.make_cache(longest);
  std::vector<float> logits(static_cast<size_t>(longest * c.vocab_size));
  std::vector<float> key_max(static_cast<size_t>(c.n_layers), 0.0f), value_max(key_max);
  for (const auto& w : windows) {
    model.forward(w, 0, cache, logits.data(), ctx);
    const auto n = static_cast<int64_t>(w.size());
    for (int64_t l = 0; l < c.n_layers; ++l) {
      // An f32 layer reads in place: whole rows, all n tokens at once.
      const kernels::KvLayerCache& layer = cache.layer(l);
      int64_t ld = 0;
      const float* k = layer.read_keys(0, n, 0, layer.kv_dim(), nullptr, &ld, kernels::Isa::scalar);
      const float* v =
          layer.read_values(0, n, 0, layer.kv_dim(), nullptr, &ld, kernels::Isa::scalar);
      float& km = key_max[static_cast<size_t>(l)];
      float& vm = value_max[static_cast<size_t>(l)];
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < layer.kv_dim(); ++i) {
          km = std::max(km, std::fabs(k[t * ld + i]));
          vm = std::max(vm, std::fabs(v[t * ld + i]));
        }
    }
  }
  kernels::KvFormat format;
  format.dtype = kernels::KvDtype::fp8;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const float km = key_max[static_cast<size_t>(l)], vm = value_max[static_cast<size_t>(l)];
    format.key_scales.push_back(km > 0.0f && std::isfinite(km) ? km / kE4M3Max : 1.0f);
    format.value_scales.push_back(vm > 0.0f && std::isfinite(vm) ? vm / kE4M3Max : 1.0f);
  }
  return format;
}

}  // namespace lowbit::model
