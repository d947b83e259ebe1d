// SPDX-License-Identifier: MIT
// KV cache: one KvLayerCache per layer.
#include "model/kv_cache.h"

#include "util/check.h"

namespace lowbit::model {

KvCache::KvCache(int64_t n_layers, int64_t max_positions, int64_t kv_dim)
    : KvCache(n_layers, max_positions, 1, kv_dim, kernels::KvFormat{}) {}

KvCache::KvCache(int64_t n_layers, int64_t max_positions, int64_t n_kv_heads, int64_t head_dim,
                 const kernels::KvFormat& format) {
  LB_CHECK(n_layers > 0 && max_positions > 0 && n_kv_heads > 0 && head_dim > 0,
           "kv cache: bad dimensions");
  if (!format.key_scales.empty())
    LB_CHECK_ARG(static_cast<int64_t>(format.key_scales.size()) == n_layers,
                 "kv cache: calibrated fp8 scales for ", format.key_scales.size(),
                 " layers, the model has ", n_layers);
  layers_.reserve(static_cast<size_t>(n_layers));
  for (int64_t l = 0; l < n_layers; ++l)
    layers_.emplace_back(format, l, max_positions, n_kv_heads, head_dim);
}

void KvCache::write(int64_t layer, int64_t start_pos, int64_t n, const float* keys,
                    const float* values, int64_t stride) {
  LB_CHECK(layer >= 0 && layer < n_layers(), "kv cache: layer ", layer, " out of range");
  layers_[static_cast<size_t>(layer)].write(start_pos, n, keys, values, stride);
}

const kernels::KvLayerCache& KvCache::layer(int64_t layer) const {
  LB_CHECK(layer >= 0 && layer < n_layers(), "kv cache: layer ", layer, " out of range");
  return layers_[static_cast<size_t>(layer)];
}

size_t KvCache::bytes() const {
  size_t total = 0;
  for (const auto& l : layers_) total += static_cast<size_t>(l.bytes());
  return total;
}

}  // namespace lowbit::model
