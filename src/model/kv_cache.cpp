// SPDX-License-Identifier: MIT
// f32 KV cache storage.
#include "model/kv_cache.h"

#include <algorithm>

#include "util/check.h"

namespace lowbit::model {

KvCache::KvCache(int64_t n_layers, int64_t max_positions, int64_t kv_dim)
    : n_layers_(n_layers), max_positions_(max_positions), kv_dim_(kv_dim) {
  LB_CHECK(n_layers > 0 && max_positions > 0 && kv_dim > 0, "kv cache: bad dimensions");
  const auto n = static_cast<size_t>(n_layers * max_positions * kv_dim);
  keys_.assign(n, 0.0f);
  values_.assign(n, 0.0f);
}

void KvCache::store(int64_t layer, int64_t pos, const float* key, const float* value) {
  LB_CHECK(layer >= 0 && layer < n_layers_, "kv cache: layer ", layer, " out of range");
  LB_CHECK(pos >= 0 && pos < max_positions_, "kv cache: position ", pos, " exceeds the context of ",
           max_positions_);
  const auto offset = static_cast<size_t>((layer * max_positions_ + pos) * kv_dim_);
  std::copy(key, key + kv_dim_, keys_.begin() + static_cast<std::ptrdiff_t>(offset));
  std::copy(value, value + kv_dim_, values_.begin() + static_cast<std::ptrdiff_t>(offset));
}

const float* KvCache::keys(int64_t layer) const {
  return keys_.data() + layer * max_positions_ * kv_dim_;
}

const float* KvCache::values(int64_t layer) const {
  return values_.data() + layer * max_positions_ * kv_dim_;
}

}  // namespace lowbit::model
