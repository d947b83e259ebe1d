// SPDX-License-Identifier: MIT
// KV cache: keys and values of every layer and position, f32 for now. This is the seam for
// quantized KV caches (int8 / int4 / fp8): the model only calls keys()/values() and store().
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lowbit::model {

class KvCache {
 public:
  KvCache(int64_t n_layers, int64_t max_positions, int64_t kv_dim);

  int64_t max_positions() const { return max_positions_; }
  int64_t kv_dim() const { return kv_dim_; }
  // Row `pos` of layer `layer` ([kv_dim] each).
  void store(int64_t layer, int64_t pos, const float* key, const float* value);
  // [max_positions, kv_dim] for the layer; rows < the stored length are valid.
  const float* keys(int64_t layer) const;
  const float* values(int64_t layer) const;
  size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }

 private:
  int64_t n_layers_, max_positions_, kv_dim_;
  std::vector<float> keys_;    // [n_layers, max_positions, kv_dim]
  std::vector<float> values_;  // [n_layers, max_positions, kv_dim]
};

}  // namespace lowbit::model
